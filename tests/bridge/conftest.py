"""Bridge fixtures: a real function host in front of the session's real store, and helpers to call it."""

from __future__ import annotations

import base64
import itertools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pgs3v.auth.credentials import Credentials
from pgs3v.bridge.process import FunctionHostProcess
from pgs3v.bridge.store_client import reset_store_client
from tests.support import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, StoreProcess

ROOT = Path(__file__).resolve().parent.parent.parent
CREDENTIALS = Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
SAMPLES = "tests.bridge.sample_functions"
SAMPLE_FUNCTIONS = ("echo", "explode", "chatty", "unserialisable")

_names = itertools.count()


def unique(prefix: str) -> str:
    """A name no other test uses."""
    return f"{prefix}-{os.getpid()}-{next(_names)}"


def start_host(store_endpoint: str, *extra_args: str, log_file: Path | None = None, **environ: str,
               ) -> FunctionHostProcess:
    """A function host serving pgs3v-bridge and the sample functions for ``store_endpoint``, logging to ``log_file``."""
    args: list[str] = []
    for name in SAMPLE_FUNCTIONS:
        args += ["--function", f"{name}={SAMPLES}.{name}"]
    # cwd=ROOT puts the tests package on the host's sys.path, for the sample functions.
    host = FunctionHostProcess(store_endpoint, CREDENTIALS, extra_args=(*args, *extra_args), cwd=ROOT,
                              log_file=log_file)
    return host.start({**os.environ, **environ})


@dataclass
class Invocation:
    """What boto3's lambda client returned for one Invoke call, with the payload decoded."""

    status: int
    payload: Any
    function_error: str | None
    log: str | None
    raw: dict[str, Any]


def invoke(lambda_client: Any, payload: Any, function: str = "pgs3v-bridge", **kwargs: Any) -> Invocation:
    """Invoke ``function`` with ``payload`` (JSON-encoded unless bytes) through boto3."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    reply: dict[str, Any] = lambda_client.invoke(FunctionName=function, Payload=body, **kwargs)
    data = reply["Payload"].read()
    log = base64.b64decode(reply["LogResult"]).decode() if "LogResult" in reply else None
    return Invocation(reply["StatusCode"], json.loads(data) if data else None, reply.get("FunctionError"), log, reply)


def call(lambda_client: Any, operation: str, request: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """The bridge's answer (``{"response": ...}`` or ``{"error": ...}``) to one S3 Vectors operation."""
    result = invoke(lambda_client, {"operation": operation, "request": request}, **kwargs)
    assert result.status == 200 and result.function_error is None, result
    answer: dict[str, Any] = result.payload
    return answer


def vectors(count: int, dimension: int = 4, start: int = 0) -> list[dict[str, Any]]:
    """``count`` distinct vectors with a numeric and a string metadata field."""
    return [
        {
            "key": f"v{number}",
            "data": {"float32": [1.0, float(number % 97), float(number % 13) + 0.5, 2.0][:dimension]},
            "metadata": {"n": number, "parity": "even" if number % 2 == 0 else "odd"},
        }
        for number in range(start, start + count)
    ]


@pytest.fixture(scope="session")
def function_host(store_server: StoreProcess) -> Iterator[FunctionHostProcess]:
    """The function host for the session's store, logging the bridge's INFO lines."""
    host = start_host(store_server.endpoint, PGS3V_BRIDGE_LOG_LEVEL="INFO")
    try:
        yield host
    finally:
        host.stop()


@pytest.fixture(scope="session")
def lambda_client(function_host: FunctionHostProcess) -> Any:
    """boto3's own lambda client for the host."""
    return function_host.client(max_pool_connections=32)


@pytest.fixture
def bridge_index(s3v: Any) -> dict[str, str]:
    """A new bucket with a 4-dimensional cosine index; the request fields that name it."""
    bucket, index = unique("bridge"), unique("idx")
    s3v.create_vector_bucket(vectorBucketName=bucket)
    s3v.create_index(vectorBucketName=bucket, indexName=index, dataType="float32", dimension=4,
                     distanceMetric="cosine", metadataConfiguration={"nonFilterableMetadataKeys": ["note"]})
    return {"vectorBucketName": bucket, "indexName": index}


@pytest.fixture
def in_process_bridge(store_server: StoreProcess, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The handler's environment pointing at the session's store, as the function host would set it."""
    set_bridge_environment(monkeypatch, store_server.endpoint)
    try:
        yield
    finally:
        reset_store_client()


def set_bridge_environment(monkeypatch: pytest.MonkeyPatch, endpoint: str, **extra: str) -> None:
    """Point the in-process handler at ``endpoint`` with the test credentials (and ``extra`` settings)."""
    monkeypatch.setenv("PGS3V_STORE_ENDPOINT", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    for name, value in extra.items():
        monkeypatch.setenv(name, value)
    reset_store_client()
