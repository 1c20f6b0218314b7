"""A realistic sample product catalog with real sentence embeddings, for the demo (numpy + stdlib only)."""

from pgs3v.sample_data.catalog import (
    CATEGORIES,
    DIMENSION,
    EMBEDDING_MODEL,
    TENANTS,
    FloatMatrix,
    FloatVector,
    Order,
    Product,
    Review,
    load_demo_queries,
    load_demo_query_categories,
    load_manifest,
    load_orders,
    load_product_embeddings,
    load_products,
    load_reviews,
)

__all__ = [
    "CATEGORIES",
    "DIMENSION",
    "EMBEDDING_MODEL",
    "TENANTS",
    "FloatMatrix",
    "FloatVector",
    "Order",
    "Product",
    "Review",
    "load_demo_queries",
    "load_demo_query_categories",
    "load_manifest",
    "load_orders",
    "load_product_embeddings",
    "load_products",
    "load_reviews",
]
