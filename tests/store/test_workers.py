"""``pgs3v store serve --workers N``: several store processes on one address over shared storage.

Real processes throughout: the parent hands connections to its workers, which share a file://
object directory (and, in one test, a SeaweedFS bucket).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from pgs3v.child_server import PGS3V_COMMAND
from pgs3v.stack.seaweedfs import SeaweedFS
from tests.support import StoreProcess, client, seaweedfs_store

DIMENSION = 8


def _workers_of(parent: int) -> list[int]:
    """The worker processes of the server ``parent`` (multiprocessing's spawned children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == parent and b"multiprocessing" in command and b"resource_tracker" not in command:
            found.append(int(entry.name))
    return sorted(found)


def _file_store(tmp_path: Path, workers: int = 2) -> StoreProcess:
    objects = (tmp_path / "objects").as_uri()
    return StoreProcess(tmp_path / "data", extra_args=("--storage", objects, "--workers", str(workers)))


def _vectors(rows: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((rows, DIMENSION)).astype(np.float32)


def _put(s3v: object, start: int, rows: np.ndarray) -> None:
    batch = [{"key": f"k{start + i}", "data": {"float32": row.tolist()}} for i, row in enumerate(rows)]
    s3v.put_vectors(vectorBucketName="shared", indexName="idx", vectors=batch)  # type: ignore[attr-defined]


def test_two_workers_serve_one_address_and_see_each_others_writes(tmp_path: Path) -> None:
    store = _file_store(tmp_path).start()
    try:
        assert store.process is not None
        assert len(_workers_of(store.process.pid)) == 2
        # Two clients, two kept-alive connections: the parent hands them to different workers.
        first, second = client(store.endpoint), client(store.endpoint)
        first.create_vector_bucket(vectorBucketName="shared")
        second.create_index(vectorBucketName="shared", indexName="idx", dataType="float32", dimension=DIMENSION,
                            distanceMetric="euclidean")
        rows = _vectors(40, seed=1)
        for start in range(0, 40, 10):  # alternate writers, each write read back through the other
            writer, reader = (first, second) if start % 20 == 0 else (second, first)
            _put(writer, start, rows[start:start + 10])
            answer = reader.query_vectors(vectorBucketName="shared", indexName="idx", topK=1,
                                          queryVector={"float32": rows[start + 9].tolist()})
            assert answer["vectors"][0]["key"] == f"k{start + 9}"
        for s3v in (first, second):
            listed = s3v.get_paginator("list_vectors").paginate(vectorBucketName="shared", indexName="idx")
            assert sorted(v["key"] for page in listed for v in page["vectors"]) == sorted(f"k{i}" for i in range(40))
        first.delete_vectors(vectorBucketName="shared", indexName="idx", keys=["k0"])
        gone = second.get_vectors(vectorBucketName="shared", indexName="idx", keys=["k0", "k1"])
        assert [v["key"] for v in gone["vectors"]] == ["k1"]
    finally:
        assert store.stop() is not None
    assert store.exit_code == 0


def test_a_killed_worker_is_replaced_and_nothing_acknowledged_is_lost(tmp_path: Path) -> None:
    store = _file_store(tmp_path).start()
    try:
        assert store.process is not None
        s3v = client(store.endpoint)
        s3v.create_vector_bucket(vectorBucketName="shared")
        s3v.create_index(vectorBucketName="shared", indexName="idx", dataType="float32", dimension=DIMENSION,
                         distanceMetric="euclidean")
        rows = _vectors(20, seed=2)
        _put(s3v, 0, rows)
        before = _workers_of(store.process.pid)
        os.kill(before[0], signal.SIGKILL)
        deadline = time.monotonic() + 60
        while True:
            now = _workers_of(store.process.pid)
            if len(now) == 2 and before[0] not in now:
                break
            assert time.monotonic() < deadline, f"the killed worker was not replaced: {now}"
            time.sleep(0.1)
        for fresh in (client(store.endpoint), client(store.endpoint)):  # whichever worker answers
            got = fresh.get_vectors(vectorBucketName="shared", indexName="idx", keys=[f"k{i}" for i in range(20)])
            assert len(got["vectors"]) == 20
        assert "starting it again" in store.log_text()
    finally:
        store.stop()
    assert store.exit_code == 0


def test_workers_share_a_bucket(seaweedfs: SeaweedFS, tmp_path: Path) -> None:
    store, environ = seaweedfs_store(seaweedfs, tmp_path / "data", ("--workers", "2"))
    store.start(environ)
    try:
        first, second = client(store.endpoint), client(store.endpoint)
        first.create_vector_bucket(vectorBucketName="shared")
        first.create_index(vectorBucketName="shared", indexName="idx", dataType="float32", dimension=DIMENSION,
                           distanceMetric="cosine")
        rows = _vectors(10, seed=3)
        _put(second, 0, rows)
        answer = first.query_vectors(vectorBucketName="shared", indexName="idx", topK=1,
                                     queryVector={"float32": rows[4].tolist()})
        assert answer["vectors"][0]["key"] == "k4"
    finally:
        store.stop()


@pytest.mark.parametrize(("storage", "message"), [
    ((), "--workers needs storage several processes can share: --storage file:///DIRECTORY"),
    (("--storage", "file://relative/path"), "expected file:///ABSOLUTE/DIRECTORY"),
])
def test_workers_refuse_storage_they_cannot_share(tmp_path: Path, storage: tuple[str, ...], message: str) -> None:
    finished = subprocess.run(
        [*PGS3V_COMMAND, "store", "serve", "--data-dir", str(tmp_path / "data"), "--port", "0", "--workers", "2",
         *storage], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert finished.returncode == 1
    assert message in finished.stderr
    assert "Traceback" not in finished.stderr


@pytest.mark.parametrize("objects", ["data", "data/cache/objects", "."])
def test_file_storage_must_not_be_the_data_directory_or_its_cache(tmp_path: Path, objects: str) -> None:
    finished = subprocess.run(
        [*PGS3V_COMMAND, "store", "serve", "--data-dir", str(tmp_path / "data"), "--port", "0",
         "--storage", (tmp_path / objects).resolve().as_uri()], capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL)
    assert finished.returncode == 1
    assert "must be neither the data directory" in finished.stderr


def test_a_starting_server_leaves_another_servers_new_index_alone(tmp_path: Path) -> None:
    """Index objects the catalog does not name yet may be a CreateIndex in progress on another server."""
    from pgs3v.store.storage.local_objects import LocalObjects

    objects = LocalObjects(tmp_path / "objects")
    objects.put("indexes/0123456789abcdef0123456789abcdef/wal/00000000000000000001", b"half made")
    store = StoreProcess(tmp_path / "data", extra_args=("--storage", (tmp_path / "objects").as_uri())).start()
    try:
        client(store.endpoint).list_vector_buckets()
    finally:
        store.stop()
    kept = [info.key for info in objects.list("indexes/")]
    assert kept == ["indexes/0123456789abcdef0123456789abcdef/wal/00000000000000000001"]
