"""The demo's vector side: bucket ``demo-catalog``, index ``products``, filled from shop.products by SQL.

Everything goes through the ``s3vectors`` SQL functions (so through aws_lambda.invoke, the bridge
and the store), never a direct store client: this is the path an application uses.
The index is recreated on every run, so it holds exactly the rows of shop.products.
"""

from __future__ import annotations

from pgs3v import sample_data
from pgs3v.demo.step import Step

BUCKET = "demo-catalog"
INDEX = "products"
FILTERABLE_KEYS = ("product_id", "sku", "category", "price", "in_stock", "tenant")
NON_FILTERABLE_KEYS = ("name", "description")
# Full-text searchable (BM25, English analyzer): the hybrid statement searches its words.
TEXT_SEARCH_KEY = "description"

_NAMES = {"bucket": BUCKET, "index": INDEX}

CREATE_BUCKET = Step(
    """\
SELECT s3vectors.create_vector_bucket(vector_bucket_name => %(bucket)s)
WHERE NOT EXISTS (SELECT FROM s3vectors.list_vector_buckets(prefix => %(bucket)s) AS b
                  WHERE b.vector_bucket_name = %(bucket)s)""",
    _NAMES,
)

DROP_INDEX = Step(
    """\
SELECT s3vectors.delete_index(vector_bucket_name => %(bucket)s, index_name => %(index)s)
FROM s3vectors.list_indexes(vector_bucket_name => %(bucket)s, prefix => %(index)s) AS i
WHERE i.index_name = %(index)s""",
    _NAMES,
)

CREATE_INDEX = Step(
    """\
SELECT s3vectors.create_index(
    vector_bucket_name => %(bucket)s, index_name => %(index)s,
    dimension => %(dimension)s, distance_metric => 'cosine',
    non_filterable_metadata_keys => %(non_filterable)s)""",
    {**_NAMES, "dimension": sample_data.DIMENSION, "non_filterable": list(NON_FILTERABLE_KEYS)},
)

# Full-text search needs an ENHANCED index. New buckets make their indexes ENHANCED, but a
# demo-catalog bucket from an older store may not: setting the mode it has is harmless.
ENHANCED_MODE = Step(
    """\
SELECT s3vectors.update_index_mode(
    vector_bucket_name => %(bucket)s, index_name => %(index)s, index_mode => 'ENHANCED')""",
    _NAMES,
)

# Added while the index is empty, so the configuration is ACTIVE at once (nothing to backfill).
TEXT_SEARCH = Step(
    """\
SELECT s3vectors.update_metadata_configuration(
    vector_bucket_name => %(bucket)s, index_name => %(index)s,
    add => jsonb_build_object('textSearchConfigurations', jsonb_build_array(
               jsonb_build_object('metadataKey', %(key)s::text, 'language', 'en'))))""",
    {**_NAMES, "key": TEXT_SEARCH_KEY},
)

PUT_VECTORS = Step(
    """\
SELECT s3vectors.put_vectors(
    vector_bucket_name => %(bucket)s, index_name => %(index)s,
    keys => array_agg(sku ORDER BY product_id),
    data => array_agg(embedding ORDER BY product_id),
    metadata => array_agg(jsonb_build_object(
        -- filterable
        'product_id', product_id, 'sku', sku, 'category', category,
        'price', price, 'in_stock', in_stock, 'tenant', tenant,
        -- non-filterable (named so by create_index)
        'name', name, 'description', description)
        ORDER BY product_id)) AS vectors_written
FROM shop.products""",
    _NAMES,
)

COUNT_VECTORS = Step(
    "SELECT count(*) FROM s3vectors.list_vectors(vector_bucket_name => %(bucket)s, index_name => %(index)s)",
    _NAMES,
)
