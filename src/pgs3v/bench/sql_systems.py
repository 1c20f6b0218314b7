"""The paths a query can take to the store, each as a callable timing one query.

Every path runs the same QueryVectors request (bucket, index, topK, one query vector, distances
returned) and reports the keys it got back, so the benchmark can check they all agree:

    direct           boto3 s3vectors ──────────────────────────────────────────────▶ store
    lean-client      json + botocore SigV4 + http.client ──────────────────────────▶ store
    lambda           boto3 lambda ──▶ function host ──▶ pgs3v-bridge (boto3) ───────▶ store
    sql              psycopg ──▶ PostgreSQL: s3vectors.query_vectors ⋈ products
                                   └─ aws_lambda shim ──▶ function host ──▶ pgs3v-bridge ──▶ store
    sql-binary-param as sql, the query vector sent in binary (psycopg's %b) rather than as text
    sql-invoke-noop  psycopg ──▶ PostgreSQL: aws_lambda.invoke(no-op function, same event)
    sql-lean-bridge  as sql, through the prototype bridge on the lean client
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import psycopg

from pgs3v.bench.host_functions import NOOP_FUNCTION
from pgs3v.bench.lean_store_client import LeanStoreClient
from pgs3v.bench.wire_clock import WireClock

DIRECT = "direct"
DIRECT_WIRE = "direct-wire"
LEAN_CLIENT = "lean-client"
LAMBDA = "lambda"
SQL = "sql"
SQL_BINARY = "sql-binary-param"
SQL_INVOKE = "sql-invoke-noop"
SQL_LEAN = "sql-lean-bridge"
BRIDGE_FUNCTION = "pgs3v-bridge"

SYSTEMS = {
    DIRECT: "boto3 s3vectors client → store, QueryVectors on one keep-alive connection: the baseline",
    DIRECT_WIRE: "the direct calls timed from when botocore hands the signed request to HTTP until the call "
    "returns: the store and loopback HTTP, without boto3's request serialisation and signing",
    LEAN_CLIENT: "the same call with a lean client (json + botocore's SigV4Auth + http.client, keep-alive): "
    "the floor of a store call from Python, and what the proposed bridge does",
    LAMBDA: "boto3 lambda client → function host → pgs3v-bridge (boto3 s3vectors client) → store",
    SQL: "psycopg, prepared, keep-alive: SELECT q.key, p.name, q.distance FROM s3vectors.query_vectors(...) q "
    "JOIN products p ON p.sku = q.key ORDER BY q.distance → aws_lambda shim → function host → pgs3v-bridge → store",
    SQL_BINARY: "the sql statement with the query vector parameter in binary format (psycopg's %b placeholder: "
    "float8[] on the wire, cast to real[] by the server) instead of text, which PostgreSQL must parse number by number",
    SQL_INVOKE: "psycopg, prepared: aws_lambda.invoke of a no-op function with the same event, built in SQL from "
    "the same real[] parameter; it answers a canned result of the same size: the Lambda hop alone",
    SQL_LEAN: "the sql statement in a second database whose s3vectors functions invoke a prototype bridge on the "
    "lean client instead of pgs3v-bridge",
}

SQL_JOIN = """
SELECT q.key, p.name, q.distance
FROM s3vectors.query_vectors(vector_bucket_name => %s, index_name => %s, query_vector => %s::real[],
                             top_k => %s) AS q
JOIN products AS p ON p.sku = q.key
ORDER BY q.distance
"""
SQL_JOIN_BINARY = SQL_JOIN.replace("%s::real[]", "%b::real[]")

SQL_NOOP_INVOKE = f"""
SELECT r.payload
FROM aws_lambda.invoke('{NOOP_FUNCTION}', json_build_object(
    'operation', 'QueryVectors',
    'request', json_build_object('vectorBucketName', %s::text, 'indexName', %s::text, 'topK', %s::integer,
                                 'queryVector', json_build_object('float32', to_json(%s::real[])),
                                 'returnDistance', true))) AS r
"""


class Call(NamedTuple):
    """One timed query: its duration, the part after botocore sent it (direct only), the keys found."""

    elapsed_ns: int
    wire_ns: int | None
    keys: list[str] | None


Runner = Callable[[list[float]], Call]


@dataclass(frozen=True)
class Target:
    """Where the queries go: the index, and top k."""

    bucket: str
    index: str
    top_k: int

    def request(self, vector: list[float]) -> dict[str, Any]:
        """The QueryVectors request in the API's shape."""
        return {"vectorBucketName": self.bucket, "indexName": self.index, "topK": self.top_k,
                "queryVector": {"float32": vector}, "returnDistance": True}


def direct(client: Any, clock: WireClock, target: Target) -> Runner:
    """QueryVectors through a boto3 s3vectors client that ``clock`` is attached to."""

    def run(vector: list[float]) -> Call:
        began = time.perf_counter_ns()
        response = client.query_vectors(**target.request(vector))
        finished = time.perf_counter_ns()
        return Call(finished - began, finished - clock.sent_ns(), [v["key"] for v in response["vectors"]])

    return run


def lean(client: LeanStoreClient, target: Target) -> Runner:
    """QueryVectors through the lean client."""

    def run(vector: list[float]) -> Call:
        began = time.perf_counter_ns()
        response = client.call("QueryVectors", target.request(vector))
        elapsed = time.perf_counter_ns() - began
        return Call(elapsed, None, [v["key"] for v in response["vectors"]])

    return run


def through_lambda(client: Any, target: Target) -> Runner:
    """The bridge invoked with boto3's lambda client, as an application outside PostgreSQL would."""

    def run(vector: list[float]) -> Call:
        began = time.perf_counter_ns()
        answer = client.invoke(FunctionName=BRIDGE_FUNCTION,
                               Payload=json.dumps({"operation": "QueryVectors", "request": target.request(vector)}))
        result = json.loads(answer["Payload"].read())
        elapsed = time.perf_counter_ns() - began
        if answer.get("FunctionError") or "error" in result:
            raise RuntimeError(f"the bridge failed: {result}")
        return Call(elapsed, None, [v["key"] for v in result["response"]["vectors"]])

    return run


def sql_join(conn: psycopg.Connection[Any], target: Target, *, binary: bool = False) -> Runner:
    """The SQL round trip: query_vectors joined with products, one prepared statement."""
    fixed = (target.bucket, target.index)
    statement = SQL_JOIN_BINARY if binary else SQL_JOIN

    def run(vector: list[float]) -> Call:
        began = time.perf_counter_ns()
        rows = conn.execute(statement, (*fixed, vector, target.top_k), prepare=True).fetchall()
        elapsed = time.perf_counter_ns() - began
        return Call(elapsed, None, [str(row[0]) for row in rows])

    return run


def sql_noop_invoke(conn: psycopg.Connection[Any], target: Target) -> Runner:
    """aws_lambda.invoke of the no-op function from SQL, with the event query_vectors would send."""

    def run(vector: list[float]) -> Call:
        began = time.perf_counter_ns()
        rows = conn.execute(SQL_NOOP_INVOKE, (target.bucket, target.index, target.top_k, vector),
                            prepare=True).fetchall()
        elapsed = time.perf_counter_ns() - began
        if len(rows) != 1 or "response" not in rows[0][0]:
            raise RuntimeError(f"the no-op function answered {rows!r}")
        return Call(elapsed, None, None)

    return run
