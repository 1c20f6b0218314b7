"""The SQL benchmark's servers: a private PostgreSQL 15 cluster, the store and the function host.

All three are the project's real components on free loopback ports, started the way the tests
and ``pgs3v up`` start them, in one temporary directory with fresh credentials. Each database
gets pgs3v installed (the aws_lambda shim pointed at the function host) and its own bridge
function name, so the same SQL can go through different bridges.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from pgs3v.auth.credentials import Credentials, generate_credentials
from pgs3v.bench.host_functions import FUNCTIONS
from pgs3v.bridge.process import FunctionHostProcess
from pgs3v.sql_schema.installer import install_schema
from pgs3v.stack.postgres import PostgresCluster, missing_packages
from pgs3v.store.process import StoreProcess, free_port


class StackError(RuntimeError):
    """The stack cannot start here; the message says what to install or change."""


@dataclass(frozen=True)
class SqlBenchStack:
    """The running servers and what it takes to talk to them."""

    cluster: PostgresCluster
    store: StoreProcess
    host: FunctionHostProcess
    credentials: Credentials

    def dsn(self, database: str) -> str:
        """A connection string over the cluster's private Unix socket (superuser, trust)."""
        return self.cluster.socket_dsn(database)

    def server_version(self) -> str:
        """PostgreSQL's version string."""
        with psycopg.connect(self.dsn("postgres")) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "unknown"


@contextmanager
def running_sql_stack(root: Path, databases: Mapping[str, str]) -> Iterator[SqlBenchStack]:
    """Start everything under ``root`` (which the postgres OS user must be able to enter).

    ``databases`` maps each database to create to the bridge function its s3vectors functions
    invoke. Everything is stopped on exit, in reverse order; the files stay in ``root``.
    """
    missing = missing_packages()
    if missing:
        raise StackError(f"PostgreSQL 15 with PL/Python is needed: apt-get install -y {' '.join(missing)}")
    credentials = generate_credentials()
    with ExitStack() as cleanup:
        cluster = PostgresCluster(root / "postgres", free_port())
        cluster.init(secrets.token_urlsafe(24))
        cleanup.callback(cluster.stop)
        cluster.start()
        store = StoreProcess(root / "store", credentials)
        cleanup.callback(store.stop)
        store.start()
        extra = [arg for name, path in FUNCTIONS.items() for arg in ("--function", f"{name}={path}")]
        host = FunctionHostProcess(store.endpoint, credentials, extra_args=tuple(extra),
                                   log_file=root / "functions.log")
        cleanup.callback(host.stop)
        host.start()
        with psycopg.connect(cluster.socket_dsn(), autocommit=True) as conn:
            for database in databases:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        for database, function_name in databases.items():
            install_schema(
                cluster.socket_dsn(database), function_endpoint=host.endpoint, function_name=function_name,
                access_key_id=credentials.access_key_id, secret_access_key=credentials.secret_access_key,
            )
        yield SqlBenchStack(cluster, store, host, credentials)
