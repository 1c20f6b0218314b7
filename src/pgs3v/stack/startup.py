"""Starting a stack: a private PostgreSQL 15 cluster, the store, the function host, and pgs3v installed.

Every stack of the project comes up through :func:`start_stack`: the one ``pgs3v up`` keeps in its
data directory (servers that outlive the command, see :mod:`pgs3v.stack.lifecycle`), and the
throwaway ones of :func:`running_stack` (the hybrid measurements, the SQL and sync benchmarks,
the tests), whose servers live as long as a ``with`` block. So all of them check for the same
packages, create and start the cluster the same way, and point pgs3v's shim at the function host
with the spec's credentials. Only how the store and the function host run differs: that is a
:class:`Servers`.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from pgs3v.auth.credentials import Credentials, generate_credentials
from pgs3v.bridge.process import FunctionHostProcess
from pgs3v.sql_schema.installer import install_schema
from pgs3v.stack.postgres import PostgresCluster, PostgresError, install_packages, missing_packages
from pgs3v.store.process import StoreProcess, free_port

REGION = "us-east-1"

Connection = psycopg.Connection[TupleRow]
Say = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def require_packages(*, install: bool = False, say: Say = _quiet) -> None:
    """Fail, saying what to install, unless PostgreSQL 15 and PL/Python are there; ``install`` installs them."""
    missing = missing_packages()
    if not missing:
        return
    if not install:
        raise PostgresError(f"PostgreSQL 15 with PL/Python is needed: apt-get install -y {' '.join(missing)}")
    say(f"Installing Debian packages: {', '.join(missing)} ...")
    install_packages(missing)


class Servers(Protocol):
    """How the store and the function host run: children of a ``with`` block, or daemons."""

    def start_store(self) -> str:
        """Start the store (or find it running); its endpoint."""

    def start_function_host(self, store_endpoint: str) -> str:
        """Start the function host in front of that store (or find it running); its endpoint."""


@dataclass(frozen=True)
class StackSpec:
    """What a stack is made of, persistent or throwaway."""

    cluster: PostgresCluster
    postgres_password: str  # the superuser's, set when the cluster is created
    # The key the shim signs its calls to the function host with: the store's own in throwaway
    # stacks, `up`'s pgs3v-invoke key (only lambda:InvokeFunction on the bridge functions) in its stack.
    credentials: Credentials
    # Each database that gets pgs3v -> the bridge function its s3vectors functions invoke
    # (None: leave the schema's own, pgs3v-bridge on a new install).
    databases: Mapping[str, str | None]
    region: str = REGION
    # PEM of the CAs the shim trusts when the function host serves HTTPS (None: the system's).
    ca_certificates: str | None = None
    # The functions SQL routes reads and writes to (None: leave the schema's setting as it is).
    query_function: str | None = None
    write_function: str | None = None


def start_stack(spec: StackSpec, servers: Servers, *, install: bool = False, say: Say = _quiet) -> None:
    """Start PostgreSQL, the store and the function host, and install pgs3v pointed at the host (reusing what runs)."""
    require_packages(install=install, say=say)
    cluster = spec.cluster
    if not cluster.initialized():
        say(f"Creating the PostgreSQL cluster in {cluster.root} ...")
        cluster.init(spec.postgres_password)
    cluster.start()
    for database in spec.databases:
        ensure_database(cluster, database)
    names = ", ".join(spec.databases)
    say(f"PostgreSQL 15      127.0.0.1:{cluster.port}  (database{'s' if len(spec.databases) > 1 else ''} {names})")
    store_endpoint = servers.start_store()
    say(f"store              {store_endpoint}")
    function_endpoint = servers.start_function_host(store_endpoint)
    say(f"function host      {function_endpoint}")
    for database, function_name in spec.databases.items():
        install_schema(
            cluster.socket_dsn(database), function_endpoint=function_endpoint, region=spec.region,
            access_key_id=spec.credentials.access_key_id, secret_access_key=spec.credentials.secret_access_key,
            function_name=function_name, ca_certificates=spec.ca_certificates,
            query_function_name=spec.query_function, write_function_name=spec.write_function,
        )
    say("schema s3vectors   installed")


def ensure_database(cluster: PostgresCluster, name: str) -> None:
    """Create the database unless it exists (what is in it stays)."""
    with psycopg.connect(cluster.socket_dsn(), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def new_database(cluster: PostgresCluster, name: str) -> str:
    """A new, empty database (dropped first if an earlier run left one); its DSN."""
    with psycopg.connect(cluster.socket_dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return cluster.socket_dsn(name)


def function_host(
    store_endpoint: str,
    credentials: Credentials,
    *,
    functions: Mapping[str, str] | None = None,
    port: int | None = None,
    region: str = REGION,
    cwd: Path | None = None,
    log_file: Path | None = None,
) -> FunctionHostProcess:
    """A function host, not started yet, serving pgs3v-bridge and ``functions`` (name -> module.handler)."""
    extra = [arg for name, handler in (functions or {}).items() for arg in ("--function", f"{name}={handler}")]
    return FunctionHostProcess(store_endpoint, credentials, port=port, extra_args=tuple(extra), region=region,
                               cwd=cwd, log_file=log_file)


@dataclass(frozen=True)
class RunningStack:
    """A throwaway stack's servers, and how to reach its databases."""

    cluster: PostgresCluster
    store: StoreProcess
    host: FunctionHostProcess
    credentials: Credentials
    root: Path  # the cluster, the store's data (unless it was given) and the servers' logs
    database: str  # the default of dsn() and connect(): the first database with pgs3v

    def dsn(self, database: str | None = None, user: str = "postgres") -> str:
        """A connection string over the cluster's private Unix socket (trust: no password)."""
        return self.cluster.socket_dsn(database or self.database, user)

    def connect(self, database: str | None = None, user: str = "postgres") -> Connection:
        """A new autocommit connection."""
        return psycopg.connect(self.dsn(database, user), autocommit=True)

    def create_database(self, name: str) -> str:
        """A new, empty database without pgs3v (dropped first if there); its DSN."""
        return new_database(self.cluster, name)

    def server_version(self) -> str:
        """PostgreSQL's version string."""
        with psycopg.connect(self.dsn("postgres")) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "unknown"


class _ChildServers:
    """A throwaway stack's Servers: child processes on free ports, stopped when the block ends."""

    def __init__(self, root: Path, credentials: Credentials, region: str, cleanup: ExitStack, *,
                 store: StoreProcess | None, functions: Mapping[str, str] | None, host_cwd: Path | None,
                 host_environ: Mapping[str, str] | None) -> None:
        self.root, self.credentials, self.region, self.cleanup = root, credentials, region, cleanup
        self.store = store
        self.host: FunctionHostProcess | None = None
        self.functions, self.host_cwd, self.host_environ = functions, host_cwd, host_environ

    def start_store(self) -> str:
        """Start a store in ``root/store``, unless the stack was given one."""
        if self.store is None:
            store = StoreProcess(self.root / "store", self.credentials, region=self.region,
                                 log_file=self.root / "store.log")
            # Registered first: stop() is harmless after a start() that failed (and killed it).
            self.cleanup.callback(store.stop)
            self.store = store.start()
        return self.store.endpoint

    def start_function_host(self, store_endpoint: str) -> str:
        """Start the function host, logging to ``root/functions.log``."""
        host = function_host(store_endpoint, self.credentials, functions=self.functions, region=self.region,
                             cwd=self.host_cwd, log_file=self.root / "functions.log")
        self.cleanup.callback(host.stop)
        self.host = host.start(self.host_environ)
        return host.endpoint


@contextmanager
def _cluster_in(root: Path | None, prefix: str) -> Iterator[PostgresCluster]:
    # A cluster (not created yet) on a free port, under root or a fresh temporary directory. At the
    # end it is stopped; a temporary one is deleted with its directory, one in root is kept.
    temporary = root is None
    if root is None:
        root = Path(tempfile.mkdtemp(prefix=prefix))
        # Not 0700 (mkdtemp's, and pytest's tmp_path): as root, the server runs as the postgres OS user.
        root.chmod(0o755)
    cluster = PostgresCluster(root / "postgres", free_port())
    try:
        yield cluster
    finally:
        if not temporary:
            cluster.stop()
        else:
            try:
                cluster.destroy()
            finally:
                shutil.rmtree(root, ignore_errors=True)


@contextmanager
def running_cluster(prefix: str = "pgs3v-postgres-") -> Iterator[PostgresCluster]:
    """A private cluster started on a free port in a temporary directory, deleted when the block ends."""
    require_packages()
    with _cluster_in(None, prefix) as cluster:
        cluster.init(secrets.token_urlsafe(24))
        cluster.start()
        yield cluster


@contextmanager
def running_stack(
    databases: Mapping[str, str | None],
    *,
    root: Path | None = None,
    prefix: str = "pgs3v-stack-",
    store: StoreProcess | None = None,
    functions: Mapping[str, str] | None = None,
    host_cwd: Path | None = None,
    host_environ: Mapping[str, str] | None = None,
) -> Iterator[RunningStack]:
    """A stack on free loopback ports with fresh credentials and pgs3v in ``databases``, stopped when the block ends.

    ``databases`` maps each database to its bridge function (None: pgs3v-bridge). The files go in
    ``root``, kept (the postgres OS user must be able to enter it), else in a temporary directory
    named ``prefix...``, deleted. ``store``: a running store to use, with its credentials, instead
    of a new one. ``functions`` (name -> module.handler) are served next to the bridge;
    ``host_cwd`` and ``host_environ`` are the function host's working directory and environment.
    """
    require_packages()  # before anything is created
    credentials = generate_credentials() if store is None else store.credentials
    region = REGION if store is None else store.region
    with _cluster_in(root, prefix) as cluster, ExitStack() as cleanup:
        servers = _ChildServers(cluster.root.parent, credentials, region, cleanup, store=store, functions=functions,
                                host_cwd=host_cwd, host_environ=host_environ)
        start_stack(StackSpec(cluster, secrets.token_urlsafe(24), credentials, databases, region), servers)
        assert servers.store is not None and servers.host is not None, "start_stack started both"
        yield RunningStack(cluster, servers.store, servers.host, credentials, cluster.root.parent,
                           next(iter(databases), "postgres"))
