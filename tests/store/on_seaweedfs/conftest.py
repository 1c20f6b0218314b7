"""The API's tests again, against a store keeping its data in a SeaweedFS bucket.

The fixtures the tests ask for (``store_server``, ``s3v``, ``raw_s3v``) are redefined here, so the
same test functions, imported by this package's modules, run through boto3 and the AWS CLI
against a store started with ``--storage s3://...``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pgs3v.stack.seaweedfs import SeaweedFS
from tests.support import StoreProcess, client, seaweedfs_store


@pytest.fixture(scope="session")
def store_server(seaweedfs: SeaweedFS, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreProcess]:
    """One store for the package, its data under a fresh prefix of the SeaweedFS bucket."""
    server, environ = seaweedfs_store(seaweedfs, tmp_path_factory.mktemp("store-on-seaweedfs"))
    server.start(environ)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3v(store_server: StoreProcess) -> Any:
    """A validating boto3 s3vectors client of the store on SeaweedFS."""
    return client(store_server.endpoint)


@pytest.fixture(scope="session")
def raw_s3v(store_server: StoreProcess) -> Any:
    """A boto3 s3vectors client that sends bad input unchanged to the store on SeaweedFS."""
    return client(store_server.endpoint, validate=False)
