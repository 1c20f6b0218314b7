"""A lean S3 Vectors client, and a bridge built on it without validation, batching or retries.

The client is the bridge's own :class:`pgs3v.bridge.json_transport.JsonTransport` (this module
was its prototype); the bare bridge measures what the real bridge's safety features cost.

"""

from __future__ import annotations

import os
import threading
from typing import Any

import boto3
from botocore.exceptions import ClientError

from pgs3v.bridge.json_transport import JsonTransport


class LeanStoreClient(JsonTransport):
    """The bridge's JSON transport, called directly from the benchmark process."""

    def __init__(self, endpoint: str, credentials: Any, region: str, timeout: float = 30.0) -> None:
        super().__init__(endpoint, credentials, region, connect_timeout=timeout, read_timeout=timeout)


_lock = threading.Lock()
_client: LeanStoreClient | None = None


def lean_bridge(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The bridge's handler contract on the lean client: ``{"response": ...}`` or ``{"error": ...}``.

    A prototype for the benchmark: one API call per event, no validation, batching or retries
    (the real bridge's validation costs about 0.02 ms, its retries nothing on success).
    """
    client = _environment_client()
    try:
        return {"response": client.call(str(event["operation"]), event["request"])}
    except ClientError as error:
        details = error.response.get("Error", {})
        failure: dict[str, Any] = {
            "code": details.get("Code"), "message": details.get("Message"),
            "httpStatus": error.response.get("ResponseMetadata", {}).get("HTTPStatusCode"),
        }
        if error.response.get("fieldList"):
            failure["fieldList"] = error.response["fieldList"]
        return {"error": failure}


def _environment_client() -> LeanStoreClient:
    """One client per process, built from the environment the function host gives the bridge."""
    global _client
    with _lock:
        if _client is None:
            region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
            credentials = boto3.session.Session().get_credentials()
            _client = LeanStoreClient(os.environ["PGS3V_STORE_ENDPOINT"], credentials, region)
        return _client
