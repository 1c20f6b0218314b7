"""The bundled sample catalog: sizes, shapes, integrity, and that the embeddings mean what they say."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, date, datetime
from importlib import resources

import numpy as np
import pytest

from pgs3v import sample_data
from pgs3v.sample_data import (
    CATEGORIES,
    DIMENSION,
    EMBEDDING_MODEL,
    TENANTS,
    FloatMatrix,
    FloatVector,
    Order,
    Product,
    Review,
)

FLOAT16_NORM_TOLERANCE = 2e-3  # float16 keeps ~11 bits: each stored norm is within ~5e-4 of 1


@pytest.fixture(scope="module")
def products() -> list[Product]:
    """Every product."""
    return sample_data.load_products()


@pytest.fixture(scope="module")
def embeddings() -> FloatMatrix:
    """Every product embedding, in product order."""
    return sample_data.load_product_embeddings()


@pytest.fixture(scope="module")
def reviews() -> list[Review]:
    """Every review."""
    return sample_data.load_reviews()


@pytest.fixture(scope="module")
def orders() -> list[Order]:
    """Every order."""
    return sample_data.load_orders()


def _nearest(embeddings: FloatMatrix, query: FloatVector, k: int) -> list[int]:
    """Row indices of the k products most cosine-similar to the query, best first."""
    scores = embeddings @ query
    return [int(i) for i in np.argsort(-scores, kind="stable")[:k]]


def test_constants() -> None:
    assert EMBEDDING_MODEL == "sentence-transformers/all-MiniLM-L6-v2"
    assert DIMENSION == 384
    assert len(CATEGORIES) == 12 and len(set(CATEGORIES)) == 12
    assert len(TENANTS) == 4


def test_products(products: list[Product]) -> None:
    assert len(products) >= 5000
    assert [p.product_id for p in products] == list(range(1, len(products) + 1))
    assert len({p.sku for p in products}) == len(products)
    assert len({p.name for p in products}) == len(products)
    assert len({p.description for p in products}) == len(products)
    assert {p.category for p in products} == set(CATEGORIES)
    assert {p.tenant for p in products} == set(TENANTS)
    assert all(isinstance(p.in_stock, bool) for p in products)
    assert 0.5 < sum(p.in_stock for p in products) / len(products) < 1.0
    for p in products:
        assert p.name and p.description.endswith(".")
        assert 0 < p.price < 5000 and round(p.price, 2) == p.price
    per_category = Counter(p.category for p in products)
    assert min(per_category.values()) >= 250

    # Prices are realistic per category: books are cheap, audio gear is not.
    def median_price(category: str) -> float:
        return float(np.median([p.price for p in products if p.category == category]))

    assert median_price("books") < 30 < median_price("audio")


def test_every_product_has_a_unit_norm_float32_embedding(products: list[Product], embeddings: FloatMatrix) -> None:
    assert embeddings.dtype == np.float32
    assert embeddings.shape == (len(products), DIMENSION)
    assert np.isfinite(embeddings).all()
    norms = np.linalg.norm(embeddings, axis=1)
    assert np.abs(norms - 1.0).max() < FLOAT16_NORM_TOLERANCE
    # No two products share a vector (a misaligned or duplicated write would).
    assert len(np.unique(embeddings, axis=0)) == len(products)


def test_loaders_return_independent_copies(embeddings: FloatMatrix) -> None:
    again = sample_data.load_product_embeddings()
    again[0, 0] = 42.0
    assert sample_data.load_product_embeddings()[0, 0] != 42.0
    assert embeddings[0, 0] != 42.0


def test_reviews(products: list[Product], reviews: list[Review]) -> None:
    assert 14_000 <= len(reviews) <= 16_000
    assert [r.review_id for r in reviews] == list(range(1, len(reviews) + 1))
    ids = {p.product_id for p in products}
    assert all(r.product_id in ids for r in reviews)
    assert {r.rating for r in reviews} == {1, 2, 3, 4, 5}
    assert all(r.text and len(r.text) < 200 for r in reviews)
    assert all(isinstance(r.created_at, date) for r in reviews)
    assert [r.created_at for r in reviews] == sorted(r.created_at for r in reviews)


def test_orders(products: list[Product], orders: list[Order]) -> None:
    assert 19_000 <= len(orders) <= 21_000
    assert [o.order_id for o in orders] == list(range(1, len(orders) + 1))
    by_id = {p.product_id: p for p in products}
    for order in orders:
        assert order.product_id in by_id
        assert order.tenant == by_id[order.product_id].tenant  # the tenant that sells the product
        assert 1 <= order.quantity <= 10
        assert order.ordered_at.tzinfo is not None and order.ordered_at.utcoffset() == UTC.utcoffset(None)
    assert orders[0].ordered_at <= orders[-1].ordered_at
    assert datetime(2023, 1, 1, tzinfo=UTC) <= orders[0].ordered_at


def test_demo_queries() -> None:
    queries = sample_data.load_demo_queries()
    expected = sample_data.load_demo_query_categories()
    assert 8 <= len(queries) <= 20
    assert [text for text, _ in queries] == list(expected)
    assert set(expected.values()) <= set(CATEGORIES)
    for text, vector in queries:
        assert text and vector.dtype == np.float32 and vector.shape == (DIMENSION,)
        assert abs(float(np.linalg.norm(vector)) - 1.0) < FLOAT16_NORM_TOLERANCE


def test_nearest_products_come_from_the_expected_category(products: list[Product], embeddings: FloatMatrix) -> None:
    expected = sample_data.load_demo_query_categories()
    for text, vector in sample_data.load_demo_queries():
        top = [products[i].category for i in _nearest(embeddings, vector, 10)]
        hits = top.count(expected[text])
        assert hits >= 6, f"{text!r}: only {hits}/10 of the nearest products are {expected[text]}: {top}"


@pytest.mark.parametrize(
    ("query", "word"),
    [
        ("waterproof jacket for hiking", "Jacket"),
        ("wireless headphones with noise cancelling for long flights", "Headphones"),
        ("ergonomic chair for long days at the desk", "Chair"),
        ("cosy throw blanket for the sofa", "Blanket"),
        ("raised bed for growing vegetables", "Raised Garden Bed"),
    ],
)
def test_nearest_products_are_the_right_kind_of_thing(
    products: list[Product], embeddings: FloatMatrix, query: str, word: str
) -> None:
    vectors = dict(sample_data.load_demo_queries())
    top = [products[i].name for i in _nearest(embeddings, vectors[query], 5)]
    assert sum(word in name for name in top) >= 4, top


def test_files_match_the_manifest() -> None:
    manifest = sample_data.load_manifest()
    assert manifest["embedding_model"] == EMBEDDING_MODEL and manifest["dimension"] == DIMENSION
    assert manifest["categories"] == list(CATEGORIES) and manifest["tenants"] == list(TENANTS)
    assert manifest["counts"]["products"] == len(sample_data.load_products())
    root = resources.files("pgs3v.sample_data")
    total = 0
    for name, entry in manifest["files"].items():
        data = root.joinpath(name).read_bytes()
        assert len(data) == entry["bytes"], name
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], name
        total += len(data)
    assert total < 5_000_000


def test_embedding_text_is_name_then_description(products: list[Product]) -> None:
    product = products[0]
    assert product.embedding_text() == f"{product.name}. {product.description}"
