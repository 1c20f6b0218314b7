"""The predicates select in SQL what they say they select, at about the selectivity they are named for."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from psycopg import sql

from pgs3v.hybrid.predicates import ACME_BESTSELLERS, PREDICATES, UNDER_50, WELL_REVIEWED, Predicate, predicate_named
from pgs3v.sample_data.catalog import Product, load_orders, load_products, load_reviews
from tests.hybrid.conftest import Catalog, Connection


def _mirrors() -> dict[str, Callable[[Product], bool]]:
    """Each predicate written again in Python over the sample data files."""
    five_star = Counter(r.product_id for r in load_reviews() if r.rating == 5)
    start, end = datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    units_2025: Counter[int] = Counter()
    for order in load_orders():
        if start <= order.ordered_at < end:
            units_2025[order.product_id] += order.quantity
    return {
        UNDER_50.name: lambda p: p.price < 50,
        WELL_REVIEWED.name: lambda p: five_star[p.product_id] >= 3,
        ACME_BESTSELLERS.name: lambda p: p.tenant == "acme-retail" and p.in_stock and units_2025[p.product_id] >= 6,
    }


def skus(db: Connection, predicate: Predicate) -> set[str]:
    """The skus PostgreSQL lets through."""
    return {str(r[0]) for r in db.execute(sql.SQL("SELECT p.sku FROM products AS p WHERE {}").format(predicate.sql()))}


@pytest.mark.parametrize("predicate", PREDICATES, ids=lambda p: p.name)
def test_sql_and_python_agree(db: Connection, catalog: Catalog, predicate: Predicate) -> None:
    products = load_products()
    expected = {p.sku for p in products if _mirrors()[predicate.name](p)}
    assert skus(db, predicate) == expected
    share = len(expected) / len(products)
    assert predicate.target_selectivity * 0.5 <= share <= predicate.target_selectivity * 1.5


@pytest.mark.parametrize("predicate", [p for p in PREDICATES if p.set_condition], ids=lambda p: p.name)
def test_the_set_form_selects_the_same_rows(db: Connection, catalog: Catalog, predicate: Predicate) -> None:
    per_row, set_form = (skus(db, form) for form in (predicate, predicate.set_form()))
    assert per_row == set_form
    with pytest.raises(ValueError, match="no set-at-a-time form"):
        UNDER_50.set_form()


@pytest.mark.parametrize("predicate", [p for p in PREDICATES if p.metadata_filter], ids=lambda p: p.name)
def test_the_metadata_part_keeps_every_row_that_passes(db: Connection, catalog: Catalog, predicate: Predicate) -> None:
    # What the store keeps with the filter (a walk with it) includes every row the SQL lets through.
    kept = {r[0] for r in db.execute(
        "SELECT key FROM s3vectors.query_vectors_paged(%s, %s, %s::real[], filter => %s::jsonb, max_depth => 10000)",
        (catalog.where.bucket, catalog.where.index, catalog.queries[0][1].tolist(),
         json.dumps(predicate.metadata_filter)))}
    assert skus(db, predicate) <= kept < set(catalog.skus)


def test_predicates_are_found_by_name() -> None:
    assert predicate_named("under-50") is UNDER_50
    with pytest.raises(KeyError, match="known: under-50"):
        predicate_named("everything")
