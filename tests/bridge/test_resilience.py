"""The bridge against a store that throttles, hangs or is down, through a real function host."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from pgs3v.bridge.handler import handler
from pgs3v.bridge.process import FunctionHostProcess
from tests.bridge.conftest import call, invoke, set_bridge_environment, start_host, unique, vectors
from tests.support import StoreProcess, client

WRITE_RATE = 5


@pytest.fixture(scope="module")
def throttled_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreProcess]:
    """A store that answers 429 past 5 write requests per second per index."""
    store = StoreProcess(tmp_path_factory.mktemp("throttled"),
                         extra_args=("--limit", f"max_write_requests_per_second={WRITE_RATE}"))
    store.start()
    try:
        yield store
    finally:
        store.stop()


@pytest.fixture
def throttled_index(throttled_store: StoreProcess) -> dict[str, str]:
    s3v = client(throttled_store.endpoint)
    bucket, index = unique("slow"), unique("idx")
    s3v.create_vector_bucket(vectorBucketName=bucket)
    s3v.create_index(vectorBucketName=bucket, indexName=index, dataType="float32", dimension=4,
                     distanceMetric="cosine")
    return {"vectorBucketName": bucket, "indexName": index}


def test_a_burst_of_writes_all_succeed_thanks_to_the_retries(throttled_store: StoreProcess,
                                                            throttled_index: dict[str, str]) -> None:
    # 8 invocations at once, each split into 2 PutVectors calls: 16 writes against a budget of 5
    # per second, so some are throttled, and the retries (up to 12 attempts) carry them all through.
    host = start_host(throttled_store.endpoint, PGS3V_BRIDGE_MAX_ATTEMPTS="12", PGS3V_BRIDGE_LOG_LEVEL="INFO")
    try:
        lambda_client = host.client(max_pool_connections=16)

        def put(batch: int) -> Any:
            request = {**throttled_index, "vectors": vectors(600, start=batch * 600)}
            return invoke(lambda_client, {"operation": "PutVectors", "request": request}, LogType="Tail")

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(put, range(8)))
    finally:
        host.stop()
    assert [result.payload for result in results] == [{"response": {}}] * 8
    assert any("TooManyRequestsException, retrying in" in (result.log or "") for result in results)
    s3v = client(throttled_store.endpoint)
    keys = {v["key"] for page in s3v.get_paginator("list_vectors").paginate(**throttled_index) for v in page["vectors"]}
    assert len(keys) == 8 * 600


@pytest.mark.usefixtures("in_process_bridge")
def test_without_retries_the_same_store_answers_429_with_its_code(throttled_store: StoreProcess,
                                                                  throttled_index: dict[str, str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # One attempt per call: botocore's own retries are off, so the throttling reaches SQL as is.
    set_bridge_environment(monkeypatch, throttled_store.endpoint, PGS3V_BRIDGE_MAX_ATTEMPTS="1")
    answers = [handler({"operation": "PutVectors", "request": {**throttled_index, "vectors": vectors(1, start=n)}},
                       None) for n in range(4 * WRITE_RATE)]
    errors = [answer["error"] for answer in answers if "error" in answer]
    assert errors, "twenty writes in a row never passed five per second"
    assert {(error["code"], error["httpStatus"]) for error in errors} == {("TooManyRequestsException", 429)}


@pytest.fixture
def hung_store() -> Iterator[socket.socket]:
    """A port that accepts connections and never answers; closed, it is a store that is down."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield listener
    finally:
        listener.close()


def test_a_hung_or_stopped_store_is_service_unavailable_within_the_timeout(hung_store: socket.socket) -> None:
    endpoint = f"http://127.0.0.1:{hung_store.getsockname()[1]}"
    host: FunctionHostProcess = start_host(endpoint, PGS3V_BRIDGE_READ_TIMEOUT="0.5",
                                           PGS3V_BRIDGE_CONNECT_TIMEOUT="0.5")
    try:
        lambda_client = host.client()
        hung = call(lambda_client, "ListVectorBuckets", {})
        assert hung == {"error": {"code": "ServiceUnavailableException", "httpStatus": 503,
                                  "message": f"the vector store at {endpoint} did not answer within 0.5 s"}}
        hung_store.close()
        down = call(lambda_client, "GetVectors", {"vectorBucketName": "some-bucket", "indexName": "some-index",
                                                  "keys": ["a"]})["error"]
        assert (down["code"], down["httpStatus"]) == ("ServiceUnavailableException", 503)
        assert down["message"].startswith(f"the vector store at {endpoint} is unreachable: ")
    finally:
        host.stop()
