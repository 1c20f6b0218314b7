"""The indexed engine behind the HTTP API: background indexing, its status, optimize, restarts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.support import StoreProcess, client, engine_client, error_of

DIMENSION = 16
COUNT = 1500
SMALL_ENGINE = (
    "--limit", "index_fold_rows=300", "--limit", "index_ann_min_floats=1600", "--limit", "index_fold_idle_ms=50",
    "--limit", "index_merge_width=3",
)


def _data() -> tuple[np.ndarray, list[dict[str, Any]]]:
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((COUNT, DIMENSION)).astype(np.float32)
    metadata = [{"band": i % 500, "parity": "even" if i % 2 == 0 else "odd"} for i in range(COUNT)]
    return vectors, metadata


def _wait_until_indexed(engine: Any, index: dict[str, str]) -> dict[str, Any]:
    """Wait until every write is folded and committed, and every segment has its approximate index.

    A fold empties the tail a moment before its manifest commits, so an empty tail alone can be seen
    with the previous watermark: the commit is what makes the fold durable, so wait for it too.
    Folds write plain segments; the merger indexes them (here every segment is large enough).
    """
    deadline = time.monotonic() + 120
    while True:
        state: dict[str, Any] = engine.call("Pgs3vDescribeIndexEngine", index)["engine"]
        folded = state["unindexedRows"] == 0 and state["indexedLsn"] == state["appliedLsn"]
        if folded and state["segments"] and all(s["approximate"] for s in state["segments"]):
            return state
        assert time.monotonic() < deadline, f"the indexer did not catch up: {state}"
        time.sleep(0.05)


def _exact(vectors: np.ndarray, query: np.ndarray, rows: np.ndarray, k: int) -> list[str]:
    block = vectors[rows].astype(np.float64)
    point = query.astype(np.float64)
    distance = 1 - block @ point / (np.linalg.norm(block, axis=1) * np.linalg.norm(point))
    return [f"v{rows[i]}" for i in np.argsort(distance, kind="stable")[:k]]


@pytest.fixture
def small_engine_server(tmp_path: Path) -> Any:
    server = StoreProcess(tmp_path / "data", extra_args=SMALL_ENGINE).start()
    try:
        yield server
    finally:
        server.stop()


def test_background_indexing_keeps_answers_right_across_restarts(small_engine_server: StoreProcess) -> None:
    server = small_engine_server
    s3v, engine = client(server.endpoint), engine_client(server.endpoint)
    s3v.create_vector_bucket(vectorBucketName="engine")
    s3v.create_index(vectorBucketName="engine", indexName="ann", dataType="float32", dimension=DIMENSION,
                     distanceMetric="cosine")
    index = {"vectorBucketName": "engine", "indexName": "ann"}
    vectors, metadata = _data()
    for start in range(0, COUNT, 250):
        s3v.put_vectors(**index, vectors=[
            {"key": f"v{i}", "data": {"float32": vectors[i].tolist()}, "metadata": metadata[i]}
            for i in range(start, start + 250)])
    state = _wait_until_indexed(engine, index)
    assert state["vectors"] == COUNT

    # Writes after indexing: an overwrite and a delete of indexed rows, seen at once.
    s3v.put_vectors(**index, vectors=[{"key": "v7", "data": {"float32": (-vectors[0]).tolist()},
                                       "metadata": {"band": 9999}}])
    s3v.delete_vectors(**index, keys=["v8"])
    vectors[7] = -vectors[0]
    metadata[7] = {"band": 9999}

    def check() -> None:
        assert "v8" not in {v["key"] for v in s3v.get_vectors(**index, keys=["v8", "v9"])["vectors"]}
        # A filter that one row matches returns that row, however deep it is in the ranking.
        only = s3v.query_vectors(**index, topK=5, queryVector={"float32": vectors[0].tolist()},
                                 filter={"band": 9999}, returnMetadata=True)["vectors"]
        assert [(v["key"], v["metadata"]) for v in only] == [("v7", {"band": 9999})]
        # A filter matching 3 rows returns all 3; topK rows whenever that many match.
        three = s3v.query_vectors(**index, topK=10, queryVector={"float32": vectors[1].tolist()},
                                  filter={"band": 11})["vectors"]
        assert sorted(v["key"] for v in three) == ["v1011", "v11", "v511"]
        alive = np.array([i != 8 for i in range(COUNT)])
        hits = 0
        for q in range(20):
            query = vectors[100 + q]
            got = s3v.query_vectors(**index, topK=10, queryVector={"float32": query.tolist()})["vectors"]
            assert len(got) == 10
            truth = _exact(vectors, query, np.flatnonzero(alive), 10)
            hits += len({v["key"] for v in got} & set(truth))
            assert got[0]["key"] == f"v{100 + q}"  # the vector itself is always found
        # Approximate, re-ranked exactly; segment layout depends on timing, so judge the mean.
        assert hits >= 0.9 * 20 * 10
        listed = [v["key"] for p in s3v.get_paginator("list_vectors").paginate(**index) for v in p["vectors"]]
        assert sorted(listed) == sorted(f"v{i}" for i in range(COUNT) if i != 8)

    check()
    optimized = engine.call("Pgs3vOptimizeIndex", index)["engine"]
    assert len(optimized["segments"]) == 1 and optimized["unindexedRows"] == 0
    assert optimized["segments"][0]["rows"] == COUNT - 1
    check()
    server.stop()
    server.start()
    s3v, engine = client(server.endpoint), engine_client(server.endpoint)
    assert engine.call("Pgs3vDescribeIndexEngine", index)["engine"]["segments"] == optimized["segments"]
    check()


def test_engine_operations_answer_like_the_api(small_engine_server: StoreProcess) -> None:
    engine = engine_client(small_engine_server.endpoint)
    code, status, _ = error_of(engine.call, "Pgs3vDescribeIndexEngine", {"vectorBucketName": "nope",
                                                                          "indexName": "none"})
    assert (code, status) == ("NotFoundException", 404)
    code, status, _ = error_of(engine.call, "Pgs3vOptimizeIndex", {"vectorBucketName": 5, "indexName": "x"})
    assert (code, status) == ("ValidationException", 400)
    code, status, _ = error_of(engine.call, "Pgs3vDescribeIndexEngine", {})
    assert (code, status) == ("ValidationException", 400)


def test_merges_keep_up_under_a_steady_write_load(tmp_path: Path) -> None:
    """Folds are due all the time here; merges must still run, or segments pile up."""
    server = StoreProcess(tmp_path / "data", extra_args=(
        "--limit", "index_fold_rows=20", "--limit", "index_fold_idle_ms=1", "--limit", "index_merge_width=2",
    )).start()
    try:
        s3v, engine = client(server.endpoint), engine_client(server.endpoint)
        s3v.create_vector_bucket(vectorBucketName="steady")
        s3v.create_index(vectorBucketName="steady", indexName="churn", dataType="float32", dimension=4,
                         distanceMetric="euclidean")
        index = {"vectorBucketName": "steady", "indexName": "churn"}
        for step in range(300):  # the same 40 keys over and over
            s3v.put_vectors(**index, vectors=[
                {"key": f"k{(step * 5 + j) % 40}", "data": {"float32": [float(step), float(j), 1.0, 2.0]}}
                for j in range(5)])
        state = engine.call("Pgs3vDescribeIndexEngine", index)["engine"]
        # 1,500 writes of 40 keys: without merges there would be dozens of dead segments.
        assert len(state["segments"]) <= 12, state
        assert state["vectors"] == 40
    finally:
        server.stop()
