"""SQL fixtures: a private PostgreSQL 15 cluster, the session's store, a function host, and pgs3v installed.

Everything is real: PL/Python calls the function host over HTTP, the host runs the bridge, the
bridge calls the store. Login roles ``alice`` (reader), ``walter`` (writer) and ``ada`` (admin)
connect over the cluster's private socket.
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import TupleRow

from pgs3v.auth.credentials import Credentials
from pgs3v.bridge.process import FunctionHostProcess
from pgs3v.sql_schema.installer import install_schema
from pgs3v.stack.postgres import PostgresCluster, missing_packages
from pgs3v.store.process import free_port
from tests.support import ACCESS_KEY_ID, SECRET_ACCESS_KEY, StoreProcess

ROOT = Path(__file__).resolve().parent.parent.parent
CREDENTIALS = Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
HANDLERS = "tests.sql.handlers"
TEST_FUNCTIONS = {"pgs3v-test-echo": "echo", "pgs3v-test-fail": "fail"}
DATABASE = "pgs3v_sql_tests"
# login role -> the pgs3v group role it is granted
USERS = {"alice": "pgs3v_reader", "walter": "pgs3v_writer", "ada": "pgs3v_admin"}

Connection = psycopg.Connection[TupleRow]

_names = itertools.count()


def unique(prefix: str) -> str:
    """A bucket or index name no other test uses (3-63 characters of a-z, 0-9 and -)."""
    return f"{prefix}-{os.getpid()}-{next(_names)}"


def start_function_host(store_endpoint: str, port: int | None = None) -> FunctionHostProcess:
    """A function host serving pgs3v-bridge and the test functions, logging the bridge's calls."""
    args: list[str] = []
    for name, handler in TEST_FUNCTIONS.items():
        args += ["--function", f"{name}={HANDLERS}.{handler}"]
    # cwd=ROOT puts the tests package on the host's sys.path, for the test functions.
    host = FunctionHostProcess(store_endpoint, CREDENTIALS, port=port, extra_args=tuple(args), cwd=ROOT)
    return host.start({**os.environ, "PGS3V_BRIDGE_LOG_LEVEL": "INFO"})


@dataclass
class SqlStack:
    """The servers of the session: PostgreSQL, the store (shared with other tests), the function host."""

    cluster: PostgresCluster
    store: StoreProcess
    host: FunctionHostProcess
    root: Path

    def dsn(self, dbname: str = DATABASE, user: str = "postgres") -> str:
        """A connection string over the cluster's private socket (trust authentication)."""
        return self.cluster.socket_dsn(dbname, user)

    def connect(self, dbname: str = DATABASE, user: str = "postgres") -> Connection:
        """A new autocommit connection."""
        return psycopg.connect(self.dsn(dbname, user), autocommit=True)

    def create_database(self, name: str) -> str:
        """A new empty database (dropped first if a previous run left it); its DSN."""
        with self.connect("postgres") as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)


def new_cluster(prefix: str) -> tuple[PostgresCluster, Path]:
    """A started cluster in a fresh directory the postgres OS user can enter; (cluster, directory)."""
    if missing_packages():
        reason = f"PostgreSQL packages missing: apt-get install -y {' '.join(missing_packages())}"
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI must run these tests, not skip them
        pytest.skip(reason)
    # Not pytest's tmp_path: it is mode 0700 under root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix=prefix))
    root.chmod(0o755)
    cluster = PostgresCluster(root / "pg", free_port())
    try:
        cluster.init(secrets.token_hex(16))
        cluster.start()
    except BaseException:
        cluster.destroy()
        shutil.rmtree(root, ignore_errors=True)
        raise
    return cluster, root


@pytest.fixture(scope="session")
def sql_stack(store_server: StoreProcess) -> Iterator[SqlStack]:
    cluster, root = new_cluster("pgs3v-sql-")
    host: FunctionHostProcess | None = None
    try:
        host = start_function_host(store_server.endpoint)
        yield SqlStack(cluster, store_server, host, root)
    finally:
        if host is not None:
            host.stop()
        cluster.destroy()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def database(sql_stack: SqlStack) -> str:
    """The test database with pgs3v installed and the login users created; its DSN."""
    dsn = sql_stack.create_database(DATABASE)
    install_schema(dsn, function_endpoint=sql_stack.host.endpoint, access_key_id=ACCESS_KEY_ID,
                   secret_access_key=SECRET_ACCESS_KEY, timeout_seconds=30)
    with sql_stack.connect() as conn:
        for user, group in USERS.items():
            conn.execute(f"DROP ROLE IF EXISTS {user}")
            conn.execute(f"CREATE ROLE {user} LOGIN IN ROLE {group}")
    return dsn


def _session_connection(sql_stack: SqlStack, database: str, user: str) -> Iterator[Connection]:
    conn = sql_stack.connect(user=user)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture(scope="session")
def db(sql_stack: SqlStack, database: str) -> Iterator[Connection]:
    """A superuser connection to the test database."""
    yield from _session_connection(sql_stack, database, "postgres")


@pytest.fixture(scope="session")
def reader(sql_stack: SqlStack, database: str) -> Iterator[Connection]:
    """alice, a member of pgs3v_reader."""
    yield from _session_connection(sql_stack, database, "alice")


@pytest.fixture(scope="session")
def writer(sql_stack: SqlStack, database: str) -> Iterator[Connection]:
    """walter, a member of pgs3v_writer."""
    yield from _session_connection(sql_stack, database, "walter")


@pytest.fixture(scope="session")
def admin(sql_stack: SqlStack, database: str) -> Iterator[Connection]:
    """ada, a member of pgs3v_admin."""
    yield from _session_connection(sql_stack, database, "ada")


@pytest.fixture
def bucket(db: Connection) -> str:
    """A new, empty vector bucket."""
    name = unique("sql-bucket")
    db.execute("SELECT s3vectors.create_vector_bucket(%s)", (name,))
    return name


@pytest.fixture
def index(db: Connection, bucket: str) -> tuple[str, str]:
    """A new 3-dimensional cosine index (metadata key "text" not filterable): (bucket, index)."""
    name = unique("idx")
    db.execute("SELECT s3vectors.create_index(%s, %s, 3, 'cosine', non_filterable_metadata_keys => '{text}')",
               (bucket, name))
    return bucket, name


def scalar(conn: Connection, query: str, params: Any = None) -> Any:
    """The first column of the first row."""
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def sql_error(conn: Connection, query: str, params: Any = None) -> psycopg.Error:
    """The error a statement raises (it must raise)."""
    try:
        conn.execute(query, params)
    except psycopg.Error as error:
        return error
    raise AssertionError(f"no error from: {query}")
