"""No request, accepted or rejected, leaves its payload reachable once it is answered.

A rejected PutVectors raised its error deep in validation; the traceback kept every frame it
passed through, and those frames the parsed body: tens of MB per request, in reference cycles
that only the cyclic collector frees, whenever it happens to run. These tests count what a
request leaves behind with that collector off, and a real server's resident memory over rounds
of 10 MB requests.
"""

from __future__ import annotations

import asyncio
import gc
import json
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import ClientError

from pgs3v.store.api.arns import ArnScope
from pgs3v.store.api.http_app import StoreApp, build_app
from pgs3v.store.api.limits import Limits
from pgs3v.store.api.service import VectorStore
from tests.support import StoreProcess, client, process_status

ROWS, DIMENSION = 500, 1000  # a body of about 10 MB
BUCKET = "memory"


def _body(index: str, *, ragged: bool = False, key_prefix: str = "k") -> bytes:
    rows = np.random.default_rng(7).standard_normal((ROWS, DIMENSION)).astype(np.float32)
    # A ragged first vector sends the body through the ordinary JSON parse (Python floats).
    vectors = [{"key": f"{key_prefix}{i}", "data": {"float32": rows[i].tolist()[: DIMENSION - (ragged and i == 0)]}}
               for i in range(ROWS)]
    return json.dumps({"vectorBucketName": BUCKET, "indexName": index, "vectors": vectors}).encode()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[StoreApp]:
    store = VectorStore(tmp_path, limits=Limits(), scope=ArnScope(), token_secret=b"memory")
    store.call("CreateVectorBucket", {"vectorBucketName": BUCKET})
    for name, dimension in (("small", 8), ("wide", DIMENSION)):
        store.call("CreateIndex", {"vectorBucketName": BUCKET, "indexName": name, "dataType": "float32",
                                   "dimension": dimension, "distanceMetric": "cosine"})
    try:
        yield build_app(store, None)
    finally:
        store.close()


def _put(app: StoreApp, body: bytes) -> int:
    scope: dict[str, Any] = {"type": "http", "method": "POST", "path": "/PutVectors", "query_string": b"",
                             "headers": [(b"content-length", str(len(body)).encode())]}
    messages = iter([{"type": "http.request", "body": body, "more_body": False}])

    async def receive() -> dict[str, Any]:
        return next(messages, {"type": "http.disconnect"})

    return asyncio.run(app.handle(scope, receive, "PutVectors", {})).status


@pytest.mark.parametrize(("index", "ragged", "status"), [
    ("small", False, 400),  # wrong dimension, numbers read straight into numpy
    ("small", True, 400),  # wrong dimension, numbers parsed as Python floats
    ("wide", True, 400),  # vectors of unequal length
    ("wide", False, 200),  # accepted: only the stored rows may stay
])
def test_an_answered_request_leaves_nothing_for_the_collector(app: StoreApp, index: str, ragged: bool,
                                                              status: int) -> None:
    bodies = [_body(index, ragged=ragged, key_prefix=f"r{round_}-") for round_ in range(4)]
    assert _put(app, bodies[0]) == status  # first use: caches, pools, the index's tail
    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for body in bodies[1:]:
            assert _put(app, body) == status
        left = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
        gc.enable()
    # Rejected: nothing of the ~4-16 MB each request parsed. Accepted: the rows stored (three
    # requests of 500 x 1000 float32, 6 MB, in the index's unindexed tail, whose arrays grow by
    # doubling: at most twice that), nothing else.
    stored = 0 if status != 200 else 2 * 3 * ROWS * DIMENSION * 4
    assert left < stored + (2 << 20), f"{left / 1e6:.1f} MB left behind"


def test_rounds_of_10mb_requests_leave_the_server_near_its_baseline(tmp_path: Path) -> None:
    server = StoreProcess(tmp_path / "data").start()
    try:
        s3v = client(server.endpoint)
        s3v.create_vector_bucket(vectorBucketName=BUCKET)
        for name, dimension in (("small", 8), ("wide", DIMENSION)):
            s3v.create_index(vectorBucketName=BUCKET, indexName=name, dataType="float32", dimension=dimension,
                             distanceMetric="cosine")
        rows = np.random.default_rng(7).standard_normal((ROWS, DIMENSION)).astype(np.float32)
        vectors = [{"key": f"k{i}", "data": {"float32": row.tolist()}} for i, row in enumerate(rows)]
        failures: list[str] = []

        def send(index: str) -> None:
            try:
                client(server.endpoint).put_vectors(vectorBucketName=BUCKET, indexName=index, vectors=vectors)
                if index == "small":
                    failures.append("a wrong-dimension PutVectors was accepted")
            except ClientError as error:
                if index == "wide" or error.response["Error"]["Code"] != "ValidationException":
                    failures.append(str(error))

        def one_round() -> None:
            # Eight at once: six rejected, two accepted (the same keys again, so the data stays put).
            threads = [threading.Thread(target=send, args=("small" if i < 6 else "wide",)) for i in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

        assert server.process is not None
        pid = server.process.pid
        one_round()  # pools and caches reach their working size
        baseline = process_status(pid, "VmRSS") / 1024
        for _ in range(5):
            one_round()
        after = process_status(pid, "VmRSS") / 1024
        assert not failures, failures[:3]
        # Each round's bodies and parses are ~200 MB in flight; five rounds that each kept
        # theirs would add about a GB.
        assert after < baseline + 200, f"resident memory {baseline:.0f} MB -> {after:.0f} MB"
        assert s3v.get_vectors(vectorBucketName=BUCKET, indexName="wide", keys=["k0"])["vectors"]
    finally:
        server.stop()
