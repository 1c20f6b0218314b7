"""Write throttling: off by default, 429 TooManyRequestsException when configured."""

from __future__ import annotations

from pathlib import Path

from botocore.exceptions import ClientError

from pgs3v.store.api.throttle import TokenBucket
from tests.support import StoreProcess, client


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(10, clock=lambda: now[0])
    assert all(bucket.try_take(1) for _ in range(10))
    assert not bucket.try_take(1)
    now[0] += 0.5
    assert sum(bucket.try_take(1) for _ in range(10)) == 5
    now[0] += 100.0
    assert sum(bucket.try_take(1) for _ in range(20)) == 10  # holds at most one second's worth


def test_a_batch_larger_than_the_rate_passes_only_on_a_full_bucket() -> None:
    now = [0.0]
    bucket = TokenBucket(100, clock=lambda: now[0])
    assert bucket.try_take(500)
    assert not bucket.try_take(1)
    now[0] += 5.0
    assert bucket.try_take(1)


def test_store_answers_429_above_the_configured_write_rate(tmp_path: Path) -> None:
    server = StoreProcess(tmp_path / "data", extra_args=("--limit", "max_write_requests_per_second=1")).start()
    try:
        s3v = client(server.endpoint)
        s3v.create_vector_bucket(vectorBucketName="throttled")
        s3v.create_index(vectorBucketName="throttled", indexName="idx", dataType="float32", dimension=2,
                         distanceMetric="euclidean")
        index = {"vectorBucketName": "throttled", "indexName": "idx"}
        outcomes: list[object] = []
        for i in range(10):
            try:
                s3v.put_vectors(**index, vectors=[{"key": f"k{i}", "data": {"float32": [1.0, float(i)]}}])
                outcomes.append("ok")
            except ClientError as error:
                outcomes.append((error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]))
        # One write per second: a burst of ten gets through only a few times.
        assert outcomes[0] == "ok"
        assert ("TooManyRequestsException", 429) in outcomes
        assert set(outcomes) <= {"ok", ("TooManyRequestsException", 429)}
        # Reads are never throttled, and throttled writes left nothing behind.
        stored = {v["key"] for v in s3v.list_vectors(**index)["vectors"]}
        assert stored == {f"k{i}" for i, outcome in enumerate(outcomes) if outcome == "ok"}
    finally:
        server.stop()
