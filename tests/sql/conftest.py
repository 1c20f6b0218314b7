"""SQL fixtures: a private PostgreSQL 15 cluster, the session's store, a function host, and pgs3v installed.

Everything is real: PL/Python calls the function host over HTTP, the host runs the bridge, the
bridge calls the store. Login roles ``alice`` (reader), ``walter`` (writer) and ``ada`` (admin)
connect over the cluster's private socket.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgs3v.auth.credentials import Credentials
from pgs3v.bridge.process import FunctionHostProcess
from pgs3v.stack.startup import Connection as Connection  # re-exported: the tests import it from here
from pgs3v.stack.startup import RunningStack, function_host, running_stack
from tests.support import ACCESS_KEY_ID, SECRET_ACCESS_KEY, StoreProcess, require_postgres

ROOT = Path(__file__).resolve().parent.parent.parent
CREDENTIALS = Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
HANDLERS = "tests.sql.handlers"
TEST_FUNCTIONS = {"pgs3v-test-echo": f"{HANDLERS}.echo", "pgs3v-test-fail": f"{HANDLERS}.fail",
                  # The bridge under two more names, as AWS deploys it (test_routing.py)
                  "pgs3v-test-query": f"{HANDLERS}.routed", "pgs3v-test-write": f"{HANDLERS}.routed"}
DATABASE = "pgs3v_sql_tests"
# login role -> the pgs3v group role it is granted
USERS = {"alice": "pgs3v_reader", "walter": "pgs3v_writer", "ada": "pgs3v_admin"}
# The session's stack; dsn() and connect() reach DATABASE unless told otherwise.
SqlStack = RunningStack

_names = itertools.count()


def unique(prefix: str) -> str:
    """A bucket or index name no other test uses (3-63 characters of a-z, 0-9 and -)."""
    return f"{prefix}-{os.getpid()}-{next(_names)}"


def _host_environment() -> dict[str, str]:
    # The bridge's INFO lines say how many calls each statement made; tests read them from the log.
    return {**os.environ, "PGS3V_BRIDGE_LOG_LEVEL": "INFO"}


def start_function_host(store_endpoint: str, port: int | None = None) -> FunctionHostProcess:
    """A function host serving pgs3v-bridge and the test functions, logging the bridge's calls."""
    # cwd=ROOT puts the tests package on the host's sys.path, for the test functions.
    host = function_host(store_endpoint, CREDENTIALS, functions=TEST_FUNCTIONS, port=port, cwd=ROOT)
    return host.start(_host_environment())


@pytest.fixture(scope="session")
def sql_stack(store_server: StoreProcess) -> Iterator[SqlStack]:
    """PostgreSQL with pgs3v in DATABASE, and a function host in front of the session's store."""
    require_postgres()
    with running_stack({DATABASE: None}, prefix="pgs3v-sql-", store=store_server, functions=TEST_FUNCTIONS,
                       host_cwd=ROOT, host_environ=_host_environment()) as stack:
        yield stack


@pytest.fixture(scope="session")
def database(sql_stack: SqlStack) -> str:
    """The test database, pgs3v installed, with the login users created; its DSN."""
    with sql_stack.connect() as conn:
        for user, group in USERS.items():
            conn.execute(f"DROP ROLE IF EXISTS {user}")
            conn.execute(f"CREATE ROLE {user} LOGIN IN ROLE {group}")
    return sql_stack.dsn()


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
