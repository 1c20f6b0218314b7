"""Shared fixtures: one real store server per test session, fresh names per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from pgs3v.stack.seaweedfs import SeaweedFS
from tests.certificates import TestCertificates, make_certificates
from tests.support import StoreProcess, client

_names = itertools.count()
SEAWEEDFS_BUCKET = "pgs3v-tests"


@pytest.fixture(scope="session")
def store_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreProcess]:
    server = StoreProcess(tmp_path_factory.mktemp("store")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """One SeaweedFS server (S3 gateway on loopback) for the session, with a bucket "pgs3v-tests"."""
    server = SeaweedFS(tmp_path_factory.mktemp("seaweedfs")).start()
    try:
        server.create_bucket(SEAWEEDFS_BUCKET)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3v(store_server: StoreProcess) -> Any:
    """A validating boto3 s3vectors client."""
    return client(store_server.endpoint)


@pytest.fixture(scope="session")
def raw_s3v(store_server: StoreProcess) -> Any:
    """A boto3 s3vectors client that sends bad input to the server unchanged."""
    return client(store_server.endpoint, validate=False)


@pytest.fixture
def bucket(s3v: Any) -> str:
    """A new, empty vector bucket."""
    name = f"bucket-{next(_names)}"
    s3v.create_vector_bucket(vectorBucketName=name)
    return name


@pytest.fixture
def index(s3v: Any, bucket: str) -> dict[str, str]:
    """A new 4-dimensional cosine index with one non-filterable key; keyword arguments for calls."""
    name = f"index-{next(_names)}"
    s3v.create_index(
        vectorBucketName=bucket, indexName=name, dataType="float32", dimension=4, distanceMetric="cosine",
        metadataConfiguration={"nonFilterableMetadataKeys": ["text"]},
    )
    return {"vectorBucketName": bucket, "indexName": name}


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> TestCertificates:
    """A CA made for the test module, and a certificate it issued for 127.0.0.1 and localhost."""
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_store(tmp_path_factory: pytest.TempPathFactory, certificates: TestCertificates) -> Iterator[StoreProcess]:
    """A store serving HTTPS only with ``certificates``' server certificate."""
    server = StoreProcess(tmp_path_factory.mktemp("tls-store"), tls=certificates.server,
                          ca_file=certificates.ca_file).start()
    try:
        yield server
    finally:
        server.stop()
