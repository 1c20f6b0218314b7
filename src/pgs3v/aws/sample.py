"""`pgs3v aws load-sample`: the vector bucket, the index and the sample catalog's 5,202 product vectors.

The vectors go straight to S3 Vectors (PutVectors, 500 a call, the API's limit); with a connection
to the cluster, the catalog's tables (schema ``shop``) are loaded there too, so the hybrid queries
of docs/hybrid-queries.md run as they are. Putting a key again replaces it, so loading twice
leaves the same index.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from botocore.exceptions import ClientError

from pgs3v import sample_data
from pgs3v.aws.calls import AwsCalls, error_code
from pgs3v.aws.config import AwsConfig
from pgs3v.demo.catalog_index import NON_FILTERABLE_KEYS
from pgs3v.demo.shop_tables import copy_rows, create_tables, order_rows, product_rows, review_rows

BATCH = 500  # PutVectors' limit

Say = Callable[[str], None]


def load_sample(calls: AwsCalls, config: AwsConfig, conninfo: str | None = None) -> int:
    """Create the bucket and index unless they exist and put every sample product; the vectors sent."""
    s3v, bucket, index = "s3vectors", config.vector_bucket, config.index_name
    if not _exists(calls, "get_vector_bucket", vectorBucketName=bucket):
        calls.change(s3v, "create_vector_bucket", vectorBucketName=bucket)
    if not _exists(calls, "get_index", vectorBucketName=bucket, indexName=index):
        calls.change(s3v, "create_index", vectorBucketName=bucket, indexName=index, dataType="float32",
                     dimension=sample_data.DIMENSION, distanceMetric="cosine",
                     metadataConfiguration={"nonFilterableMetadataKeys": list(NON_FILTERABLE_KEYS)})
    products = sample_data.load_products()
    embeddings = sample_data.load_product_embeddings()
    sent = 0
    for start in range(0, len(products), BATCH):
        vectors = [
            {"key": product.sku, "data": {"float32": [float(x) for x in embeddings[start + offset]]},
             "metadata": {"product_id": product.product_id, "sku": product.sku, "category": product.category,
                          "price": product.price, "in_stock": product.in_stock, "tenant": product.tenant,
                          "name": product.name, "description": product.description}}
            for offset, product in enumerate(products[start:start + BATCH])
        ]
        calls.change(s3v, "put_vectors", vectorBucketName=bucket, indexName=index, vectors=vectors)
        sent += len(vectors)
    calls.say(f"{'would put' if calls.dry_run else 'put'} {sent:,} vectors in {bucket}/{index}")
    if conninfo is not None:
        load_tables(conninfo, dry_run=calls.dry_run, say=calls.say)
    return sent


def drop_tables(conninfo: str, *, dry_run: bool, say: Say) -> None:
    """Drop the catalog's tables (schema shop) from the cluster."""
    if dry_run:
        say("  would run  DROP SCHEMA IF EXISTS shop CASCADE")
        return
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute("DROP SCHEMA IF EXISTS shop CASCADE")
    say("dropped schema shop")


def load_tables(conninfo: str, *, dry_run: bool, say: Say) -> None:
    """Load the catalog's tables (schema shop: products, reviews, orders) into the cluster."""
    if dry_run:
        say("  would run  CREATE TABLE shop.products, shop.reviews, shop.orders and COPY the sample rows")
        return
    with psycopg.connect(conninfo) as connection:
        create_tables(connection)
        counts = {table: copy_rows(connection, table, rows, _ignore)
                  for table, rows in (("products", product_rows()), ("reviews", review_rows()),
                                      ("orders", order_rows()))}
    say("tables: " + ", ".join(f"shop.{table} {count:,} rows" for table, count in counts.items()))


def _ignore(_: int) -> None:
    pass


def _exists(calls: AwsCalls, method: str, **params: Any) -> bool:
    try:
        calls.read("s3vectors", method, **params)
        return True
    except ClientError as problem:
        if error_code(problem) == "NotFoundException":
            return False
        raise
