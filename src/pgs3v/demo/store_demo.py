"""The store demo: a real store, boto3's own client, a product catalog and filtered queries.

Until the SQL layer lands this is what ``pgs3v demo`` runs: it shows the API that PostgreSQL
will call, with the filters a hybrid query pushes down.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from pgs3v.store.credentials import load_or_create_credentials
from pgs3v.store.process import StoreProcess

BUCKET = "demo-catalog"
INDEX = "products"
DIMENSION = 64
PRODUCTS = 5000
CATEGORIES = ["books", "garden", "kitchen", "outdoor", "toys", "audio", "office", "sports"]
TENANTS = ["acme", "globex", "initech"]


def catalog(seed: int = 7) -> tuple[list[dict[str, Any]], np.ndarray]:
    """A seeded product catalog; each category has its own region of the embedding space."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(CATEGORIES), DIMENSION))
    products, vectors = [], []
    for number in range(PRODUCTS):
        category = int(rng.integers(len(CATEGORIES)))
        vector = centres[category] + rng.normal(scale=0.9, size=DIMENSION)
        products.append({
            "key": f"product-{number:05d}",
            "category": CATEGORIES[category],
            "price": round(float(rng.lognormal(3.2, 0.8)), 2),
            "in_stock": bool(rng.random() < 0.7),
            "tenant": TENANTS[number % len(TENANTS)],
            "name": f"{CATEGORIES[category].title()} item {number}",
        })
        vectors.append(vector)
    return products, np.asarray(vectors, dtype=np.float32)


def _load(s3v: Any, products: list[dict[str, Any]], vectors: np.ndarray, console: Console) -> None:
    existing = [i["indexName"] for i in s3v.list_indexes(vectorBucketName=BUCKET)["indexes"]]
    if INDEX in existing:
        s3v.delete_index(vectorBucketName=BUCKET, indexName=INDEX)
    s3v.create_index(vectorBucketName=BUCKET, indexName=INDEX, dataType="float32", dimension=DIMENSION,
                     distanceMetric="cosine", metadataConfiguration={"nonFilterableMetadataKeys": ["name"]})
    with console.status("Loading products into the store..."):
        for start in range(0, len(products), 500):
            batch = [
                {"key": p["key"], "data": {"float32": vectors[i].tolist()},
                 "metadata": {k: v for k, v in p.items() if k != "key"}}
                for i, p in enumerate(products[start:start + 500], start)
            ]
            s3v.put_vectors(vectorBucketName=BUCKET, indexName=INDEX, vectors=batch)
    console.print(f"Loaded {len(products)} products into {BUCKET}/{INDEX} (durable before each reply).")


def _show(console: Console, title: str, request: str, result: dict[str, Any]) -> None:
    table = Table(title=title, caption=request, caption_justify="left")
    for column in ("key", "distance", "category", "price", "in stock", "tenant"):
        table.add_column(column, justify="right" if column in ("distance", "price") else "left", no_wrap=True)
    for item in result["vectors"]:
        meta = item.get("metadata", {})
        table.add_row(item["key"], f"{item['distance']:.4f}", meta.get("category", ""),
                      f"${meta.get('price', 0):.2f}", "yes" if meta.get("in_stock") else "no", meta.get("tenant", ""))
    console.print(table)


def run_store_demo(data_dir: Path, console: Console | None = None) -> None:
    """Start the store on ``data_dir``, load the catalog and print a few filtered queries."""
    console = console or Console()
    store_dir = data_dir / "store"
    server = StoreProcess(store_dir, load_or_create_credentials(store_dir))
    console.print(f"Starting the store on {server.endpoint} (data in {store_dir})...")
    server.start()
    try:
        s3v = server.client()
        if BUCKET not in [b["vectorBucketName"] for b in s3v.list_vector_buckets()["vectorBuckets"]]:
            s3v.create_vector_bucket(vectorBucketName=BUCKET)
        products, vectors = catalog()
        _load(s3v, products, vectors, console)
        anchor = products[42]
        query = {"float32": vectors[42].tolist()}
        common = {"vectorBucketName": BUCKET, "indexName": INDEX, "queryVector": query,
                  "returnDistance": True, "returnMetadata": True}
        console.print(f"\nQuery product: {anchor['key']} ({anchor['name']}, ${anchor['price']})\n")
        queries: list[tuple[str, dict[str, Any]]] = [
            ("Products like this one", {"topK": 5}),
            ("...under $50 and in stock", {"topK": 5, "filter": {"price": {"$lt": 50}, "in_stock": True}}),
            ("...for tenant 'globex' only, in toys or books",
             {"topK": 5, "filter": {"tenant": "globex", "category": {"$in": ["toys", "books"]}}}),
            ("...rare match: outdoor items over $200 for 'initech'",
             {"topK": 5, "filter": {"$and": [{"category": "outdoor"}, {"price": {"$gt": 200}},
                                            {"tenant": "initech"}]}}),
        ]
        for title, extra in queries:
            shown = {k: v for k, v in extra.items()}
            _show(console, title, f"QueryVectors {shown}", s3v.query_vectors(**common, **extra))
    finally:
        server.stop()
    console.print("Store stopped. Run it yourself with: pgs3v store serve --data-dir " + str(store_dir))
