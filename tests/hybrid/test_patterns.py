"""The three hybrid patterns on the real catalog, against numpy's exact answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pgs3v.hybrid.patterns import Hits, Paged, Pattern, PostFilter, PushDown, applies, parameters, run_pattern
from pgs3v.hybrid.predicates import ACME_BESTSELLERS, PREDICATES, UNDER_50, WELL_REVIEWED, Predicate
from pgs3v.store.api.limits import Limits
from tests.hybrid.conftest import Catalog, Connection, invocations

K = 10
NOTHING = Predicate("nothing", "no product", "p.price < 0", 0.0)


def allowed(db: Connection, predicate: Predicate) -> list[str]:
    """The skus that pass a predicate."""
    from psycopg import sql

    query = sql.SQL("SELECT p.sku FROM products AS p WHERE {}").format(predicate.sql())
    return [str(r[0]) for r in db.execute(query)]


def run_counted(
    db: Connection, catalog: Catalog, pattern: Pattern, predicate: Predicate, query: int
) -> tuple[Hits, int]:
    """What a pattern returns for one demo query, and the QueryVectors calls it made."""
    with db.transaction():
        before = invocations(db)
        hits = run_pattern(db, pattern, predicate, catalog.where, catalog.queries[query][1].tolist(), K)
        return hits, invocations(db) - before


def assert_exact(hits: Hits, catalog: Catalog, query: int, keys: list[str]) -> None:
    """The hits are the exact k nearest of these keys (ties at equal distance either way)."""
    exact = catalog.search.top_k(catalog.queries[query][1], keys, K)
    assert len(hits.keys) == len(exact.keys)
    assert set(hits.keys) <= set(keys)
    assert np.allclose(hits.distances, exact.distances, atol=1e-5)


@pytest.mark.parametrize("predicate", PREDICATES, ids=lambda p: p.name)
def test_post_filter_keeps_the_passing_rows_among_those_fetched(
    db: Connection, catalog: Catalog, predicate: Predicate
) -> None:
    passing = set(allowed(db, predicate))
    for query in range(3):
        hits, calls = run_counted(db, catalog, PostFilter(3), predicate, query)
        fetched = catalog.search.top_k(catalog.queries[query][1], catalog.skus, K * 3)
        expected = [key for key in fetched.keys if key in passing][:K]
        assert calls == 1
        assert set(hits.keys) <= passing
        assert len(hits.keys) == len(expected)
        vector = catalog.queries[query][1]
        assert np.allclose(hits.distances, [catalog.search.distance_of(vector, key) for key in expected], atol=1e-5)


@pytest.mark.parametrize("predicate", PREDICATES, ids=lambda p: p.name)
def test_push_down_is_exact_at_every_selectivity(db: Connection, catalog: Catalog, predicate: Predicate) -> None:
    keys = allowed(db, predicate)
    for query in range(len(catalog.queries)):
        hits, calls = run_counted(db, catalog, PushDown(), predicate, query)
        assert calls == 1
        assert_exact(hits, catalog, query, keys)


@pytest.mark.parametrize("predicate", [p for p in PREDICATES if p.set_condition], ids=lambda p: p.name)
def test_push_down_of_the_set_form_is_exact_too(db: Connection, catalog: Catalog, predicate: Predicate) -> None:
    keys = allowed(db, predicate)
    assert sorted(allowed(db, predicate.set_form())) == sorted(keys)
    for query in range(0, len(catalog.queries), 2):
        hits, calls = run_counted(db, catalog, PushDown(set_form=True), predicate, query)
        assert calls == 1
        assert_exact(hits, catalog, query, keys)


@pytest.mark.parametrize("predicate", [p for p in PREDICATES if p.metadata_filter], ids=lambda p: p.name)
def test_paged_with_the_metadata_part_pushed_down_is_exact_in_fewer_calls(
    db: Connection, catalog: Catalog, predicate: Predicate
) -> None:
    keys = allowed(db, predicate)
    fewer = 0
    for query in range(len(catalog.queries)):
        hits, calls = run_counted(db, catalog, Paged(100, 10_000, metadata_filter=True), predicate, query)
        assert_exact(hits, catalog, query, keys)
        _, without = run_counted(db, catalog, Paged(100, 10_000), predicate, query)
        assert calls <= without
        fewer += calls < without
    assert fewer > 0


def test_push_down_without_candidates_sends_nothing(db: Connection, catalog: Catalog) -> None:
    hits, calls = run_counted(db, catalog, PushDown(), NOTHING, 0)
    assert (hits.keys, calls) == ([], 0)


def test_paged_returns_k_where_post_filter_falls_short(db: Connection, catalog: Catalog) -> None:
    # About 1% of the products pass: even the largest over-fetch (top_k 100 = k x 10) misses.
    keys = allowed(db, ACME_BESTSELLERS)
    assert len(keys) >= K
    short = 0
    for query in range(len(catalog.queries)):
        post_filtered, _ = run_counted(db, catalog, PostFilter(10), ACME_BESTSELLERS, query)
        short += len(post_filtered.keys) < K
        paged, _ = run_counted(db, catalog, Paged(100, 10_000), ACME_BESTSELLERS, query)
        assert_exact(paged, catalog, query, keys)
    assert short >= len(catalog.queries) // 2


@pytest.mark.parametrize("predicate", PREDICATES, ids=lambda p: p.name)
def test_paged_stops_once_the_limit_is_met(db: Connection, catalog: Catalog, predicate: Predicate) -> None:
    # Since schema 0.2.0 the store sets the page size (query_page_size), whatever Paged.page_size says.
    page_size = Limits().query_page_size
    passing = set(allowed(db, predicate))
    for query in range(0, len(catalog.queries), 3):
        # The store's own ranking (a full walk), to find the rank of the k-th passing row.
        ranking = [str(r[0]) for r in db.execute(
            "SELECT key FROM s3vectors.query_vectors_paged(%s, %s, %s::real[], max_depth => 10000) ORDER BY rank",
            (catalog.where.bucket, catalog.where.index, catalog.queries[query][1].tolist()))]
        kth = [rank for rank, key in enumerate(ranking, 1) if key in passing][K - 1]
        hits, calls = run_counted(db, catalog, Paged(20, 10_000), predicate, query)
        assert_exact(hits, catalog, query, sorted(passing))
        assert calls == math.ceil(kth / page_size) < math.ceil(len(ranking) / page_size)


def test_paged_stops_at_max_depth(db: Connection, catalog: Catalog) -> None:
    passing = set(allowed(db, ACME_BESTSELLERS))
    cut_short = 0
    for query in range(len(catalog.queries)):
        hits, calls = run_counted(db, catalog, Paged(100, 200), ACME_BESTSELLERS, query)
        first = [key for key in catalog.search.top_k(catalog.queries[query][1], catalog.skus, 200).keys
                 if key in passing]
        assert len(hits.keys) == min(K, len(first)) and calls <= 2
        assert set(hits.keys) <= set(first)
        cut_short += len(first) < K
    assert cut_short > 0  # some walks ended at max_depth with fewer than k rows


def test_over_fetch_cannot_pass_the_top_k_limit(catalog: Catalog) -> None:
    with pytest.raises(ValueError, match="above the topK limit of 100"):
        parameters(PostFilter(11), ACME_BESTSELLERS, catalog.where, [0.0], K)
    with pytest.raises(ValueError, match="no metadata part"):
        parameters(Paged(metadata_filter=True), WELL_REVIEWED, catalog.where, [0.0], K)


def test_patterns_apply_where_the_predicate_has_what_they_need() -> None:
    assert applies(PushDown(set_form=True), WELL_REVIEWED) and not applies(PushDown(set_form=True), UNDER_50)
    assert applies(Paged(metadata_filter=True), UNDER_50) and not applies(Paged(metadata_filter=True), WELL_REVIEWED)
    assert all(applies(pattern, WELL_REVIEWED) for pattern in (PostFilter(1), PushDown(), Paged()))
