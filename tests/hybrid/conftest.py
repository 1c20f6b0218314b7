"""Hybrid-query fixtures: a PostgreSQL cluster with pgs3v, the session's store, and the sample catalog.

The catalog (5,202 products with their all-MiniLM-L6-v2 embeddings, reviews, orders) is loaded
once per session into tables and, through ``s3vectors.put_vectors``, into an index of the shared
store. Everything is real: PL/Python calls the function host, which runs the bridge against the store.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import psycopg
import pytest

from pgs3v.bridge.process import FunctionHostProcess
from pgs3v.hybrid.catalog_tables import CatalogIndex, load_catalog
from pgs3v.hybrid.ground_truth import ExactSearch
from pgs3v.hybrid.sandbox import Connection, create_database
from pgs3v.sample_data.catalog import load_demo_queries, load_product_embeddings, load_products
from pgs3v.sql_schema.installer import install_schema
from tests.sql.conftest import CREDENTIALS, new_cluster
from tests.support import ACCESS_KEY_ID, SECRET_ACCESS_KEY, StoreProcess

__all__ = ["INVOCATIONS", "Catalog", "Connection", "HybridStack", "invocations"]

DATABASE = "pgs3v_hybrid_tests"
READER = "hybrid_reader"       # a member of pgs3v_reader, allowed to read the catalog tables
OUTSIDER = "hybrid_outsider"   # no pgs3v role at all

# QueryVectors calls so far in this transaction (each goes through s3vectors._invoke).
INVOCATIONS = "SELECT coalesce(sum(calls), 0) FROM pg_stat_xact_user_functions WHERE funcname = '_invoke'"


@dataclass(frozen=True)
class Catalog:
    """The loaded catalog: where its vectors are, and the oracle over them."""

    where: CatalogIndex
    search: ExactSearch
    queries: list[tuple[str, npt.NDArray[np.float32]]]
    skus: list[str]


@dataclass(frozen=True)
class HybridStack:
    """The cluster's connections."""

    dsn_of: dict[str, str]


@pytest.fixture(scope="session")
def hybrid_stack(store_server: StoreProcess) -> Iterator[HybridStack]:
    cluster, root = new_cluster("pgs3v-hybrid-tests-")
    host: FunctionHostProcess | None = None
    try:
        host = FunctionHostProcess(store_server.endpoint, CREDENTIALS).start()
        dsn = create_database(cluster, DATABASE)
        install_schema(dsn, function_endpoint=host.endpoint, access_key_id=ACCESS_KEY_ID,
                       secret_access_key=SECRET_ACCESS_KEY, timeout_seconds=30)
        yield HybridStack({user: cluster.socket_dsn(DATABASE, user) for user in ("postgres", READER, OUTSIDER)})
    finally:
        if host is not None:
            host.stop()
        cluster.destroy()
        shutil.rmtree(root, ignore_errors=True)


def _session(stack: HybridStack, user: str) -> Iterator[Connection]:
    conn = psycopg.connect(stack.dsn_of[user], autocommit=True)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture(scope="session")
def db(hybrid_stack: HybridStack) -> Iterator[Connection]:
    """A superuser connection that counts function calls (track_functions = all)."""
    for conn in _session(hybrid_stack, "postgres"):
        conn.execute("SET track_functions = 'all'")
        yield conn


@pytest.fixture(scope="session")
def catalog(db: Connection) -> Catalog:
    """The sample catalog in tables and in a fresh index of the session's store."""
    where = CatalogIndex(f"hybrid-{os.getpid()}", "products")
    load_catalog(db, where)
    for user, grants in ((READER, "IN ROLE pgs3v_reader"), (OUTSIDER, "")):
        db.execute(f"DROP ROLE IF EXISTS {user}")
        db.execute(f"CREATE ROLE {user} LOGIN {grants}")
        db.execute(f"GRANT SELECT ON products, reviews, orders TO {user}")
    skus = [p.sku for p in load_products()]
    return Catalog(where, ExactSearch(skus, load_product_embeddings()), load_demo_queries(), skus)


@pytest.fixture(scope="session")
def reader(hybrid_stack: HybridStack, catalog: Catalog) -> Iterator[Connection]:
    """A member of pgs3v_reader that may read the catalog tables."""
    yield from _session(hybrid_stack, READER)


@pytest.fixture(scope="session")
def outsider(hybrid_stack: HybridStack, catalog: Catalog) -> Iterator[Connection]:
    """A role that may read the catalog tables but has no pgs3v role."""
    yield from _session(hybrid_stack, OUTSIDER)


def invocations(conn: Connection) -> int:
    """QueryVectors calls made so far in the current transaction (needs track_functions = all)."""
    row = conn.execute(INVOCATIONS).fetchone()
    assert row is not None
    return int(row[0])
