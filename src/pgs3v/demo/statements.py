"""The hybrid SQL statements the demo runs: vector similarity with relational filters, joins and roles.

Each scenario is realistic and checkable: its parameters come from the sample catalog, and the
tests check its answers against the tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb

from pgs3v import sample_data
from pgs3v.demo.catalog_index import BUCKET, INDEX, TEXT_SEARCH_KEY
from pgs3v.demo.step import Step

# "Products like this one": trekking poles at $91.99, sold by acme-retail.
ANCHOR_SKU = "OUT-TPX-03338"
TENANT = "acme-retail"
MAX_PRICE = Decimal("50")
OVER_FETCH = 100
SEARCH_TEXT = "waterproof jacket for hiking"
SEARCH_FILTER: dict[str, Any] = {"category": {"$in": ["outdoor", "sports"]}, "price": {"$lt": 150}, "in_stock": True}
# The hybrid statement: these words in the description, SEARCH_TEXT's meaning, a price cap in SQL.
HYBRID_WORDS = "waterproof"
HYBRID_MAX_PRICE = Decimal("100")
HYBRID_TOP_K = 50
# The store's answer to queryTexts until its full-text engine lands (docs/full-text-notes.md).
TEXT_NOT_SUPPORTED = "Full-text search (queryTexts) is not supported by this store yet"
REVIEWS_TEXT = "wireless headphones with noise cancelling for long flights"
ORDERS_TEXT = "equipment for a home strength workout"
ORDERS_TENANT = "cedar-market"
ORDERS_SINCE = datetime(2025, 1, 1, tzinfo=UTC)
READER_TEXT = "gift for a toddler who likes music"
# The sync scenario cuts the price of the second hit of SEARCH_TEXT (a $117.99 rain jacket).
SYNC_SKU = "OUT-RJX-04029"
SYNC_PRICE = Decimal("89.99")
SYNCED_METADATA = ("product_id", "sku", "category", "price", "in_stock", "tenant", "name", "description")
INSUFFICIENT_PRIVILEGE = "42501"


@dataclass(frozen=True)
class Scenario:
    """A question, the statements that answer it, and what it shows."""

    name: str
    title: str
    shows: str
    steps: tuple[Step, ...]


def _embedding(text: str) -> tuple[list[float], str]:
    """A demo query's precomputed embedding as a parameter value, and how to print it."""
    vectors = dict(sample_data.load_demo_queries())
    return vectors[text].tolist(), f"embedding of {text!r} ({sample_data.DIMENSION} floats, all-MiniLM-L6-v2)"


def _anchor_title() -> str:
    product = next(p for p in sample_data.load_products() if p.sku == ANCHOR_SKU)
    return f"{product.name}, ${product.price:.2f}"


def products_like_this_one() -> Scenario:
    """Vector first, then SQL: neighbours of a product, post-filtered by price, stock and tenant."""
    return Scenario(
        "like_this_one",
        f"Products like {ANCHOR_SKU} ({_anchor_title()}): under ${MAX_PRICE}, in stock, sold by {TENANT}",
        f"vector search first (the anchor's embedding read from shop.products), then an SQL post-filter "
        f"on the joined rows; top_k over-fetches {OVER_FETCH} because the filter keeps about one in ten",
        (Step(
            """\
SELECT p.sku, p.name, p.price, p.tenant, 1 - q.distance AS similarity
FROM s3vectors.query_vectors(
         vector_bucket_name => %(bucket)s, index_name => %(index)s,
         query_vector => (SELECT embedding FROM shop.products
                          WHERE sku = %(sku)s),
         top_k => %(over_fetch)s) AS q
JOIN shop.products AS p ON p.sku = q.key
WHERE p.sku <> %(sku)s
  AND p.price < %(max_price)s AND p.in_stock AND p.tenant = %(tenant)s
ORDER BY q.distance
LIMIT 5""",
            {"bucket": BUCKET, "index": INDEX, "sku": ANCHOR_SKU, "over_fetch": OVER_FETCH,
             "max_price": MAX_PRICE, "tenant": TENANT},
            label="products like this one: vector search, SQL post-filter",
        ),),
    )


def semantic_search_with_filter() -> Scenario:
    """A text query's embedding as a parameter, with category, price and stock pushed down to the store."""
    vector, shown = _embedding(SEARCH_TEXT)
    return Scenario(
        "semantic_search",
        f"Semantic search: {SEARCH_TEXT!r} in outdoor or sports, under $150, in stock",
        "the filter is evaluated by the store (pushed down as an S3 Vectors metadata filter), so top_k "
        "counts matching products only; name and price come back as metadata, no join needed",
        (Step(
            """\
SELECT q.key AS sku, q.metadata ->> 'name' AS name,
       q.metadata ->> 'category' AS category,
       (q.metadata ->> 'price')::numeric(10, 2) AS price,
       1 - q.distance AS similarity
FROM s3vectors.query_vectors(
         vector_bucket_name => %(bucket)s, index_name => %(index)s,
         query_vector => %(query_vector)s::real[], top_k => 5,
         filter => %(filter)s, return_metadata => true) AS q""",
            {"bucket": BUCKET, "index": INDEX, "query_vector": vector, "filter": Jsonb(SEARCH_FILTER)},
            {"query_vector": shown},
            label="semantic search, metadata filter pushed down",
        ),),
    )


def hybrid_search() -> Scenario:
    """Words and meaning together (BM25 and vectors fused by RRF), then a price cap evaluated in SQL."""
    vector, shown = _embedding(SEARCH_TEXT)
    return Scenario(
        "hybrid",
        f"Hybrid search: {HYBRID_WORDS!r} in the description, like {SEARCH_TEXT!r}, under ${HYBRID_MAX_PRICE}",
        "query_texts ranks by the words (BM25 on the description), query_vector by meaning; the store "
        "fuses both rankings (Reciprocal Rank Fusion) and returns the scores as columns; the price cap "
        "runs in SQL on the joined rows, so top_k over-fetches",
        (Step(
            """\
SELECT p.sku, p.name, p.price, q.fused_score,
       (q.bm25_scores ->> %(text_key)s)::real AS bm25,
       1 - q.vector_distance AS similarity
FROM s3vectors.query_vectors(
         vector_bucket_name => %(bucket)s, index_name => %(index)s,
         query_vector => %(query_vector)s::real[], top_k => %(top_k)s,
         query_texts => jsonb_build_object(%(text_key)s::text, %(words)s::text),
         return_scores => true) AS q
JOIN shop.products AS p ON p.sku = q.key
WHERE p.price < %(max_price)s
ORDER BY q.fused_score DESC
LIMIT 5""",
            {"bucket": BUCKET, "index": INDEX, "query_vector": vector, "top_k": HYBRID_TOP_K,
             "text_key": TEXT_SEARCH_KEY, "words": HYBRID_WORDS, "max_price": HYBRID_MAX_PRICE},
            {"query_vector": shown},
            unsupported=TEXT_NOT_SUPPORTED,
            label="hybrid: words + meaning (RRF), SQL price cap",
        ),),
    )


def neighbours_with_reviews() -> Scenario:
    """Nearest products joined with their reviews: rating and review count per neighbour."""
    vector, shown = _embedding(REVIEWS_TEXT)
    return Scenario(
        "reviews",
        f"Nearest products to {REVIEWS_TEXT!r}, with their reviews",
        "query_vectors returns rows that join and aggregate like any table",
        (Step(
            """\
SELECT p.sku, p.name, p.price, 1 - q.distance AS similarity,
       count(r.review_id) AS reviews, round(avg(r.rating), 2) AS avg_rating
FROM s3vectors.query_vectors(
         vector_bucket_name => %(bucket)s, index_name => %(index)s,
         query_vector => %(query_vector)s::real[], top_k => 8) AS q
JOIN shop.products AS p ON p.sku = q.key
LEFT JOIN shop.reviews AS r ON r.product_id = p.product_id
GROUP BY p.product_id, q.distance
ORDER BY q.distance""",
            {"bucket": BUCKET, "index": INDEX, "query_vector": vector},
            {"query_vector": shown},
            label="nearest products joined with reviews",
        ),),
    )


def tenant_orders_like() -> Scenario:
    """What one tenant's customers ordered that resembles a text: tenant pushed down, orders grouped."""
    vector, shown = _embedding(ORDERS_TEXT)
    return Scenario(
        "orders",
        f"What did {ORDERS_TENANT}'s customers order in 2025 that is like {ORDERS_TEXT!r}?",
        "the tenant filter is built in SQL from a parameter (jsonb_build_object, never string "
        "concatenation) and pushed down; the neighbours join orders and group by product",
        (Step(
            """\
SELECT p.sku, p.name, 1 - q.distance AS similarity, count(*) AS orders,
       sum(o.quantity) AS units, max(o.ordered_at)::date AS last_ordered
FROM s3vectors.query_vectors(
         vector_bucket_name => %(bucket)s, index_name => %(index)s,
         query_vector => %(query_vector)s::real[], top_k => 20,
         filter => jsonb_build_object('tenant', %(tenant)s::text)) AS q
JOIN shop.products AS p ON p.sku = q.key
JOIN shop.orders AS o ON o.product_id = p.product_id
WHERE o.tenant = %(tenant)s AND o.ordered_at >= %(since)s
GROUP BY p.product_id, q.distance
ORDER BY units DESC, q.distance
LIMIT 5""",
            {"bucket": BUCKET, "index": INDEX, "query_vector": vector, "tenant": ORDERS_TENANT,
             "since": ORDERS_SINCE},
            {"query_vector": shown},
            label="a tenant's orders of similar products, grouped",
        ),),
    )


def reader_role() -> Scenario:
    """The reader role may query the index and read the catalog, but not write vectors or read credentials."""
    vector, shown = _embedding(READER_TEXT)
    return Scenario(
        "reader",
        "Access rules: the pgs3v_reader role queries, but cannot write or read the store's credentials",
        "pgs3v_reader may call query_vectors and get_vectors; put/delete need pgs3v_writer, and the "
        "shim's credentials are readable by its owner role only",
        (
            Step("SET ROLE pgs3v_reader"),
            Step(
                """\
SELECT p.sku, p.name, p.price, 1 - q.distance AS similarity
FROM s3vectors.query_vectors(
         vector_bucket_name => %(bucket)s, index_name => %(index)s,
         query_vector => %(query_vector)s::real[], top_k => 3) AS q
JOIN shop.products AS p ON p.sku = q.key
ORDER BY q.distance""",
                {"bucket": BUCKET, "index": INDEX, "query_vector": vector},
                {"query_vector": shown},
                label="reader: query_vectors (allowed)",
            ),
            Step(
                """\
SELECT s3vectors.put_vector(
    vector_bucket_name => %(bucket)s, index_name => %(index)s,
    key => %(key)s, data => %(query_vector)s::real[])""",
                {"bucket": BUCKET, "index": INDEX, "key": "written-by-a-reader", "query_vector": vector},
                {"query_vector": shown},
                refused=INSUFFICIENT_PRIVILEGE,
                label="reader: put_vector (refused)",
            ),
            Step("SELECT access_key_id, secret_access_key FROM aws_lambda_shim.settings",
                 refused=INSUFFICIENT_PRIVILEGE, label="reader: read the store's credentials (refused)"),
            Step("RESET ROLE"),
        ),
    )


def sync_an_update() -> Scenario:
    """An UPDATE of a product reaches the index through sync: pending before the drain, in the index after."""
    vector, shown = _embedding(SEARCH_TEXT)
    hybrid = Step(
        """SELECT q.key AS sku, q.metadata ->> 'name' AS name,
       (q.metadata ->> 'price')::numeric(10, 2) AS indexed_price,
       p.price AS table_price,
       pending.key IS NOT NULL AS change_pending
FROM s3vectors.query_vectors(
         vector_bucket_name => %(bucket)s, index_name => %(index)s,
         query_vector => %(query_vector)s::real[], top_k => 3,
         filter => %(filter)s, return_metadata => true) AS q
JOIN shop.products AS p ON p.sku = q.key
LEFT JOIN s3vectors.sync_pending(%(bucket)s, %(index)s) AS pending
       ON pending.key = q.key
ORDER BY q.distance""",
        {"bucket": BUCKET, "index": INDEX, "query_vector": vector, "filter": Jsonb(SEARCH_FILTER)},
        {"query_vector": shown},
        label="the hybrid query: indexed price, table price, pending flag",
    )
    status = Step(
        """SELECT source, vector_bucket_name, index_name, pending,
       date_trunc('milliseconds', oldest_pending_age) AS oldest_pending_age,
       last_success IS NOT NULL AS drained_before
FROM s3vectors.sync_status()
WHERE source = 'shop.products'::regclass""",
        label="sync_status",
    )
    return Scenario(
        "sync",
        f"Keeping the index in step: a price cut of {SYNC_SKU} reaches the index after a drain",
        "enable_sync's triggers record each change of shop.products in an outbox, in the same "
        "transaction; until a drain sends it (s3vectors.sync_run here; `pgs3v sync --follow`, or a "
        "pg_cron job on Aurora) the index answers with the old row, and sync_pending flags it",
        (
            Step(
                """SELECT s3vectors.enable_sync(
    'shop.products', key_column => 'sku', embedding_column => 'embedding',
    vector_bucket_name => %(bucket)s, index_name => %(index)s,
    metadata_columns => %(metadata)s) AS mapping_id""",
                {"bucket": BUCKET, "index": INDEX, "metadata": list(SYNCED_METADATA)},
                label="enable sync for shop.products",
            ),
            Step("UPDATE shop.products SET price = %(price)s WHERE sku = %(sku)s RETURNING sku, name, price",
                 {"price": SYNC_PRICE, "sku": SYNC_SKU}, label="a price cut, committed"),
            status,
            hybrid,
            Step("SELECT s3vectors.sync_run() AS changes_sent", label="drain the outbox through the bridge"),
            status,
            hybrid,
        ),
    )


def scenarios() -> list[Scenario]:
    """The demo's statements, in the order they run."""
    return [products_like_this_one(), semantic_search_with_filter(), hybrid_search(), neighbours_with_reviews(),
            tenant_orders_like(), reader_role(), sync_an_update()]
