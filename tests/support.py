"""Test support: a real store server in a subprocess on a free loopback port."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from pgs3v.auth.credentials import Credentials
from pgs3v.bridge.json_transport import JsonTransport
from pgs3v.stack.postgres import PostgresError
from pgs3v.stack.seaweedfs import SeaweedFS
from pgs3v.stack.startup import require_packages
from pgs3v.store.process import StoreProcess as _StoreProcess
from pgs3v.store.process import free_port
from pgs3v.store.storage.s3_objects import S3Location, S3Objects
from pgs3v.tls import ServerTls

__all__ = ["StoreProcess", "client", "engine_client", "error_of", "free_port", "process_status", "require_postgres",
           "seaweedfs_objects", "seaweedfs_store", "signed_head"]

ACCESS_KEY_ID = "PGS3VTESTACCESSKEY01"
SECRET_ACCESS_KEY = "test-secret-access-key-0123456789abcdefgh"
REGION = "us-east-1"


class StoreProcess(_StoreProcess):
    """The store under test, with the test credentials."""

    def __init__(self, data_dir: Path, extra_args: tuple[str, ...] = (), log_file: Path | None = None,
                 tls: ServerTls | None = None, ca_file: Path | None = None) -> None:
        super().__init__(data_dir, Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), extra_args=extra_args,
                         log_file=log_file, tls=tls, ca_file=ca_file)

    def start(self, environ: Mapping[str, str] | None = None) -> StoreProcess:
        super().start(environ)
        return self


def require_postgres() -> None:
    """Skip the test, saying what to install, when PostgreSQL 15 or PL/Python is missing."""
    try:
        require_packages()
    except PostgresError as problem:
        if os.environ.get("CI"):
            pytest.fail(str(problem))  # CI must run these tests, not skip them
        pytest.skip(str(problem))


def client(endpoint: str, *, validate: bool = True, secret: str = SECRET_ACCESS_KEY,
           access_key: str = ACCESS_KEY_ID) -> Any:
    """boto3's own s3vectors client for the store; ``validate=False`` lets bad input reach the server."""
    config = Config(parameter_validation=validate, retries={"max_attempts": 1}, max_pool_connections=32)
    return boto3.client(
        "s3vectors", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=access_key,
        aws_secret_access_key=secret, config=config,
    )


def engine_client(endpoint: str) -> JsonTransport:
    """A signed JSON client for the store's own operations (Pgs3vDescribeIndexEngine, ...)."""
    from botocore.credentials import Credentials as BotoCredentials

    return JsonTransport(endpoint, BotoCredentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), REGION, 10.0, 300.0)


def error_of(call: Any, *args: Any, **kwargs: Any) -> tuple[str, int, dict[str, Any]]:
    """(code, HTTP status, whole response) of a call that must fail."""
    from botocore.exceptions import ClientError

    try:
        call(*args, **kwargs)
    except ClientError as error:
        response: Any = error.response
        return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response
    raise AssertionError("the call succeeded but should have failed")


def signed_head(server: StoreProcess, operation: str, body: bytes) -> bytes:
    """The head of ``POST /<operation>`` signed for ``body`` as boto3 signs it, as raw bytes (send the body after)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    request = AWSRequest(method="POST", url=f"{server.endpoint}/{operation}", data=body,
                         headers={"Content-Type": "application/json"})
    SigV4Auth(BotoCredentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), "s3vectors", REGION).add_auth(request)
    headers = dict(request.prepare().headers)
    lines = [f"POST /{operation} HTTP/1.1", f"Host: 127.0.0.1:{server.port}",
             *(f"{name}: {value}" for name, value in headers.items() if name.lower() != "host")]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def process_status(pid: int, field: str) -> int:
    """A number from /proc/<pid>/status (VmRSS and RssAnon in kB, Threads, ...)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def seaweedfs_objects(server: SeaweedFS, bucket: str = "pgs3v-tests") -> S3Objects:
    """The objects under a fresh prefix of ``bucket`` on ``server`` (tests share the bucket)."""
    return S3Objects(S3Location(bucket, f"t-{secrets.token_hex(6)}", server.endpoint, server.region,
                                server.credentials.access_key_id, server.credentials.secret_access_key))


def seaweedfs_store(server: SeaweedFS, data_dir: Path, extra_args: tuple[str, ...] = (), *,
                    prefix: str | None = None, bucket: str = "pgs3v-tests") -> tuple[StoreProcess, dict[str, str]]:
    """A store (not started) keeping its data under a fresh (or the given) prefix of ``bucket``, and its environment."""
    prefix = prefix or f"store-{secrets.token_hex(6)}"
    args = ("--storage", f"s3://{bucket}/{prefix}", "--s3-endpoint", server.endpoint, *extra_args)
    environ = {**os.environ, "AWS_ACCESS_KEY_ID": server.credentials.access_key_id,
               "AWS_SECRET_ACCESS_KEY": server.credentials.secret_access_key}
    return StoreProcess(data_dir, extra_args=args), environ
