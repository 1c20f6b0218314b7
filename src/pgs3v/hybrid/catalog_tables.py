"""The sample catalog in PostgreSQL tables and in a vector index, loaded through the SQL functions.

Tables (in the connection's first schema on the search path, normally ``public``)::

    products (product_id int PRIMARY KEY, sku text UNIQUE, name, description, category,
              price numeric(10,2), in_stock boolean, tenant, embedding real[])
    reviews  (review_id, product_id -> products, rating, text, created_at date)
    orders   (order_id, product_id -> products, tenant, quantity, ordered_at timestamptz)

The index holds one vector per product under its ``sku``, with filterable metadata
``product_id``, ``category``, ``price``, ``in_stock`` and ``tenant`` (``product_id`` is what a
SQL-first query pushes down as ``{"product_id": {"$in": [...]}}``) and non-filterable ``name``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import psycopg
from psycopg.rows import TupleRow

from pgs3v.sample_data.catalog import (
    DIMENSION,
    load_orders,
    load_product_embeddings,
    load_products,
    load_reviews,
)

Connection = psycopg.Connection[TupleRow]

TABLES_DDL = """
DROP TABLE IF EXISTS orders, reviews, products;
CREATE TABLE products (
    product_id integer PRIMARY KEY,
    sku text NOT NULL UNIQUE,
    name text NOT NULL,
    description text NOT NULL,
    category text NOT NULL,
    price numeric(10, 2) NOT NULL,
    in_stock boolean NOT NULL,
    tenant text NOT NULL,
    embedding real[] NOT NULL
);
CREATE TABLE reviews (
    review_id integer PRIMARY KEY,
    product_id integer NOT NULL REFERENCES products,
    rating integer NOT NULL,
    text text NOT NULL,
    created_at date NOT NULL
);
CREATE INDEX ON reviews (product_id);
CREATE TABLE orders (
    order_id integer PRIMARY KEY,
    product_id integer NOT NULL REFERENCES products,
    tenant text NOT NULL,
    quantity integer NOT NULL,
    ordered_at timestamptz NOT NULL
);
CREATE INDEX ON orders (product_id);
"""

# One statement puts the whole table into the index (put_vectors sends it in ~5 MB invocations).
PUT_PRODUCTS = """
SELECT s3vectors.put_vectors(
    %(bucket)s, %(index)s,
    array_agg(sku ORDER BY product_id),
    array_agg(embedding ORDER BY product_id),
    array_agg(jsonb_build_object('product_id', product_id, 'category', category, 'price', price,
                                 'in_stock', in_stock, 'tenant', tenant, 'name', name) ORDER BY product_id))
FROM products
"""


@dataclass(frozen=True)
class CatalogIndex:
    """Where the catalog's vectors are: a vector bucket and an index in it."""

    bucket: str
    index: str


def create_tables(conn: Connection) -> None:
    """(Re)create the empty products, reviews and orders tables."""
    conn.execute(TABLES_DDL)


def load_tables(conn: Connection) -> int:
    """Fill the tables with the sample catalog (COPY); returns the number of products."""
    products = load_products()
    embeddings = load_product_embeddings()
    if embeddings.shape != (len(products), DIMENSION):
        raise ValueError(f"embeddings have shape {embeddings.shape}, expected ({len(products)}, {DIMENSION})")
    with conn.cursor() as cursor:
        with cursor.copy("COPY products (product_id, sku, name, description, category, price, in_stock, tenant, "
                         "embedding) FROM STDIN") as copy:
            for product, vector in zip(products, embeddings, strict=True):
                copy.write_row((product.product_id, product.sku, product.name, product.description, product.category,
                                product.price, product.in_stock, product.tenant, _real_array(vector)))
        with cursor.copy("COPY reviews (review_id, product_id, rating, text, created_at) FROM STDIN") as copy:
            for review in load_reviews():
                copy.write_row((review.review_id, review.product_id, review.rating, review.text, review.created_at))
        with cursor.copy("COPY orders (order_id, product_id, tenant, quantity, ordered_at) FROM STDIN") as copy:
            for order in load_orders():
                copy.write_row((order.order_id, order.product_id, order.tenant, order.quantity, order.ordered_at))
    conn.execute("ANALYZE products, reviews, orders")
    return len(products)


def _real_array(vector: np.ndarray) -> str:
    """A float32 vector in PostgreSQL's array text form, every number exact (shortest round trip)."""
    return "{" + ",".join(repr(float(x)) for x in vector.astype(np.float32).tolist()) + "}"


def create_index(conn: Connection, where: CatalogIndex) -> None:
    """Create the bucket (if missing) and a fresh 384-dimensional cosine index with ``name`` non-filterable."""
    exists = conn.execute("SELECT count(*) FROM s3vectors.list_vector_buckets(prefix => %s) "
                          "WHERE vector_bucket_name = %s", (where.bucket, where.bucket)).fetchone()
    if not exists or not exists[0]:
        conn.execute("SELECT s3vectors.create_vector_bucket(%s)", (where.bucket,))
    present = conn.execute("SELECT count(*) FROM s3vectors.list_indexes(%s, prefix => %s) WHERE index_name = %s",
                           (where.bucket, where.index, where.index)).fetchone()
    if present and present[0]:
        conn.execute("SELECT s3vectors.delete_index(%s, %s)", (where.bucket, where.index))
    conn.execute("SELECT s3vectors.create_index(%s, %s, %s, 'cosine', non_filterable_metadata_keys => '{name}')",
                 (where.bucket, where.index, DIMENSION))


def put_products(conn: Connection, where: CatalogIndex) -> int:
    """Put every product's embedding and metadata into the index through SQL; returns the count."""
    row = conn.execute(PUT_PRODUCTS, {"bucket": where.bucket, "index": where.index}).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def load_catalog(conn: Connection, where: CatalogIndex) -> int:
    """Tables and index from scratch: create, fill and index the sample catalog; returns the product count."""
    create_tables(conn)
    count = load_tables(conn)
    create_index(conn, where)
    put = put_products(conn, where)
    if put != count:
        raise RuntimeError(f"put {put} vectors for {count} products")
    return count
