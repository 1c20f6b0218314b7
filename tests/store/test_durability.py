"""Acknowledged writes survive kill -9; unacknowledged ones are all-or-nothing."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from tests.support import StoreProcess, client, engine_client, seaweedfs_store

THREADS = 4
KEYS_PER_THREAD = 40
BATCH = 5
DIMENSION = 8

# Expected state of one key: None (absent) or (vector, metadata).
State = tuple[list[float], dict[str, Any]] | None


def _vector(thread: int, step: int, slot: int) -> list[float]:
    return [float(thread), float(step), float(slot), 1.0, 0.5, -0.5, 2.0, float(step % 7)]


def _writer(endpoint: str, index: dict[str, str], thread: int, acked: list[tuple[str, dict[str, State]]],
            in_flight: dict[int, dict[str, State]], stop: threading.Event) -> None:
    s3v = client(endpoint)
    step = 0
    while not stop.is_set():
        step += 1
        first = (step * BATCH) % KEYS_PER_THREAD
        keys = [f"t{thread}-k{(first + j) % KEYS_PER_THREAD}" for j in range(BATCH)]
        change: dict[str, State]
        call: Callable[[], Any]
        if step % 4 == 0:
            change = dict.fromkeys(keys)
            in_flight[thread] = change
            call = functools.partial(s3v.delete_vectors, **index, keys=keys)
        else:
            change = {k: (_vector(thread, step, j), {"step": step, "thread": thread}) for j, k in enumerate(keys)}
            in_flight[thread] = change
            vectors = [{"key": k, "data": {"float32": v[0]}, "metadata": v[1]} for k, v in change.items() if v]
            call = functools.partial(s3v.put_vectors, **index, vectors=vectors)
        try:
            call()
        except (BotoCoreError, ClientError):
            return  # the server died under us: this batch was never acknowledged
        acked.append((f"thread-{thread}", change))
        in_flight.pop(thread, None)


def _read_back(s3v: Any, index: dict[str, str], keys: list[str]) -> dict[str, State]:
    found: dict[str, State] = dict.fromkeys(keys)
    for start in range(0, len(keys), 100):
        got = s3v.get_vectors(**index, keys=keys[start:start + 100], returnData=True, returnMetadata=True)
        for item in got["vectors"]:
            found[item["key"]] = (item["data"]["float32"], item["metadata"])
    return found


# The indexer folds, builds and merges segments non-stop with these settings, so the kill
# lands at an arbitrary point of its commit protocol as well as of the log's.
BUSY_INDEXER = (
    "--limit", "index_fold_rows=20", "--limit", "index_ann_min_floats=128", "--limit", "index_fold_idle_ms=1",
    "--limit", "index_merge_width=2",
)


def _servers(storage: str, engine_args: tuple[str, ...], tmp_path: Path,
             request: pytest.FixtureRequest) -> tuple[StoreProcess, StoreProcess, dict[str, str] | None]:
    """The server to kill and the one to restart: the same one on a data directory; on SeaweedFS,
    a fresh server with an empty cache over the same bucket prefix, so everything it answers
    must have been in the bucket."""
    if storage == "local":
        server = StoreProcess(tmp_path / "data", extra_args=engine_args)
        return server, server, None
    seaweedfs = request.getfixturevalue("seaweedfs")
    first, environ = seaweedfs_store(seaweedfs, tmp_path / "first", engine_args)
    prefix = first.extra_args[1].rsplit("/", 1)[1]
    second, _ = seaweedfs_store(seaweedfs, tmp_path / "second", engine_args, prefix=prefix)
    return first, second, environ


@pytest.mark.parametrize("storage", ["local", "seaweedfs"])
@pytest.mark.parametrize("engine_args", [(), BUSY_INDEXER], ids=["default-engine", "busy-indexer"])
def test_acknowledged_writes_survive_sigkill(tmp_path: Path, engine_args: tuple[str, ...], storage: str,
                                             request: pytest.FixtureRequest) -> None:
    server, restarted, environ = _servers(storage, engine_args, tmp_path, request)
    server.start(environ)
    try:
        s3v = client(server.endpoint)
        s3v.create_vector_bucket(vectorBucketName="durable")
        s3v.create_index(vectorBucketName="durable", indexName="crash", dataType="float32", dimension=DIMENSION,
                         distanceMetric="euclidean")
        index = {"vectorBucketName": "durable", "indexName": "crash"}
        acked: list[tuple[str, dict[str, State]]] = []
        in_flight: dict[int, dict[str, State]] = {}
        stop = threading.Event()
        threads = [threading.Thread(target=_writer, args=(server.endpoint, index, t, acked, in_flight, stop))
                   for t in range(THREADS)]
        for thread in threads:
            thread.start()
        # Kill once plenty of writes are acknowledged (and, with the busy indexer, segments
        # were built and merged), while all writers are still mid-stream.
        engine = engine_client(server.endpoint)
        merged = not engine_args
        deadline = time.monotonic() + 120
        while (len(acked) < 400 or not merged) and all(t.is_alive() for t in threads):
            threading.Event().wait(0.01)
            if not merged:
                state = engine.call("Pgs3vDescribeIndexEngine", index)["engine"]
                segments = state["segments"]
                merged = any(int(s["name"].split("-")[1]) > len(segments) for s in segments)
                assert merged or time.monotonic() < deadline, f"no merge happened: {state}"
        server.kill()
        stop.set()
        for thread in threads:
            thread.join()
        assert len(acked) >= 400

        expected: dict[str, State] = {}
        for _, change in acked:
            expected.update(change)
        server = restarted.start(environ)
        s3v = client(server.endpoint)
        all_keys = [f"t{t}-k{k}" for t in range(THREADS) for k in range(KEYS_PER_THREAD)]
        found = _read_back(s3v, index, all_keys)
        pending = {key: state for change in in_flight.values() for key, state in change.items()}
        for key in all_keys:
            state = found[key]
            # An unacknowledged batch may or may not have landed, but nothing else may differ.
            assert state == expected.get(key) or (key in pending and state == pending[key]), key
        for change in in_flight.values():
            landed = [found[key] == state for key, state in change.items()]
            unchanged = [found[key] == expected.get(key) for key in change]
            assert all(landed) or all(unchanged), "a batch was applied partially"
        listed = [v["key"] for p in s3v.get_paginator("list_vectors").paginate(**index) for v in p["vectors"]]
        assert sorted(listed) == sorted(k for k, v in found.items() if v is not None)
    finally:
        server.stop()


def test_management_survives_sigkill(tmp_path: Path) -> None:
    server = StoreProcess(tmp_path / "data").start()
    try:
        s3v = client(server.endpoint)
        s3v.create_vector_bucket(vectorBucketName="kept", tags={"a": "b"})
        s3v.create_index(vectorBucketName="kept", indexName="gone", dataType="float32", dimension=2,
                         distanceMetric="cosine")
        s3v.create_index(vectorBucketName="kept", indexName="stays", dataType="float32", dimension=2,
                         distanceMetric="cosine")
        s3v.put_vectors(vectorBucketName="kept", indexName="gone", vectors=[{"key": "x", "data": {"float32": [1, 0]}}])
        s3v.delete_index(vectorBucketName="kept", indexName="gone")
        s3v.put_vector_bucket_policy(vectorBucketName="kept", policy='{"Statement": []}')
        server.kill()
        server.start()
        s3v = client(server.endpoint)
        assert [i["indexName"] for i in s3v.list_indexes(vectorBucketName="kept")["indexes"]] == ["stays"]
        assert s3v.get_vector_bucket_policy(vectorBucketName="kept")["policy"] == '{"Statement": []}'
        assert s3v.list_tags_for_resource(resourceArn="arn:aws:s3vectors:us-east-1:000000000000:bucket/kept")[
            "tags"] == {"a": "b"}
        # A re-created index with a deleted one's name starts empty.
        s3v.create_index(vectorBucketName="kept", indexName="gone", dataType="float32", dimension=2,
                         distanceMetric="cosine")
        assert s3v.list_vectors(vectorBucketName="kept", indexName="gone")["vectors"] == []
    finally:
        server.stop()


def test_sigterm_shuts_down_cleanly(tmp_path: Path) -> None:
    server = StoreProcess(tmp_path / "data").start()
    server.stop()
    # Exit status 0, not -15: the store got to close its logs after the server loop ended.
    assert server.exit_code == 0
