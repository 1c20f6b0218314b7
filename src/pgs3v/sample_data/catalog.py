"""Loaders for the bundled sample catalog: products, reviews, orders, demo queries and their embeddings.

The files next to this module are made by ``scripts/make_sample_data.py`` (see docs/sample-data.md)
and read here with numpy and the standard library only. Embeddings are stored as float16 copies of
all-MiniLM-L6-v2's normalised float32 outputs; the loaders return float32.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSION = 384
CATEGORIES: tuple[str, ...] = (
    "outdoor", "kitchen", "electronics", "books", "toys", "garden",
    "sports", "office", "beauty", "pets", "audio", "home",
)  # fmt: skip
TENANTS: tuple[str, ...] = ("acme-retail", "bluebird-goods", "cedar-market", "delta-outlet")

FloatMatrix = npt.NDArray[np.float32]
FloatVector = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Product:
    """One catalog product."""

    product_id: int
    sku: str
    name: str
    description: str
    category: str
    price: float
    in_stock: bool
    tenant: str

    def embedding_text(self) -> str:
        """The exact text whose embedding is stored for this product."""
        return f"{self.name}. {self.description}"


@dataclass(frozen=True, slots=True)
class Review:
    """A customer review of one product."""

    review_id: int
    product_id: int
    rating: int
    text: str
    created_at: date


@dataclass(frozen=True, slots=True)
class Order:
    """One order line: a product sold by a tenant."""

    order_id: int
    product_id: int
    tenant: str
    quantity: int
    ordered_at: datetime


def _read(name: str) -> bytes:
    """The bytes of one bundled data file."""
    return resources.files(__package__).joinpath(name).read_bytes()


def _csv_rows(name: str) -> list[dict[str, str]]:
    """The rows of a bundled gzip'd CSV file, as dicts keyed by its header."""
    text = gzip.decompress(_read(name)).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _parse_bool(value: str) -> bool:
    """'true' or 'false' as a bool."""
    if value not in ("true", "false"):
        raise ValueError(f"not a boolean: {value!r}")
    return value == "true"


@cache
def _products() -> tuple[Product, ...]:
    """Every product, in product_id order (parsed once)."""
    return tuple(
        Product(
            product_id=int(row["product_id"]),
            sku=row["sku"],
            name=row["name"],
            description=row["description"],
            category=row["category"],
            price=float(row["price"]),
            in_stock=_parse_bool(row["in_stock"]),
            tenant=row["tenant"],
        )
        for row in _csv_rows("products.csv.gz")
    )


@cache
def _reviews() -> tuple[Review, ...]:
    """Every review, in review_id order (parsed once)."""
    return tuple(
        Review(
            review_id=int(row["review_id"]),
            product_id=int(row["product_id"]),
            rating=int(row["rating"]),
            text=row["text"],
            created_at=date.fromisoformat(row["created_at"]),
        )
        for row in _csv_rows("reviews.csv.gz")
    )


@cache
def _orders() -> tuple[Order, ...]:
    """Every order, in order_id order (parsed once)."""
    return tuple(
        Order(
            order_id=int(row["order_id"]),
            product_id=int(row["product_id"]),
            tenant=row["tenant"],
            quantity=int(row["quantity"]),
            ordered_at=datetime.fromisoformat(row["ordered_at"]),
        )
        for row in _csv_rows("orders.csv.gz")
    )


@cache
def _embedding_arrays() -> dict[str, npt.NDArray[Any]]:
    """The stored arrays of embeddings.npz (read-only, parsed once)."""
    with np.load(io.BytesIO(_read("embeddings.npz")), allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    for array in arrays.values():
        array.setflags(write=False)
    ids = arrays["product_ids"]
    if not np.array_equal(ids, np.arange(1, len(ids) + 1, dtype=ids.dtype)):
        raise ValueError("embeddings.npz: product_ids are not 1..n in order")
    return arrays


def load_products() -> list[Product]:
    """Every product, ordered by product_id (1..n)."""
    return list(_products())


def load_product_embeddings() -> FloatMatrix:
    """Product embeddings as a new float32 array of shape (n, DIMENSION); row i belongs to load_products()[i]."""
    return _embedding_arrays()["products"].astype(np.float32)


def load_reviews() -> list[Review]:
    """Every review, ordered by review_id (which follows created_at)."""
    return list(_reviews())


def load_orders() -> list[Order]:
    """Every order, ordered by order_id (which follows ordered_at, UTC)."""
    return list(_orders())


def _demo_query_records() -> list[dict[str, str]]:
    """The demo query texts with the category their nearest products should come from."""
    records: list[dict[str, str]] = json.loads(_read("demo_queries.json"))
    return records


def load_demo_queries() -> list[tuple[str, FloatVector]]:
    """Natural-language demo queries, each with its float32 embedding of shape (DIMENSION,)."""
    vectors = _embedding_arrays()["queries"].astype(np.float32)
    records = _demo_query_records()
    if len(records) != len(vectors):
        raise ValueError("demo_queries.json and embeddings.npz disagree on the number of queries")
    return [(record["text"], vectors[i]) for i, record in enumerate(records)]


def load_demo_query_categories() -> dict[str, str]:
    """For each demo query text, the category its nearest products are expected to come from."""
    return {record["text"]: record["expected_category"] for record in _demo_query_records()}


def load_manifest() -> dict[str, Any]:
    """How the data was generated: seed, model, library versions, counts, file sizes and SHA-256 sums."""
    manifest: dict[str, Any] = json.loads(_read("manifest.json"))
    return manifest
