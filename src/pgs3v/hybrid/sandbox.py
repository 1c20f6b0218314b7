"""A throwaway stack for measurements: a private PostgreSQL cluster, a store and a function host.

Everything lives in one temporary directory and is removed on exit. The servers are the real
ones (``pgs3v store serve``, ``pgs3v functions serve``, PostgreSQL 15 with pgs3v installed
through the shim), on free loopback ports, so a measurement takes the same path as production:
SQL -> ``aws_lambda.invoke`` -> function host -> bridge -> store.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from pgs3v.auth.credentials import Credentials
from pgs3v.bridge.process import FunctionHostProcess
from pgs3v.sql_schema.installer import install_schema
from pgs3v.stack.postgres import PostgresCluster, PostgresError, missing_packages
from pgs3v.store.process import StoreProcess, free_port

DATABASE = "pgs3v_hybrid"

Connection = psycopg.Connection[TupleRow]


@dataclass(frozen=True)
class Sandbox:
    """The running servers of a throwaway stack."""

    cluster: PostgresCluster
    store: StoreProcess
    host: FunctionHostProcess
    database: str

    def dsn(self, user: str = "postgres") -> str:
        """A connection string for the sandbox database over the cluster's private socket."""
        return self.cluster.socket_dsn(self.database, user)

    def connect(self, user: str = "postgres") -> Connection:
        """A new autocommit connection to the sandbox database."""
        return psycopg.connect(self.dsn(user), autocommit=True)


def create_database(cluster: PostgresCluster, name: str) -> str:
    """A new, empty database in the cluster (dropped first if it exists); its DSN."""
    with psycopg.connect(cluster.socket_dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return cluster.socket_dsn(name)


@contextmanager
def sandbox() -> Iterator[Sandbox]:
    """Start a throwaway stack with pgs3v installed; stop it and delete its files on exit."""
    if missing_packages():
        raise PostgresError(f"PostgreSQL packages missing: apt-get install -y {' '.join(missing_packages())}")
    credentials = Credentials("PGS3V" + secrets.token_hex(8).upper()[:15], secrets.token_hex(20))
    # Not a 0700 directory: the server runs as the postgres OS user when we are root.
    root = Path(tempfile.mkdtemp(prefix="pgs3v-hybrid-"))
    root.chmod(0o755)
    cluster = PostgresCluster(root / "pg", free_port())
    store: StoreProcess | None = None
    host: FunctionHostProcess | None = None
    try:
        cluster.init(secrets.token_hex(16))
        cluster.start()
        store = StoreProcess(root / "store", credentials, log_file=root / "store.log").start()
        host = FunctionHostProcess(store.endpoint, credentials, log_file=root / "functions.log").start()
        dsn = create_database(cluster, DATABASE)
        install_schema(dsn, function_endpoint=host.endpoint, access_key_id=credentials.access_key_id,
                       secret_access_key=credentials.secret_access_key)
        yield Sandbox(cluster, store, host, DATABASE)
    finally:
        if host is not None:
            host.stop()
        if store is not None:
            store.stop()
        cluster.destroy()
        shutil.rmtree(root, ignore_errors=True)
