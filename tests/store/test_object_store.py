"""The store on an S3-compatible bucket (SeaweedFS): its cache stays bounded, its errors are clear.

Durability under kill -9 on SeaweedFS is in test_durability.py (a fresh server with an empty
cache must answer every acknowledged write from the bucket alone).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import numpy as np

from pgs3v.child_server import PGS3V_COMMAND
from pgs3v.stack.seaweedfs import SeaweedFS
from tests.support import client, engine_client, error_of, seaweedfs_store

DIMENSION = 64
ROWS = 3000  # 768 KB of vectors per index: more than the 1 MiB cache holds for two indexes


def _cached_bytes(data_dir: Path) -> int:
    return sum(path.stat().st_size for path in (data_dir / "cache").rglob("*") if path.is_file())


def test_the_segment_cache_stays_bounded_and_refetches(seaweedfs: SeaweedFS, tmp_path: Path) -> None:
    options = ("--cache-mb", "1", "--limit", "max_open_indexes=1", "--limit", "index_fold_idle_ms=1",
              "--limit", "index_ann_min_floats=100000000")
    store, environ = seaweedfs_store(seaweedfs, tmp_path / "data", options)
    store.start(environ)
    try:
        s3v = client(store.endpoint)
        s3v.create_vector_bucket(vectorBucketName="cached")
        rng = np.random.default_rng(3)
        vectors = {}
        for number in range(3):
            name = f"index-{number}"
            s3v.create_index(vectorBucketName="cached", indexName=name, dataType="float32", dimension=DIMENSION,
                             distanceMetric="euclidean")
            vectors[name] = rng.standard_normal((ROWS, DIMENSION)).astype(np.float32)
            for start in range(0, ROWS, 500):
                batch = [{"key": f"k{i}", "data": {"float32": vectors[name][i].tolist()}}
                         for i in range(start, start + 500)]
                s3v.put_vectors(vectorBucketName="cached", indexName=name, vectors=batch)
        engine = engine_client(store.endpoint)
        for name in vectors:  # each opening closes the one before (one open index at most)
            index = {"vectorBucketName": "cached", "indexName": name}
            deadline = time.monotonic() + 60
            while engine.call("Pgs3vDescribeIndexEngine", index)["engine"]["unindexedRows"]:
                assert time.monotonic() < deadline, "the tail was never folded"
                time.sleep(0.05)
        # Folded segments of closed indexes beyond the cache's size are evicted; the open one stays.
        one_index = ROWS * DIMENSION * 4
        assert _cached_bytes(tmp_path / "data") <= (1 << 20) + 2 * one_index
        for name, rows in vectors.items():  # evicted segments are fetched again, and answer exactly
            query = rows[7] + 0.001
            answer = s3v.query_vectors(vectorBucketName="cached", indexName=name,
                                       queryVector={"float32": query.tolist()}, topK=1)
            assert answer["vectors"][0]["key"] == "k7"
    finally:
        store.stop()


def test_missing_bucket_credentials_are_a_clear_error(tmp_path: Path) -> None:
    environ = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    result = subprocess.run([*PGS3V_COMMAND, "store", "serve", "--data-dir", str(tmp_path), "--port", "1",
                             "--storage", "s3://some-bucket/prefix", "--s3-endpoint", "http://127.0.0.1:1"],
                            env=environ, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "AWS_ACCESS_KEY_ID" in result.stderr and "Traceback" not in result.stderr


def test_wrong_bucket_credentials_are_a_clear_error(seaweedfs: SeaweedFS, tmp_path: Path) -> None:
    store, environ = seaweedfs_store(seaweedfs, tmp_path)
    environ["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"
    result = subprocess.run([*store.command()], env=environ, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "cannot use s3://pgs3v-tests/" in result.stderr and "Traceback" not in result.stderr


def test_two_servers_on_one_prefix_see_each_others_writes_at_once(seaweedfs: SeaweedFS, tmp_path: Path) -> None:
    first, environ = seaweedfs_store(seaweedfs, tmp_path / "first")
    prefix = first.extra_args[1].rsplit("/", 1)[1]
    second, _ = seaweedfs_store(seaweedfs, tmp_path / "second", prefix=prefix)
    index = {"vectorBucketName": "shared", "indexName": "both"}
    first.start(environ)
    second.start(environ)
    try:
        a, b = client(first.endpoint), client(second.endpoint)
        a.create_vector_bucket(vectorBucketName="shared")
        a.create_index(**index, dataType="float32", dimension=2, distanceMetric="cosine")
        assert [i["indexName"] for i in b.list_indexes(vectorBucketName="shared")["indexes"]] == ["both"]
        a.put_vectors(**index, vectors=[{"key": "from-a", "data": {"float32": [1, 0]}}])
        # Acknowledged by one server, visible to a query the other receives afterwards.
        found = b.query_vectors(**index, queryVector={"float32": [1, 0.1]}, topK=5)["vectors"]
        assert [v["key"] for v in found] == ["from-a"]
        b.put_vectors(**index, vectors=[{"key": "from-b", "data": {"float32": [0, 1]}}])  # fenced, caught up, written
        assert sorted(v["key"] for v in a.list_vectors(**index)["vectors"]) == ["from-a", "from-b"]
        a.delete_index(**index)
        assert error_of(b.get_vectors, **index, keys=["from-a"])[:2] == ("NotFoundException", 404)
        a.create_index(**index, dataType="float32", dimension=2, distanceMetric="cosine")  # the name again
        assert b.list_vectors(**index)["vectors"] == []
        a.create_vector_bucket(vectorBucketName="shared-too")  # a bucket B has never heard of
        assert b.get_vector_bucket(vectorBucketName="shared-too")["vectorBucket"]["vectorBucketName"] == "shared-too"
        assert error_of(b.get_vector_bucket, vectorBucketName="never-made")[:2] == ("NotFoundException", 404)
    finally:
        second.stop()
        first.stop()
