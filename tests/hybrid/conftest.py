"""Hybrid-query fixtures: a PostgreSQL cluster with pgs3v, the session's store, and the sample catalog.

The catalog (5,202 products with their all-MiniLM-L6-v2 embeddings, reviews, orders) is loaded
once per session into tables and, through ``s3vectors.put_vectors``, into an index of the shared
store. Everything is real: PL/Python calls the function host, which runs the bridge against the store.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pytest

from pgs3v.hybrid.catalog_tables import CatalogIndex, Connection, load_catalog
from pgs3v.hybrid.ground_truth import ExactSearch
from pgs3v.sample_data.catalog import load_demo_queries, load_product_embeddings, load_products
from pgs3v.stack.startup import RunningStack, running_stack
from tests.support import StoreProcess, require_postgres

__all__ = ["INVOCATIONS", "Catalog", "Connection", "invocations"]

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


@pytest.fixture(scope="session")
def hybrid_stack(store_server: StoreProcess) -> Iterator[RunningStack]:
    """PostgreSQL with pgs3v in DATABASE, and a function host in front of the session's store."""
    require_postgres()
    with running_stack({DATABASE: None}, prefix="pgs3v-hybrid-tests-", store=store_server) as stack:
        yield stack


def _session(stack: RunningStack, user: str) -> Iterator[Connection]:
    conn = stack.connect(user=user)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture(scope="session")
def db(hybrid_stack: RunningStack) -> Iterator[Connection]:
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
def reader(hybrid_stack: RunningStack, catalog: Catalog) -> Iterator[Connection]:
    """A member of pgs3v_reader that may read the catalog tables."""
    yield from _session(hybrid_stack, READER)


@pytest.fixture(scope="session")
def outsider(hybrid_stack: RunningStack, catalog: Catalog) -> Iterator[Connection]:
    """A role that may read the catalog tables but has no pgs3v role."""
    yield from _session(hybrid_stack, OUTSIDER)


def invocations(conn: Connection) -> int:
    """QueryVectors calls made so far in the current transaction (needs track_functions = all)."""
    row = conn.execute(INVOCATIONS).fetchone()
    assert row is not None
    return int(row[0])
