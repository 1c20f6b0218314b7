"""s3vectors.query_vectors_paged: the ranking page after page, lazily, bounded, and locked down."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import psycopg
import pytest

from pgs3v.store.api.limits import Limits
from tests.hybrid.conftest import Catalog, Connection, invocations

FULL = 5202  # products in the sample catalog
PAGE = Limits().query_page_size  # the store's QueryVectors page; query_vectors_paged's top_k no longer sets it
WALK = "SELECT key, distance, metadata, rank FROM s3vectors.query_vectors_paged(%s, %s, %s::real[], {}) AS q"
SELECT_LIST = "SELECT (s3vectors.query_vectors_paged(%s, %s, %s::real[], {})).*"


def counted(conn: Connection, query: str, params: Any) -> tuple[list[tuple[Any, ...]], int]:
    """The rows of a statement and the QueryVectors calls it made."""
    with conn.transaction():
        before = invocations(conn)
        rows = conn.execute(query, params).fetchall()
        return rows, invocations(conn) - before


def arguments(catalog: Catalog, query: int = 0) -> tuple[str, str, list[float]]:
    """Bucket, index and the vector of one demo query."""
    return catalog.where.bucket, catalog.where.index, catalog.queries[query][1].tolist()


def test_the_full_walk_is_the_exact_ranking(db: Connection, catalog: Catalog) -> None:
    rows, calls = counted(db, WALK.format("top_k => 100, max_depth => 10000"), arguments(catalog))
    assert [r[3] for r in rows] == list(range(1, FULL + 1))
    assert sorted(r[0] for r in rows) == sorted(catalog.skus)
    exact = np.sort(catalog.search.distances(catalog.queries[0][1]))
    assert np.allclose([r[1] for r in rows], exact, atol=1e-5)
    assert all(r[2] is None for r in rows)  # no metadata unless asked
    assert calls == math.ceil(FULL / PAGE)


def test_max_depth_caps_rows_and_calls(db: Connection, catalog: Catalog) -> None:
    full, _ = counted(db, WALK.format("top_k => 100, max_depth => 10000"), arguments(catalog, 1))
    rows, calls = counted(db, WALK.format("top_k => 100, max_depth => 250"), arguments(catalog, 1))
    assert (len(rows), calls) == (250, 3)
    assert rows == full[:250]
    # topK is max_depth: the store ends the walk there, one small page here.
    rows, calls = counted(db, WALK.format("top_k => 100, max_depth => 30"), arguments(catalog, 1))
    assert (len(rows), calls) == (30, 1)
    assert rows == full[:30]


def test_a_limit_stops_the_walk_in_a_select_list(db: Connection, catalog: Catalog) -> None:
    query = f"SELECT * FROM ({SELECT_LIST.format('max_depth => 10000')}) AS q LIMIT 150"
    rows, calls = counted(db, query, arguments(catalog, 2))
    assert [r[3] for r in rows] == list(range(1, 151))
    assert calls == 2  # pages of 100: the LIMIT is met on the second
    # top_k, 0.1.0's page size, is accepted and changes nothing.
    same = counted(db, f"SELECT * FROM ({SELECT_LIST.format('top_k => 50, max_depth => 10000')}) AS q LIMIT 150",
                   arguments(catalog, 2))
    assert same == (rows, 2)


def test_in_from_every_page_up_to_max_depth_is_fetched(db: Connection, catalog: Catalog) -> None:
    # PostgreSQL collects a function's rows in FROM before using any: same rows, every page.
    rows, calls = counted(db, WALK.format("top_k => 100, max_depth => 10000") + " LIMIT 150", arguments(catalog, 2))
    assert len(rows) == 150
    assert calls == math.ceil(FULL / PAGE)
    bounded, calls = counted(db, WALK.format("top_k => 100, max_depth => 400") + " LIMIT 150", arguments(catalog, 2))
    assert bounded == rows and calls == 4


def test_filter_and_metadata_pass_through(db: Connection, catalog: Catalog) -> None:
    query = WALK.format("top_k => 100, max_depth => 10000, filter => '{\"tenant\": \"acme-retail\"}', "
                        "return_metadata => true")
    rows, calls = counted(db, query, arguments(catalog, 3))
    acme = [r[0] for r in db.execute("SELECT sku FROM products WHERE tenant = 'acme-retail'")]
    assert sorted(r[0] for r in rows) == sorted(acme)
    assert all(r[2]["tenant"] == "acme-retail" and "product_id" in r[2] for r in rows)
    exact = catalog.search.top_k(catalog.queries[3][1], acme, len(acme))
    assert np.allclose([r[1] for r in rows], exact.distances, atol=1e-5)
    assert calls == math.ceil(len(acme) / PAGE)
    no_distance = db.execute(WALK.format("max_depth => 5, return_distance => false, "
                                         "filter => '{\"tenant\": \"acme-retail\"}'"), arguments(catalog, 3)).fetchall()
    assert [r[0] for r in no_distance] == [r[0] for r in rows[:5]]
    assert all(r[1] is None for r in no_distance)


@pytest.mark.parametrize(("options", "message"), [
    ("max_depth => 0", "max_depth must be at least 1, got 0"),
    ("max_depth => NULL", "max_depth must be at least 1, got NULL"),
    # max_depth is the request's topK: past the service's limit, the service refuses it.
    ("max_depth => 10001", "1 validation error detected. Value at '/topK' failed to satisfy constraint: "
                           "Member must be between 1 and 10000, inclusive"),
])
def test_bad_sizes_are_refused(db: Connection, catalog: Catalog, options: str, message: str) -> None:
    with pytest.raises(psycopg.Error) as raised:
        db.execute(WALK.format(options), arguments(catalog))
    assert raised.value.sqlstate == "22023"
    assert f"ValidationException: {message}" in str(raised.value)


def test_bad_vectors_are_refused(db: Connection, catalog: Catalog) -> None:
    with pytest.raises(psycopg.Error) as raised:
        db.execute("SELECT * FROM s3vectors.query_vectors_paged(%s, %s, '{1,NaN}'::real[])", arguments(catalog)[:2])
    assert raised.value.sqlstate == "22023" and "query_vector has NaN at position 2" in str(raised.value)
    with pytest.raises(psycopg.Error) as raised:
        db.execute("SELECT * FROM s3vectors.query_vectors_paged(%s, %s, '{1,0,0}'::real[])", arguments(catalog)[:2])
    assert raised.value.sqlstate == "22023" and "ValidationException" in str(raised.value)


def test_a_reader_may_walk_and_nobody_else(reader: Connection, outsider: Connection, catalog: Catalog) -> None:
    rows = reader.execute(SELECT_LIST.format("max_depth => 3"), arguments(catalog)).fetchall()
    assert [r[3] for r in rows] == [1, 2, 3]
    for conn, query in ((outsider, SELECT_LIST.format("max_depth => 3")),
                        (reader, "SELECT s3vectors._paged_query_request('{}', '{1}', 1, NULL, false, true, 1)")):
        with pytest.raises(psycopg.Error) as raised:
            conn.execute(query, arguments(catalog) if "%s" in query else None)
        assert raised.value.sqlstate == "42501"


def test_the_functions_are_locked_down(db: Connection, catalog: Catalog) -> None:
    rows = db.execute("""
        SELECT p.oid::regprocedure::text, p.prosecdef, p.proconfig, pg_get_userbyid(p.proowner),
               has_function_privilege('public', p.oid, 'EXECUTE'),
               has_function_privilege('pgs3v_reader', p.oid, 'EXECUTE')
        FROM pg_proc AS p
        WHERE p.pronamespace = 's3vectors'::regnamespace
          AND p.proname IN ('query_vectors_paged', '_paged_query_request')
        ORDER BY p.proname""").fetchall()
    assert [(r[0].split("(")[0], r[1], r[3], r[4], r[5]) for r in rows] == [
        ("s3vectors._paged_query_request", False, "pgs3v_owner", False, False),
        ("s3vectors.query_vectors_paged", True, "pgs3v_owner", False, True),
    ]
    assert all("search_path=pg_catalog, pg_temp" in r[2] for r in rows)


INJECTIONS = ["'); DROP TABLE products; --", "x\"}, \"operation\": \"DeleteIndex", "$$; DROP TABLE orders; $$"]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_arguments_stay_data(db: Connection, reader: Connection, catalog: Catalog, payload: str) -> None:
    bucket, index, vector = arguments(catalog)
    rows = reader.execute(
        "SELECT (s3vectors.query_vectors_paged(%s, %s, %s::real[], filter => jsonb_build_object('tenant', %s::text),"
        " max_depth => 50)).*", (bucket, index, vector, payload)).fetchall()
    assert rows == []
    with pytest.raises(psycopg.Error) as raised:
        reader.execute("SELECT * FROM s3vectors.query_vectors_paged(%s, %s, %s::real[], max_depth => 5)",
                       (payload, index, vector))
    assert raised.value.sqlstate in ("22023", "42704")
    counts = db.execute("SELECT (SELECT count(*) FROM products), (SELECT count(*) FROM orders)").fetchone()
    assert counts is not None and counts[0] == FULL and counts[1] > 0
    assert len(db.execute(WALK.format("max_depth => 5"), (bucket, index, vector)).fetchall()) == 5


def test_a_subquery_argument_walks_once_per_column_and_a_whole_row_once(db: Connection, catalog: Catalog) -> None:
    bucket, index, _ = arguments(catalog)
    anchor = "(SELECT embedding FROM products WHERE sku = 'KIT-DOX-00098')"
    walk = f"s3vectors.query_vectors_paged(%s, %s, {anchor}, top_k => 50, max_depth => 10000)"
    per_column = f"SELECT q.key, q.distance FROM (SELECT ({walk}).*) AS q LIMIT 120"
    whole_row = f"SELECT (w.hit).key, (w.hit).distance FROM (SELECT {walk} AS hit) AS w LIMIT 120"
    rows, calls = counted(db, per_column, (bucket, index))
    assert (len(rows), calls) == (120, 4 * 2)  # a walk of 2 pages for each of the 4 columns
    same, calls = counted(db, whole_row, (bucket, index))
    assert (same, calls) == (rows, 2)
    lateral = ("SELECT q.key, q.distance FROM products AS anchor CROSS JOIN LATERAL "
               "(SELECT (s3vectors.query_vectors_paged(%s, %s, anchor.embedding, top_k => 50, max_depth => 10000)).*)"
               " AS q WHERE anchor.sku = 'KIT-DOX-00098' LIMIT 120")
    assert counted(db, lateral, (bucket, index)) == (rows, 2)
