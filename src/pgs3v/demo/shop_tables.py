"""The demo's relational side: schema ``shop`` with products, reviews and orders, loaded by COPY.

Loading drops and recreates the three tables in one transaction, so running the demo again
replaces the data instead of duplicating it, and a failed load leaves the previous tables intact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from pgs3v import sample_data

Connection = psycopg.Connection[TupleRow]
Advance = Callable[[int], None]  # called with the number of rows just written

SCHEMA = "shop"

SHOP_DDL = f"""
CREATE SCHEMA IF NOT EXISTS shop;
DROP TABLE IF EXISTS shop.orders, shop.reviews, shop.products;
CREATE TABLE shop.products (
    product_id  integer PRIMARY KEY,
    sku         text NOT NULL UNIQUE,
    name        text NOT NULL,
    description text NOT NULL,
    category    text NOT NULL,
    price       numeric(10, 2) NOT NULL CHECK (price >= 0),
    in_stock    boolean NOT NULL,
    tenant      text NOT NULL,
    embedding   real[] NOT NULL CHECK (cardinality(embedding) = {sample_data.DIMENSION})
);
CREATE TABLE shop.reviews (
    review_id   integer PRIMARY KEY,
    product_id  integer NOT NULL REFERENCES shop.products,
    rating      smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    body        text NOT NULL,
    created_at  date NOT NULL
);
CREATE INDEX reviews_product_id ON shop.reviews (product_id);
CREATE TABLE shop.orders (
    order_id    integer PRIMARY KEY,
    product_id  integer NOT NULL REFERENCES shop.products,
    tenant      text NOT NULL,
    quantity    integer NOT NULL CHECK (quantity > 0),
    ordered_at  timestamptz NOT NULL
);
CREATE INDEX orders_tenant_product_id ON shop.orders (tenant, product_id);
-- The reader role may read the catalog (and query the vector index), nothing more.
GRANT USAGE ON SCHEMA shop TO pgs3v_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA shop TO pgs3v_reader;
"""

_COLUMN_TYPES = {
    "products": ("integer", "text", "text", "text", "text", "numeric", "boolean", "text", "real[]"),
    "reviews": ("integer", "integer", "smallint", "text", "date"),
    "orders": ("integer", "integer", "text", "integer", "timestamptz"),
}
_BATCH = 1000


def product_rows() -> list[tuple[Any, ...]]:
    """shop.products rows: the sample products with their embeddings."""
    products = sample_data.load_products()
    embeddings = sample_data.load_product_embeddings()
    return [
        (p.product_id, p.sku, p.name, p.description, p.category, Decimal(str(p.price)), p.in_stock, p.tenant,
         embedding.tolist())
        for p, embedding in zip(products, embeddings, strict=True)
    ]


def review_rows() -> list[tuple[Any, ...]]:
    """shop.reviews rows."""
    return [(r.review_id, r.product_id, r.rating, r.text, r.created_at) for r in sample_data.load_reviews()]


def order_rows() -> list[tuple[Any, ...]]:
    """shop.orders rows."""
    return [(o.order_id, o.product_id, o.tenant, o.quantity, o.ordered_at) for o in sample_data.load_orders()]


def create_tables(connection: Connection) -> None:
    """(Re)create schema shop's tables, empty, in the connection's current transaction."""
    connection.execute(SHOP_DDL)


def copy_rows(connection: Connection, table: str, rows: Iterable[Sequence[Any]], advance: Advance) -> int:
    """COPY rows into shop.<table> (binary); returns how many were written."""
    written = pending = 0
    statement = sql.SQL("COPY shop.{} FROM STDIN (FORMAT BINARY)").format(sql.Identifier(table))
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types(list(_COLUMN_TYPES[table]))
        for row in rows:
            copy.write_row(row)
            written += 1
            pending += 1
            if pending == _BATCH:
                advance(pending)
                pending = 0
    advance(pending)
    return written


def table_counts(connection: Connection) -> dict[str, int]:
    """How many rows each shop table holds."""
    counts: dict[str, int] = {}
    for table in _COLUMN_TYPES:
        row = connection.execute(sql.SQL("SELECT count(*) FROM shop.{}").format(sql.Identifier(table))).fetchone()
        counts[table] = int(row[0]) if row else 0
    return counts


ROWS: dict[str, Callable[[], list[tuple[Any, ...]]]] = {
    "products": product_rows, "reviews": review_rows, "orders": order_rows,
}
