"""The benchmark's bulk PutVectors client against real store servers, checked with boto3."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from botocore.credentials import Credentials as BotoCredentials
from botocore.exceptions import ClientError

from pgs3v.bench.ingest import IngestError, ingest, put_vectors_body
from pgs3v.store.api.put_body import read_put_vectors
from tests.support import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, StoreProcess

CREDENTIALS = BotoCredentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
DIMENSION = 24


def _data(count: int, seed: int = 3) -> tuple[list[str], np.ndarray[Any, np.dtype[np.float32]], list[Any]]:
    rng = np.random.default_rng(seed)
    vectors = (rng.standard_normal((count, DIMENSION)) * rng.choice([1e-7, 0.04, 1.0, 3e5], (count, 1)))
    vectors = vectors.astype(np.float32)
    vectors[1, :3] = [-0.0, 1e-45, 3.4e38]  # a signed zero, the smallest subnormal, near the largest float32
    keys = [f"doc-{i:05d}" for i in range(count)]
    metadata = [None if i % 7 == 0 else {"band": i % 100, "category": f"cat-{i % 12:02d}", "tags": ["a", str(i)]}
                for i in range(count)]
    return keys, vectors, metadata


def _create_index(s3v: Any, bucket: str, index: str) -> None:
    s3v.create_index(vectorBucketName=bucket, indexName=index, dataType="float32", dimension=DIMENSION,
                     distanceMetric="cosine")


def test_every_vector_arrives_exactly(store_server: StoreProcess, s3v: Any, bucket: str) -> None:
    _create_index(s3v, bucket, "bulk")
    keys, vectors, metadata = _data(3000)
    reported: list[int] = []
    result = ingest(store_server.endpoint, CREDENTIALS, REGION, bucket, "bulk", keys, vectors, metadata,
                    clients=3, batch_size=250, progress=reported.append)
    assert (result.vectors, result.requests, result.retries) == (3000, 12, 0)
    assert result.seconds > 0 and result.vectors_per_second == pytest.approx(3000 / result.seconds)
    assert sorted(reported) == [250] * 12

    for start in range(0, len(keys), 100):
        got = s3v.get_vectors(vectorBucketName=bucket, indexName="bulk", keys=keys[start:start + 100],
                              returnData=True, returnMetadata=True)["vectors"]
        assert [v["key"] for v in got] == keys[start:start + 100]
        for position, vector in enumerate(got, start):
            sent = vectors[position]
            stored = np.array(vector["data"]["float32"], dtype=np.float32)
            assert stored.tobytes() == sent.tobytes(), vector["key"]
            assert vector["metadata"] == (metadata[position] or {})


def test_a_partial_last_batch_and_no_metadata(store_server: StoreProcess, s3v: Any, bucket: str) -> None:
    _create_index(s3v, bucket, "partial")
    keys, vectors, _ = _data(1234)
    result = ingest(store_server.endpoint, CREDENTIALS, REGION, bucket, "partial", keys, vectors.astype(np.float64),
                    clients=2, batch_size=500)
    assert (result.vectors, result.requests) == (1234, 3)
    listed = s3v.list_vectors(vectorBucketName=bucket, indexName="partial", maxResults=1000)
    count = len(listed["vectors"])
    while "nextToken" in listed:
        listed = s3v.list_vectors(vectorBucketName=bucket, indexName="partial", maxResults=1000,
                                  nextToken=listed["nextToken"])
        count += len(listed["vectors"])
    assert count == 1234


def test_the_store_reads_its_bodies_on_the_fast_path() -> None:
    keys, vectors, metadata = _data(500)
    body = put_vectors_body("bucket", "index", keys, vectors, metadata)
    read, ordinary = read_put_vectors(body), orjson.loads(body)
    assert read is not None
    assert [v["key"] for v in read["vectors"]] == keys
    assert [v.get("metadata") for v in read["vectors"]] == [v.get("metadata") for v in ordinary["vectors"]]
    assert np.stack([v["data"]["float32"] for v in read["vectors"]]).astype(np.float32).tobytes() == vectors.tobytes()


def test_an_api_error_surfaces_clearly(store_server: StoreProcess, s3v: Any, bucket: str) -> None:
    keys, vectors, metadata = _data(1000)
    with pytest.raises(IngestError, match=r"rows 0\.\.499 failed: NotFoundException \(HTTP 404\)") as caught:
        ingest(store_server.endpoint, CREDENTIALS, REGION, bucket, "no-such-index", keys, vectors, metadata,
               clients=1)
    assert isinstance(caught.value.__cause__, ClientError)

    _create_index(s3v, bucket, "narrow")
    wide = np.ones((10, DIMENSION + 1), dtype=np.float32)
    with pytest.raises(IngestError, match=r"ValidationException \(HTTP 400\): Invalid record for key 'k0': "
                                          r"vector must have length 24, but has length 25"):
        ingest(store_server.endpoint, CREDENTIALS, REGION, bucket, "narrow", [f"k{i}" for i in range(10)], wide)


def test_bad_input_is_refused_before_sending() -> None:
    keys, vectors, metadata = _data(10)
    for bad_vectors, bad_metadata in ((vectors[:5], metadata), (vectors, metadata[:5]), (vectors[0], None)):
        with pytest.raises(ValueError):
            ingest("http://127.0.0.1:9", CREDENTIALS, REGION, "b", "i", keys, bad_vectors, bad_metadata)
    vectors[3, 3] = np.nan
    with pytest.raises(ValueError, match="finite"):
        ingest("http://127.0.0.1:9", CREDENTIALS, REGION, "b", "i", keys, vectors)


def test_unreachable_store_is_a_clear_error() -> None:
    keys, vectors, _ = _data(10)
    with pytest.raises(IngestError, match=r"rows 0\.\.9 failed: Could not connect"):
        ingest("http://127.0.0.1:9", CREDENTIALS, REGION, "b", "i", keys, vectors, timeout=5)


def test_throttled_writes_are_retried(tmp_path: Path) -> None:
    server = StoreProcess(tmp_path / "data", extra_args=("--limit", "max_write_requests_per_second=4")).start()
    try:
        s3v = server.client()
        s3v.create_vector_bucket(vectorBucketName="throttled")
        _create_index(s3v, "throttled", "idx")
        keys, vectors, metadata = _data(120)
        result = ingest(server.endpoint, CREDENTIALS, REGION, "throttled", "idx", keys, vectors, metadata,
                        clients=2, batch_size=10)
        assert result.vectors == 120 and result.retries > 0 and result.requests == 12 + result.retries
        got = s3v.get_vectors(vectorBucketName="throttled", indexName="idx", keys=keys[-5:])["vectors"]
        assert [v["key"] for v in got] == keys[-5:]

        with pytest.raises(IngestError, match=r"still refused after 1 attempts: TooManyRequestsException \(HTTP 429\)"):
            ingest(server.endpoint, CREDENTIALS, REGION, "throttled", "idx", keys, vectors, clients=1,
                   batch_size=10, max_attempts=1)
    finally:
        server.stop()


def test_progress_calls_never_overlap(store_server: StoreProcess, s3v: Any, bucket: str) -> None:
    _create_index(s3v, bucket, "progress")
    keys, vectors, _ = _data(400)
    inside = threading.Lock()
    overlaps: list[int] = []

    def progress(count: int) -> None:
        if not inside.acquire(blocking=False):
            overlaps.append(count)
            return
        try:
            threading.Event().wait(0.01)
        finally:
            inside.release()

    ingest(store_server.endpoint, CREDENTIALS, REGION, bucket, "progress", keys, vectors, clients=4,
           batch_size=25, progress=progress)
    assert overlaps == []
