"""Every s3vectors function, through the shim, the function host and the bridge to the real store."""

from __future__ import annotations

import datetime
import re

import pytest

from tests.sql.conftest import Connection, SqlStack, scalar, sql_error, unique

ACCOUNT_ARN = "arn:aws:s3vectors:us-east-1:000000000000"


def test_vector_bucket_lifecycle(db: Connection) -> None:
    name = unique("sql-life")
    arn = scalar(db, "SELECT s3vectors.create_vector_bucket(%s, tags => '{\"team\": \"search\"}')", (name,))
    assert arn == f"{ACCOUNT_ARN}:bucket/{name}"
    row = db.execute("SELECT * FROM s3vectors.get_vector_bucket(%s)", (name,)).fetchone()
    assert row is not None
    assert row[:2] == (name, arn) and isinstance(row[2], datetime.datetime) and row[3] == {"sseType": "AES256"}
    assert scalar(db, "SELECT vector_bucket_name FROM s3vectors.get_vector_bucket(vector_bucket_arn => %s)",
                  (arn,)) == name
    listed = db.execute("SELECT vector_bucket_name, vector_bucket_arn FROM s3vectors.list_vector_buckets(prefix => %s)",
                        (name,)).fetchall()
    assert listed == [(name, arn)]
    db.execute("SELECT s3vectors.delete_vector_bucket(%s)", (name,))
    error = sql_error(db, "SELECT * FROM s3vectors.get_vector_bucket(%s)", (name,))
    assert error.sqlstate == "42704"


def test_list_vector_buckets_follows_pages_and_caps_rows(db: Connection) -> None:
    prefix = unique("sql-many")
    for number in range(3):
        db.execute("SELECT s3vectors.create_vector_bucket(%s)", (f"{prefix}-{number}",))
    names = [r[0] for r in db.execute("SELECT vector_bucket_name FROM s3vectors.list_vector_buckets(%s)",
                                      (prefix,))]
    assert sorted(names) == [f"{prefix}-{n}" for n in range(3)]
    assert scalar(db, "SELECT count(*) FROM s3vectors.list_vector_buckets(%s, max_results => 2)", (prefix,)) == 2


def test_index_lifecycle(db: Connection, bucket: str) -> None:
    arn = scalar(db, "SELECT s3vectors.create_index(vector_bucket_name => %s, index_name => 'docs', dimension => 5, "
                     "distance_metric => 'euclidean', non_filterable_metadata_keys => '{body,notes}')", (bucket,))
    assert arn == f"{ACCOUNT_ARN}:bucket/{bucket}/index/docs"
    row = db.execute("SELECT vector_bucket_name, index_name, index_arn, data_type, dimension, distance_metric, "
                     "non_filterable_metadata_keys, creation_time IS NOT NULL FROM s3vectors.get_index(%s, 'docs')",
                     (bucket,)).fetchone()
    assert row == (bucket, "docs", arn, "float32", 5, "euclidean", ["body", "notes"], True)
    assert scalar(db, "SELECT dimension FROM s3vectors.get_index(index_arn => %s)", (arn,)) == 5
    db.execute("SELECT s3vectors.create_index(%s, 'other', 3, 'cosine')", (bucket,))
    listed = db.execute("SELECT index_name, index_arn FROM s3vectors.list_indexes(%s) ORDER BY 1", (bucket,)).fetchall()
    assert listed == [("docs", arn), ("other", f"{ACCOUNT_ARN}:bucket/{bucket}/index/other")]
    assert scalar(db, "SELECT count(*) FROM s3vectors.list_indexes(%s, prefix => 'oth')", (bucket,)) == 1
    db.execute("SELECT s3vectors.delete_index(index_arn => %s)", (arn,))
    db.execute("SELECT s3vectors.delete_index(%s, 'other')", (bucket,))
    assert scalar(db, "SELECT count(*) FROM s3vectors.list_indexes(%s)", (bucket,)) == 0


def test_put_get_list_delete(db: Connection, index: tuple[str, str]) -> None:
    bucket, name = index
    db.execute("SELECT s3vectors.put_vector(%s, %s, 'a', '{1,0,0}', '{\"color\": \"red\", \"text\": \"hi\"}')",
               index)
    count = scalar(db, "SELECT s3vectors.put_vectors(%s, %s, ARRAY['b', 'c'], '{{0,1,0},{0,0.5,0.25}}'::real[], "
                       "ARRAY['{\"color\": \"blue\"}'::jsonb, NULL])", index)
    assert count == 2
    count = scalar(db, "SELECT s3vectors.put_vectors(%s, %s, vectors => '[{\"key\": \"d\", \"data\": [1, 1, 0]}, "
                       "{\"key\": \"e\", \"data\": {\"float32\": [0.1, 0.2, 0.3]}, \"metadata\": {\"n\": 1}}]')",
                   index)
    assert count == 2
    rows = db.execute("SELECT key, data, metadata FROM s3vectors.get_vectors(%s, %s, ARRAY['e', 'a', 'zz', 'c'])",
                      index).fetchall()
    assert sorted(rows) == [
        ("a", [1.0, 0.0, 0.0], {"color": "red", "text": "hi"}),
        ("c", [0.0, 0.5, 0.25], {}),
        ("e", [pytest.approx(0.1), pytest.approx(0.2), pytest.approx(0.3)], {"n": 1}),
    ]
    keys_only = db.execute("SELECT * FROM s3vectors.get_vectors(%s, %s, '{a}', return_data => false, "
                           "return_metadata => false)", index).fetchall()
    assert keys_only == [("a", None, None)]
    listed = db.execute("SELECT key, data, metadata FROM s3vectors.list_vectors(%s, %s)", index).fetchall()
    assert sorted(key for key, _, _ in listed) == ["a", "b", "c", "d", "e"]
    assert all(data is None and metadata is None for _, data, metadata in listed)
    full = db.execute("SELECT key, data, metadata FROM s3vectors.list_vectors(%s, %s, return_data => true, "
                      "return_metadata => true) WHERE key = 'b'", index).fetchall()
    assert full == [("b", [0.0, 1.0, 0.0], {"color": "blue"})]
    assert scalar(db, "SELECT s3vectors.delete_vectors(%s, %s, ARRAY['a', 'b', 'never-there'])", index) == 3
    assert sorted(r[0] for r in db.execute("SELECT key FROM s3vectors.list_vectors(%s, %s)", index)) == ["c", "d", "e"]
    # The ARN addresses the same index.
    arn = f"{ACCOUNT_ARN}:bucket/{bucket}/index/{name}"
    assert scalar(db, "SELECT count(*) FROM s3vectors.list_vectors(index_arn => %s)", (arn,)) == 3


def test_floats_round_trip_exactly(db: Connection, index: tuple[str, str]) -> None:
    # Whatever extra_float_digits the session uses, float32 values go to the store unrounded.
    db.execute("SET extra_float_digits = -10")
    try:
        db.execute("SELECT s3vectors.put_vectors(%s, %s, '{x}'::text[], '{{0.1234567,1e-7,3.4028235e38}}'::real[])",
                   index)
        same = scalar(db, "SELECT data = '{0.1234567,1e-7,3.4028235e38}'::real[] "
                          "FROM s3vectors.get_vectors(%s, %s, '{x}')", index)
    finally:
        db.execute("RESET extra_float_digits")
    assert same is True


def test_query_vectors_nearest_first_with_distance_and_optional_metadata(
    db: Connection, index: tuple[str, str]
) -> None:
    db.execute("SELECT s3vectors.put_vectors(%s, %s, vectors => %s::jsonb)", (*index, """[
        {"key": "near", "data": [1, 0.1, 0], "metadata": {"price": 10, "text": "x"}},
        {"key": "mid", "data": [1, 1, 0], "metadata": {"price": 30}},
        {"key": "far", "data": [0, 0, 1], "metadata": {"price": 20}}]"""))
    rows = db.execute("SELECT * FROM s3vectors.query_vectors(%s, %s, '{1,0,0}'::real[], 3)", index).fetchall()
    assert [r[0] for r in rows] == ["near", "mid", "far"]
    assert rows[0][1] == pytest.approx(1 - 1 / (1.01**0.5), abs=1e-6) and rows[2][1] == pytest.approx(1.0)
    assert all(r[2] is None for r in rows)  # metadata only when asked for
    with_metadata = db.execute("SELECT key, metadata FROM s3vectors.query_vectors(%s, %s, '{1,0,0}'::real[], 1, "
                               "return_metadata => true)", index).fetchall()
    assert with_metadata == [("near", {"price": 10, "text": "x"})]
    no_distance = db.execute("SELECT distance FROM s3vectors.query_vectors(%s, %s, '{1,0,0}'::real[], 2, "
                             "return_distance => false)", index).fetchall()
    assert no_distance == [(None,), (None,)]
    filtered = db.execute("SELECT key FROM s3vectors.query_vectors(%s, %s, '{1,0,0}'::real[], 3, "
                          "filter => '{\"price\": {\"$gte\": 15}}')", index).fetchall()
    assert filtered == [("mid",), ("far",)]
    error = sql_error(db, "SELECT * FROM s3vectors.query_vectors(%s, %s, '{1,0,0}'::real[], 3, "
                          "filter => '{\"text\": \"x\"}')", index)
    assert error.sqlstate == "22023" and str(error).startswith("ValidationException:")


def test_query_vectors_returns_every_page_of_top_k(db: Connection, index: tuple[str, str]) -> None:
    # topK is the total; the service pages it (100 a page on the store) and the function reads them all.
    db.execute("SELECT s3vectors.put_vectors(%s, %s, %s::text[], %s::real[][])",
               (*index, [f"v{i:03d}" for i in range(260)], [[1.0, i / 100, 0.0] for i in range(260)]))
    rows = db.execute("SELECT key, distance FROM s3vectors.query_vectors(%s, %s, '{1,0,0}'::real[], 230)",
                      index).fetchall()
    assert [r[0] for r in rows] == [f"v{i:03d}" for i in range(230)]
    assert [r[1] for r in rows] == sorted(r[1] for r in rows)
    fewer = db.execute("SELECT count(*) FROM s3vectors.query_vectors(%s, %s, '{1,0,0}'::real[], 1000, "
                       "filter => '{\"price\": {\"$exists\": false}}')", index).fetchone()
    assert fewer == (260,)


def test_rows_join_with_ordinary_tables(db: Connection, index: tuple[str, str]) -> None:
    table = unique("products").replace("-", "_")
    db.execute(f"CREATE TABLE {table} (sku text PRIMARY KEY, name text, price numeric, embedding real[])")
    try:
        db.execute(f"INSERT INTO {table} VALUES ('p1', 'red lamp', 12, '{{1,0,0}}'), "
                   "('p2', 'blue lamp', 80, '{0.9,0.1,0}'), ('p3', 'green chair', 30, '{0,0,1}')")
        db.execute(f"SELECT s3vectors.put_vectors(%s, %s, array_agg(sku), array_agg(embedding)) FROM {table}", index)
        rows = db.execute(
            f"SELECT p.name, q.distance FROM s3vectors.query_vectors(%s, %s, "
            f"(SELECT embedding FROM {table} WHERE sku = 'p1'), 3) AS q JOIN {table} AS p ON p.sku = q.key "
            "WHERE p.price < 50 ORDER BY q.distance", index).fetchall()
        assert [name for name, _ in rows] == ["red lamp", "green chair"]
        assert rows[0][1] == pytest.approx(0.0, abs=1e-6)
        got = db.execute(f"SELECT p.name, g.data FROM {table} AS p "
                         "CROSS JOIN LATERAL s3vectors.get_vectors(%s, %s, ARRAY[p.sku]) AS g ORDER BY p.sku",
                         index).fetchall()
        assert [name for name, _ in got] == ["red lamp", "blue lamp", "green chair"]
    finally:
        db.execute(f"DROP TABLE {table}")


def test_bulk_load_5000_rows_in_one_statement(sql_stack: SqlStack, db: Connection, bucket: str) -> None:
    db.execute("SELECT s3vectors.create_index(%s, 'bulk', 8, 'euclidean')", (bucket,))
    table = unique("bulk").replace("-", "_")
    db.execute(f"CREATE TABLE {table} AS SELECT 'item-' || i AS sku, i AS price, "
               "ARRAY(SELECT ((i * 31 + j * 7) % 101)::real / 101::real FROM generate_series(1, 8) AS j) AS embedding "
               "FROM generate_series(1, 5000) AS i")
    try:
        log_before = len(sql_stack.host.log_text())
        loaded = scalar(db, f"SELECT s3vectors.put_vectors(%s, 'bulk', array_agg(sku), array_agg(embedding), "
                            f"array_agg(jsonb_build_object('price', price))) FROM {table}", (bucket,))
        assert loaded == 5000
        # One invocation carried all 5,000; the bridge made ten PutVectors calls of 500.
        assert re.search(r"PutVectors: ok in [\d.]+ ms \(10 calls\)", sql_stack.host.log_text()[log_before:])
        assert scalar(db, "SELECT count(*) FROM s3vectors.list_vectors(%s, 'bulk')", (bucket,)) == 5000
        segments = [scalar(db, "SELECT count(*) FROM s3vectors.list_vectors(%s, 'bulk', segment_count => 3, "
                               "segment_index => %s)", (bucket, s)) for s in range(3)]
        assert sum(segments) == 5000 and all(segments)
        assert scalar(db, "SELECT count(*) FROM s3vectors.list_vectors(%s, 'bulk', max_results => 1234)",
                      (bucket,)) == 1234
        # Data and metadata come back for every key asked (the bridge splits GetVectors by 100).
        same = scalar(db, "SELECT count(*) FROM s3vectors.get_vectors(%s, 'bulk', "
                          f"(SELECT array_agg(sku) FROM {table})) AS g JOIN {table} AS t ON t.sku = g.key "
                          "WHERE g.data = t.embedding AND (g.metadata ->> 'price')::int = t.price", (bucket,))
        assert same == 5000
        deleted = scalar(db, f"SELECT s3vectors.delete_vectors(%s, 'bulk', array_agg(sku)) FROM {table} "
                             "WHERE price <= 1200", (bucket,))
        assert deleted == 1200
        assert scalar(db, "SELECT count(*) FROM s3vectors.list_vectors(%s, 'bulk')", (bucket,)) == 3800
    finally:
        db.execute(f"DROP TABLE {table}")


def test_large_payloads_are_split_under_lambdas_size_limit(db: Connection, bucket: str) -> None:
    # 800 vectors of 1,024 dimensions are ~8 MB of JSON: two invocations, each < 6 MB.
    db.execute("SELECT s3vectors.create_index(%s, 'wide', 1024, 'cosine')", (bucket,))
    loaded = scalar(db, "SELECT s3vectors.put_vectors(%s, 'wide', array_agg('w' || i), array_agg(v)) FROM ("
                        "SELECT i, ARRAY(SELECT (0.123456 + (i * j %% 1000) / 7.0)::real "
                        "FROM generate_series(1, 1024) j) v "
                        "FROM generate_series(1, 800) i) s", (bucket,))
    assert loaded == 800
    keys = "(SELECT array_agg('w' || i) FROM generate_series(1, 800) i)"
    assert scalar(db, f"SELECT count(data) FROM s3vectors.get_vectors(%s, 'wide', {keys})", (bucket,)) == 800


def test_put_vectors_checks_its_arrays(db: Connection, index: tuple[str, str]) -> None:
    cases = {
        "ARRAY['a', 'b'], '{{1,0,0}}'::real[]": "data must hold one vector per key: 2 keys",
        "ARRAY['a', 'b'], '{1,0,0}'::real[]": "data must hold one vector per key",
        "ARRAY['a'], '{{1,0,0}}'::real[], ARRAY['{}'::jsonb, '{}']": "metadata must have one entry per key",
        "ARRAY['a', NULL], '{{1,0,0},{0,1,0}}'::real[]": "keys has a NULL at position 2",
        "'{}'::text[], '{{1,0,0}}'::real[]": "keys must not be empty",
    }
    for arguments, message in cases.items():
        error = sql_error(db, f"SELECT s3vectors.put_vectors(%s, %s, {arguments})", index)
        assert error.sqlstate == "22023" and message in str(error), (arguments, str(error))
    # A single vector as a plain real[] is fine with a single key.
    assert scalar(db, "SELECT s3vectors.put_vectors(%s, %s, ARRAY['one'], '{1,2,3}'::real[])", index) == 1


def test_function_name_and_version(db: Connection) -> None:
    assert scalar(db, "SELECT s3vectors.function_name()") == "pgs3v-bridge"
    assert scalar(db, "SELECT s3vectors.schema_version()") == "0.5.0"
