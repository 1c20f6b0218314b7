"""AWS fixtures: moto in server mode for CloudFormation, IAM, Lambda, RDS, S3 and EC2, on a free port.

The pgs3v store (the session's) stands in for Amazon S3 Vectors, and a private PostgreSQL 15 for
the Aurora cluster's database. moto cannot run Lambda code without Docker, so the functions the
stack creates are served, under the same names and with the same handler, by pgs3v's function host.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from pgs3v.auth.credentials import Credentials
from pgs3v.aws.template import function_names
from pgs3v.bridge.functions import BRIDGE_HANDLER
from pgs3v.bridge.process import FunctionHostProcess
from pgs3v.stack.postgres import PostgresCluster
from pgs3v.stack.startup import function_host, new_database, running_cluster
from tests.support import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, StoreProcess, free_port, require_postgres


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto server on a free loopback port; its URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def moto(moto_endpoint: str, aws_environment: None) -> str:
    """moto, emptied before the test (its reset API), with the test's AWS environment; its URL."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST"), timeout=30)
    return moto_endpoint


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """boto3 with the store's keys (moto takes any) and no profile, config file or real endpoint of the machine's."""
    for variable in list(os.environ):
        if variable.startswith(("AWS_", "PGS3V_AWS", "PGS3V_S3VECTORS")):
            monkeypatch.delenv(variable)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A private PostgreSQL 15 cluster, without pgs3v: the Aurora cluster's database in these tests."""
    require_postgres()
    with running_cluster(prefix="pgs3v-aws-") as cluster:
        yield cluster


@pytest.fixture
def database(postgres: PostgresCluster) -> str:
    """A new, empty database; its DSN."""
    return new_database(postgres, "pgs3v_aws_tests")


@pytest.fixture(scope="session")
def deployed_functions(store_server: StoreProcess) -> Iterator[FunctionHostProcess]:
    """A function host serving pgs3v-query, pgs3v-write and pgs3v-manage: the bridge, as the stack deploys it."""
    functions = dict.fromkeys(function_names(), BRIDGE_HANDLER)
    host = function_host(store_server.endpoint, Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), functions=functions)
    host.start()
    try:
        yield host
    finally:
        host.stop()
