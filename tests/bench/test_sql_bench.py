"""``pgs3v bench sql`` at a tiny size: every figure is there, every path finds the direct call's keys.

Timings are never asserted: this machine is shared, and the benchmark is what measures them.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import numpy as np
import pytest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from click.testing import CliRunner
from rich.console import Console

from pgs3v.bench import register
from pgs3v.bench.host_functions import canned_query_answer
from pgs3v.bench.lean_store_client import LeanStoreClient
from pgs3v.bench.measurements import write_json
from pgs3v.bench.report import print_report
from pgs3v.bench.sql_bench import (
    FIRST_CALL_WORKLOAD,
    TARGET_ADDED_P50_MS,
    SqlBenchParameters,
    query_vectors,
    run_sql_bench,
)
from pgs3v.bench.sql_systems import (
    DIRECT,
    DIRECT_WIRE,
    LAMBDA,
    LEAN_CLIENT,
    SQL,
    SQL_BINARY,
    SQL_INVOKE,
    SQL_LEAN,
    SYSTEMS,
)
from pgs3v.stack.postgres import missing_packages
from tests.support import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, StoreProcess, error_of

TINY = SqlBenchParameters(queries=12, top_k=5, rounds=3, products=600, seed=3, warmup_queries=2, new_sessions=3)
LATENCY = ("p50_ms", "p95_ms", "p99_ms", "mean_ms", "calls")
ANSWERING = (LEAN_CLIENT, LAMBDA, SQL, SQL_BINARY, SQL_LEAN)


@pytest.fixture(scope="module")
def tiny_run() -> Iterator[tuple[dict[str, Any], str]]:
    """(the JSON document, the printed report) of one tiny run against real servers."""
    if missing_packages():
        reason = f"PostgreSQL packages missing: apt-get install -y {' '.join(missing_packages())}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    output = io.StringIO()
    console = Console(file=output, width=140)
    result = run_sql_bench(TINY, console)
    print_report(result, console)
    path = write_json(result, Path(result.notes["data_dir"] + "-figures.json"))
    try:
        yield json.loads(path.read_text(encoding="utf-8")), output.getvalue()
    finally:
        path.unlink()


def figures(document: dict[str, Any]) -> dict[tuple[str, str, str], float]:
    """(workload, system, metric) → value of every measurement in a results document."""
    return {(m["workload"], m["system"], m["metric"]): m["value"] for m in document["measurements"]}


def test_every_path_has_its_latency_and_what_it_adds(tiny_run: tuple[dict[str, Any], str]) -> None:
    document, _ = tiny_run
    found = figures(document)
    assert set(document["systems"]) == set(SYSTEMS)
    for system in SYSTEMS:
        assert {("query", system, metric) for metric in LATENCY} <= set(found), system
        assert found[("query", system, "calls")] == TINY.queries
        if system != DIRECT:
            added = found[("query", system, "added_p50_ms")]
            assert added == pytest.approx(found[("query", system, "p50_ms")] - found[("query", DIRECT, "p50_ms")])
    # The wire part of a call is part of the call.
    assert found[("query", DIRECT_WIRE, "added_p50_ms")] < 0
    ratios = {(r["system"], r["metric"]): r for r in document["ratios"]}
    assert {r["baseline"] for r in ratios.values()} == {DIRECT}
    assert ratios[(SQL, "p50_ms")]["value"] == pytest.approx(
        found[("query", SQL, "p50_ms")] / found[("query", DIRECT, "p50_ms")])


def test_every_path_finds_the_keys_of_the_direct_call(tiny_run: tuple[dict[str, Any], str]) -> None:
    found = figures(tiny_run[0])
    assert {system: found[("query", system, "same_keys_as_direct")] for system in ANSWERING} == dict.fromkeys(
        ANSWERING, 1.0)
    assert ("query", SQL_INVOKE, "same_keys_as_direct") not in found  # the no-op answers made-up keys


def test_the_json_says_how_it_ran_and_the_verdict(tiny_run: tuple[dict[str, Any], str]) -> None:
    document, report = tiny_run
    assert document["benchmark"] == "sql"
    assert document["command"] == ("pgs3v bench sql --queries 12 --top-k 5 --rounds 3 --products 600 --seed 3 "
                                   "--new-sessions 3")
    notes = document["notes"]
    target = notes["target"]
    assert target["limit_added_p50_ms"] == TARGET_ADDED_P50_MS
    assert target["met"] == (target["sql_added_p50_ms"] <= TARGET_ADDED_P50_MS)
    assert notes["data"]["products"] == 600 and notes["data"]["dimension"] == 384
    assert notes["postgres"].startswith("15.")
    assert len(notes["round_p50_ms"][SQL]) == len(notes["sql_added_p50_ms_per_round"]) == 3
    assert notes["server_exit_code"] in (0, -15) and notes["function_host_exit_code"] in (0, -15)
    assert not Path(notes["data_dir"]).exists()  # removed without --keep-data
    assert "p50 added" in report and SQL_LEAN in report and "warning" not in report


def test_the_first_call_in_new_sessions_is_timed_next_to_the_second(tiny_run: tuple[dict[str, Any], str]) -> None:
    document, report = tiny_run
    found = figures(document)
    assert {(FIRST_CALL_WORKLOAD, SQL, metric) for metric in LATENCY} <= set(found)
    assert found[(FIRST_CALL_WORKLOAD, SQL, "calls")] == TINY.new_sessions
    # The first call of each new session finds the direct call's keys for the same query.
    assert found[(FIRST_CALL_WORKLOAD, SQL, "same_keys_as_direct")] == 1.0
    first = document["notes"]["first_call"]
    assert first["sessions"] == TINY.new_sessions
    assert first["first_call_p50_ms"] == pytest.approx(found[(FIRST_CALL_WORKLOAD, SQL, "p50_ms")])
    assert first["second_call_p50_ms"] > 0 and first["connect_p50_ms"] > 0
    assert first["first_over_second_p50"] == pytest.approx(first["first_call_p50_ms"] / first["second_call_p50_ms"])
    assert first["statement"].startswith("SELECT q.key, p.name, q.distance")
    assert FIRST_CALL_WORKLOAD in report and "first_calls_s" in document["notes"]["phases_s"]


def test_the_ann_benchmark_options_belong_before_no_subcommand() -> None:
    @click.group()
    def main() -> None:
        """A stand-in for the pgs3v command group."""

    register(main)
    runner = CliRunner()
    outcome = runner.invoke(main, ["bench", "--vectors", "600", "sql"])
    assert outcome.exit_code == 2
    assert "--vectors: option(s) of the ANN benchmark" in outcome.output
    assert "sql" in runner.invoke(main, ["bench", "--help"]).output
    assert "--rounds" in runner.invoke(main, ["bench", "sql", "--help"]).output
    assert "--new-sessions" in runner.invoke(main, ["bench", "sql", "--help"]).output


def test_query_vectors_are_seeded_unit_float32_lists() -> None:
    embeddings = np.random.default_rng(0).standard_normal((50, 8)).astype(np.float32)
    first, again, other = (query_vectors(embeddings, 5, seed) for seed in (1, 1, 2))
    assert first == again and first != other
    assert np.allclose(np.linalg.norm(np.asarray(first), axis=1), 1.0, atol=1e-6)
    assert all(float(np.float32(v)) == v for vector in first for v in vector)


def test_the_canned_answer_has_top_k_rows() -> None:
    answer = canned_query_answer({"operation": "QueryVectors", "request": {"topK": 3}}, None)
    assert [v["key"] for v in answer["response"]["vectors"]] == ["canned-00000", "canned-00001", "canned-00002"]
    assert len(canned_query_answer("not an event", None)["response"]["vectors"]) == 10


def test_the_lean_client_answers_like_boto3(store_server: StoreProcess, s3v: Any, bucket: str) -> None:
    s3v.create_index(vectorBucketName=bucket, indexName="lean", dataType="float32", dimension=3,
                     distanceMetric="euclidean")
    s3v.put_vectors(vectorBucketName=bucket, indexName="lean", vectors=[
        {"key": "a", "data": {"float32": [1.0, 0.0, 0.0]}, "metadata": {"n": 1}},
        {"key": "b", "data": {"float32": [0.0, 2.0, 0.0]}, "metadata": {"n": 2}},
    ])
    client = LeanStoreClient(store_server.endpoint, Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), REGION)
    try:
        request = {"vectorBucketName": bucket, "indexName": "lean", "topK": 2,
                   "queryVector": {"float32": [0.0, 1.0, 0.0]}, "returnDistance": True, "returnMetadata": True}
        expected = s3v.query_vectors(**request)
        expected.pop("ResponseMetadata")
        assert client.call("QueryVectors", request) == expected
        assert client.call("QueryVectors", request) == expected  # again, on the kept-alive connection
        with pytest.raises(ClientError) as raised:
            client.call("QueryVectors", {**request, "indexName": "missing"})
        code, status, _ = error_of(s3v.query_vectors, **{**request, "indexName": "missing"})
        answered = raised.value.response
        assert (answered["Error"]["Code"], answered["ResponseMetadata"]["HTTPStatusCode"]) == (code, status)
        assert (code, status) == ("NotFoundException", 404)
    finally:
        client.close()
    forged = LeanStoreClient(store_server.endpoint, Credentials(ACCESS_KEY_ID, "wrong-secret"), REGION)
    with pytest.raises(ClientError) as refused:
        forged.call("ListVectorBuckets", {})
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    forged.close()
