"""The aws_lambda shim: Aurora's aws_lambda.invoke and aws_commons, over HTTP to the real function host."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pgs3v.sql_schema.installer import install_schema
from pgs3v.sql_schema.scripts import sql_directory
from pgs3v.store.process import free_port
from tests.sql.conftest import Connection, SqlStack, scalar, sql_error, start_function_host
from tests.support import ACCESS_KEY_ID, SECRET_ACCESS_KEY

ECHO = "pgs3v-test-echo"

# Aurora's documented signatures (AWS Lambda function reference for Aurora PostgreSQL).
AURORA_SIGNATURES = {
    "function_name text, payload json, region text DEFAULT NULL::text, invocation_type text DEFAULT "
    "'RequestResponse'::text, log_type text DEFAULT 'None'::text, context json DEFAULT NULL::json, "
    "qualifier character varying DEFAULT NULL::character varying, OUT status_code integer, OUT payload json, "
    "OUT executed_version text, OUT log_result text",
    "function_name text, payload jsonb, region text DEFAULT NULL::text, invocation_type text DEFAULT "
    "'RequestResponse'::text, log_type text DEFAULT 'None'::text, context jsonb DEFAULT NULL::jsonb, "
    "qualifier character varying DEFAULT NULL::character varying, OUT status_code integer, OUT payload jsonb, "
    "OUT executed_version text, OUT log_result text",
    "function_name aws_commons._lambda_function_arn_1, payload json, invocation_type text DEFAULT "
    "'RequestResponse'::text, log_type text DEFAULT 'None'::text, context json DEFAULT NULL::json, "
    "qualifier character varying DEFAULT NULL::character varying, OUT status_code integer, OUT payload json, "
    "OUT executed_version text, OUT log_result text",
    "function_name aws_commons._lambda_function_arn_1, payload jsonb, invocation_type text DEFAULT "
    "'RequestResponse'::text, log_type text DEFAULT 'None'::text, context jsonb DEFAULT NULL::jsonb, "
    "qualifier character varying DEFAULT NULL::character varying, OUT status_code integer, OUT payload jsonb, "
    "OUT executed_version text, OUT log_result text",
}


def test_the_four_overloads_have_auroras_signatures(db: Connection) -> None:
    rows = db.execute(
        "SELECT pg_get_function_arguments(p.oid) FROM pg_proc AS p WHERE p.oid::regprocedure::text LIKE "
        "'aws_lambda.invoke(%%'"
    ).fetchall()
    assert {row[0] for row in rows} == AURORA_SIGNATURES


@pytest.mark.parametrize(
    ("call", "payload_type"),
    [
        ("aws_lambda.invoke(%s, %s::json)", "json"),
        ("aws_lambda.invoke(%s, %s::jsonb)", "jsonb"),
        ("aws_lambda.invoke(aws_commons.create_lambda_function_arn(%s), %s::json)", "json"),
        ("aws_lambda.invoke(aws_commons.create_lambda_function_arn(%s, 'us-east-1'), %s::jsonb)", "jsonb"),
    ],
)
def test_each_overload_invokes_the_function(db: Connection, call: str, payload_type: str) -> None:
    event = {"greeting": "hello from Postgres", "n": [1, 2.5], "nested": {"quote": "it's \"fine\""}}
    row = db.execute(
        f"SELECT status_code, payload, pg_typeof(payload)::text, executed_version, log_result FROM {call}",
        (ECHO, json.dumps(event)),
    ).fetchone()
    assert row is not None
    status, payload, kind, version, log = row
    assert (status, kind, version, log) == (200, payload_type, "$LATEST", None)
    assert payload["event"] == event


def test_create_lambda_function_arn_builds_the_composite(db: Connection) -> None:
    row = db.execute("SELECT (a).function_name, (a).region, pg_typeof(a)::text "
                     "FROM aws_commons.create_lambda_function_arn('my-function') AS a").fetchone()
    assert row == ("my-function", None, "aws_commons._lambda_function_arn_1")
    assert scalar(db, "SELECT (aws_commons.create_lambda_function_arn('f', 'eu-west-1')).region") == "eu-west-1"


def test_event_invocation_answers_202_without_payload(db: Connection) -> None:
    row = db.execute("SELECT * FROM aws_lambda.invoke(%s, '{\"x\": 1}'::jsonb, invocation_type => 'Event')",
                     (ECHO,)).fetchone()
    assert row is not None and row[0] == 202 and row[1] is None


def test_dry_run_answers_204_without_running_the_function(db: Connection) -> None:
    # The failing function would raise if it ran.
    row = db.execute("SELECT * FROM aws_lambda.invoke('pgs3v-test-fail', '{}'::json, NULL, 'DryRun')").fetchone()
    assert row is not None and row[0] == 204 and row[1] is None


def test_tail_returns_the_log_in_base64(db: Connection) -> None:
    log = scalar(db, "SELECT log_result FROM aws_lambda.invoke(%s, '{}'::jsonb, log_type => 'Tail')", (ECHO,))
    text = base64.b64decode(log).decode()
    assert "START RequestId" in text and "echo called" in text


def test_context_reaches_the_function(db: Connection) -> None:
    payload = scalar(db, "SELECT payload FROM aws_lambda.invoke(%s, '{}'::json, "
                         "context => '{\"custom\": {\"tenant\": \"t1\"}}'::json)", (ECHO,))
    assert payload["custom"] == {"tenant": "t1"}


def test_function_arn_and_qualifier(db: Connection) -> None:
    arn = f"arn:aws:lambda:us-east-1:000000000000:function:{ECHO}"
    payload = scalar(db, "SELECT payload FROM aws_lambda.invoke(%s, '{}'::jsonb, qualifier => '$LATEST')", (arn,))
    assert payload["arn"].endswith(f"function:{ECHO}:$LATEST")
    error = sql_error(db, "SELECT * FROM aws_lambda.invoke(%s, '{}'::jsonb, 'eu-west-1')", (arn,))
    assert error.sqlstate == "22023" and "conflicts with region 'us-east-1'" in str(error)


def test_unknown_function_or_version_is_an_invoke_api_error(db: Connection) -> None:
    error = sql_error(db, "SELECT * FROM aws_lambda.invoke('no-such-function', '{}'::jsonb)")
    assert error.sqlstate == "42883"
    assert "ResourceNotFoundException" in str(error) and "Function not found" in str(error)
    error = sql_error(db, "SELECT * FROM aws_lambda.invoke(%s, '{}'::jsonb, qualifier => '7')", (ECHO,))
    assert error.sqlstate == "42883"


def test_a_function_error_raises_lambda_invocation_failed(db: Connection) -> None:
    error = sql_error(db, "SELECT * FROM aws_lambda.invoke('pgs3v-test-fail', '{}'::jsonb)")
    assert error.sqlstate == "38000"
    assert str(error).startswith('lambda invocation failed: function "pgs3v-test-fail" at http://127.0.0.1:')
    assert "returned error \"Unhandled\"" in str(error)
    assert error.diag.message_detail == "details: RuntimeError: the test function failed on purpose"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("'bad name/../x', '{}'::jsonb", "invalid Lambda function name"),
        ("%s, '{}'::jsonb, invocation_type => 'requestresponse'", "invalid invocation_type 'requestresponse'"),
        ("%s, '{}'::jsonb, log_type => 'Full'", "invalid log_type 'Full'"),
        ("%s, '{}'::jsonb, qualifier => 'a b'", "invalid qualifier"),
        ("%s, '{}'::jsonb, region => 'US East'", "invalid region"),
    ],
)
def test_bad_arguments_are_refused_before_sending(db: Connection, arguments: str, message: str) -> None:
    params = (ECHO,) if "%s" in arguments else None
    error = sql_error(db, f"SELECT * FROM aws_lambda.invoke({arguments})", params)
    assert error.sqlstate == "22023" and message in str(error)


def notices(conn: Connection, statement: str) -> list[str]:
    """The notices a statement raises (PL/Python's plpy.notice), in order."""
    found: list[str] = []

    def keep(diagnostic: psycopg.errors.Diagnostic) -> None:
        found.append(diagnostic.message_primary or "")

    conn.add_notice_handler(keep)
    try:
        conn.execute(statement)
    finally:
        conn.remove_notice_handler(keep)
    return found


def shim_socket(conn: Connection) -> tuple[int, int]:
    """(file descriptor, TCP_NODELAY) of the shim's kept-alive connection in this session's backend."""
    (found,) = notices(conn, "DO $$\n"
                             "from socket import IPPROTO_TCP, TCP_NODELAY\n"
                             "sock = next(iter(GD['aws_lambda_shim/1.2'].connections.values()))\n"
                             "plpy.notice(f'{sock.fileno()} {sock.getsockopt(IPPROTO_TCP, TCP_NODELAY)}')\n"
                             "$$ LANGUAGE plpython3u")
    descriptor, nodelay = found.split()
    return int(descriptor), int(nodelay)


def test_calls_reuse_one_connection_with_tcp_nodelay(sql_stack: SqlStack, database: str) -> None:
    # Without TCP_NODELAY a small request can wait ~40 ms for the host's delayed ACK (Nagle).
    with sql_stack.connect() as conn:
        descriptors = set()
        for _ in range(3):
            assert scalar(conn, "SELECT status_code FROM aws_lambda.invoke(%s, '{}'::jsonb)", (ECHO,)) == 200
            descriptor, nodelay = shim_socket(conn)
            descriptors.add(descriptor)
            assert nodelay != 0
        assert len(descriptors) == 1


# Imported by shim 1.0 on the first call of every session: 20-23 ms of it (see aws_lambda_shim--1.0--1.1.sql).
HEAVY_MODULES = {"http.client", "ssl", "email", "json", "re", "urllib.parse", "socket", "base64", "encodings.idna"}


def test_the_first_call_of_a_session_imports_no_heavy_module(sql_stack: SqlStack, database: str) -> None:
    with sql_stack.connect() as conn:
        conn.execute("DO $$\nimport sys\nGD['test/modules'] = set(sys.modules)\n$$ LANGUAGE plpython3u")
        assert scalar(conn, "SELECT status_code FROM aws_lambda.invoke(%s, '{}'::jsonb)", (ECHO,)) == 200
        (loaded,) = notices(conn, "DO $$\nimport sys\n"
                                  "plpy.notice(' '.join(sorted(set(sys.modules) - GD.pop('test/modules'))))\n"
                                  "$$ LANGUAGE plpython3u")
    assert "_socket" in loaded.split() and not HEAVY_MODULES & set(loaded.split()), loaded


def test_an_upgraded_shim_runs_its_new_code_in_a_live_session(
    sql_stack: SqlStack, lonely_database: tuple[Connection, str], tmp_path: Path
) -> None:
    conn, dsn = lonely_database
    only_1_0 = tmp_path / "sql"
    only_1_0.mkdir()
    for script in sql_directory().glob("*.sql"):
        if not script.name.startswith("aws_lambda_shim--1.0--") and not script.name.startswith("aws_lambda_shim--1.1"):
            shutil.copy(script, only_1_0)
    report = install_schema(dsn, function_endpoint=sql_stack.host.endpoint, access_key_id=ACCESS_KEY_ID,
                            secret_access_key=SECRET_ACCESS_KEY, scripts_directory=only_1_0)
    assert report.lambda_provider == "aws_lambda_shim 1.0"
    assert scalar(conn, "SELECT status_code FROM aws_lambda.invoke(%s, '{}'::jsonb)", (ECHO,)) == 200
    upgraded = install_schema(dsn)
    assert upgraded.scripts_run == ["aws_lambda_shim--1.0--1.1.sql", "aws_lambda_shim--1.1--1.2.sql"]
    assert upgraded.lambda_provider == "aws_lambda_shim 1.2" and upgraded.shim_configured
    # The same backend built the 1.0 helpers; the upgraded function builds and uses its own.
    payload = scalar(conn, "SELECT payload FROM aws_lambda.invoke(%s, '{\"n\": 1}'::jsonb)", (ECHO,))
    assert payload["event"] == {"n": 1}
    (keys,) = notices(conn, "DO $$\nplpy.notice(' '.join(sorted(GD)))\n$$ LANGUAGE plpython3u")
    assert {"aws_lambda_shim/1.0", "aws_lambda_shim/1.2"} <= set(keys.split())


class CannedHttpServer:
    """A real HTTP/1.x server on a free port that answers each connection's requests from a script.

    Each entry of ``answers`` is the raw bytes of one answer; the server closes the connection
    after an answer that says ``Connection: close`` or has no length, as HTTP requires.
    """

    def __init__(self, answers: list[bytes]) -> None:
        self.answers = list(answers)
        self.connections = 0
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.endpoint = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.answers:
            try:
                peer, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            with peer:
                while self.answers:
                    request = b""
                    while b"\r\n\r\n" not in request:
                        data = peer.recv(65536)
                        if not data:
                            break
                        request += data
                    if not data:
                        break
                    head, _, body = request.partition(b"\r\n\r\n")
                    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                      if line.lower().startswith(b"content-length:")))
                    while len(body) < length:
                        body += peer.recv(65536)
                    answer = self.answers.pop(0)
                    peer.sendall(answer)
                    if b"connection: close" in answer.lower() or b"content-length" not in answer.lower():
                        break

    def close(self) -> None:
        """Stop listening."""
        self.listener.close()
        self.thread.join(timeout=5)


def test_chunked_closing_and_http_1_0_answers_are_read(lonely_database: tuple[Connection, str]) -> None:
    conn, dsn = lonely_database
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
               b"X-Amz-Executed-Version: $LATEST\r\n\r\n"
               b"8\r\n{\"part\":\r\n4;ext=1\r\n \"on\r\n2\r\ne\"\r\n1\r\n}\r\n0\r\nTrailer: x\r\n\r\n")
    length = b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"part\": 2}"
    until_closed = b"HTTP/1.0 200 OK\r\n\r\n{\"part\": 3}"
    server = CannedHttpServer([chunked, length, until_closed])
    try:
        install_schema(dsn, function_endpoint=server.endpoint, access_key_id=ACCESS_KEY_ID,
                       secret_access_key=SECRET_ACCESS_KEY, timeout_seconds=5)
        answers = [conn.execute("SELECT payload, executed_version FROM aws_lambda.invoke('f', '{}'::jsonb)").fetchone()
                   for _ in range(3)]
    finally:
        server.close()
    assert answers == [({"part": "one"}, "$LATEST"), ({"part": 2}, None), ({"part": 3}, None)]
    assert server.connections == 2  # a new one after the closing answer, the next one kept


def test_a_host_that_breaks_http_is_a_protocol_error(lonely_database: tuple[Connection, str]) -> None:
    conn, dsn = lonely_database
    # An answer that is not HTTP, then one announcing more body than the shim accepts (32 MiB).
    server = CannedHttpServer([b"SMTP ready\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n"])
    try:
        install_schema(dsn, function_endpoint=server.endpoint, access_key_id=ACCESS_KEY_ID,
                       secret_access_key=SECRET_ACCESS_KEY, timeout_seconds=5)
        errors = [sql_error(conn, "SELECT * FROM aws_lambda.invoke('f', '{}'::jsonb)") for _ in range(2)]
    finally:
        server.close()
    assert {error.sqlstate for error in errors} == {"08P01"}
    assert all("broke the HTTP protocol" in str(error) for error in errors)
    assert "bad status line" in str(errors[0]) and "Content-Length 99999999999 is not between" in str(errors[1])


@pytest.fixture
def lonely_database(sql_stack: SqlStack) -> Iterator[tuple[Connection, str]]:
    """A database whose shim points at a port of its own (2 s timeout): (superuser connection, DSN)."""
    dsn = sql_stack.create_database("pgs3v_sql_lonely")
    with sql_stack.connect("pgs3v_sql_lonely") as conn:
        yield conn, dsn


def test_a_restarted_host_is_reconnected_transparently(
    sql_stack: SqlStack, lonely_database: tuple[Connection, str]
) -> None:
    conn, dsn = lonely_database
    host = start_function_host(sql_stack.store.endpoint)
    try:
        install_schema(dsn, function_endpoint=host.endpoint, access_key_id=ACCESS_KEY_ID,
                       secret_access_key=SECRET_ACCESS_KEY, timeout_seconds=5)
        assert scalar(conn, "SELECT status_code FROM aws_lambda.invoke(%s, '{}'::jsonb)", (ECHO,)) == 200
        # The kept-alive connection of this backend dies with the old host process.
        host.stop()
        host.start()
        assert scalar(conn, "SELECT status_code FROM aws_lambda.invoke(%s, '{}'::jsonb)", (ECHO,)) == 200
    finally:
        host.stop()


def test_nobody_listening_is_a_clear_error(sql_stack: SqlStack, lonely_database: tuple[Connection, str]) -> None:
    conn, dsn = lonely_database
    endpoint = f"http://127.0.0.1:{free_port()}"
    install_schema(dsn, function_endpoint=endpoint, access_key_id=ACCESS_KEY_ID,
                   secret_access_key=SECRET_ACCESS_KEY, timeout_seconds=2)
    error = sql_error(conn, "SELECT * FROM aws_lambda.invoke('pgs3v-bridge', '{}'::jsonb)")
    assert error.sqlstate == "08001"
    assert f"invoke API failed: could not connect to the function host at {endpoint}" in str(error)
    assert "Connection refused" in str(error)
    # The same error reaches the s3vectors functions.
    error = sql_error(conn, "SELECT * FROM s3vectors.list_vector_buckets()")
    assert error.sqlstate == "08001" and endpoint in str(error)


def test_a_host_that_never_answers_times_out(sql_stack: SqlStack, lonely_database: tuple[Connection, str]) -> None:
    conn, dsn = lonely_database
    # Accepts connections (the kernel completes the handshake) and reads, but never answers.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def swallow() -> None:
        silent.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(silent.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=swallow, daemon=True)
    thread.start()
    try:
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        install_schema(dsn, function_endpoint=endpoint, access_key_id=ACCESS_KEY_ID,
                       secret_access_key=SECRET_ACCESS_KEY, timeout_seconds=2)
        error = sql_error(conn, "SELECT * FROM s3vectors.query_vectors('b', 'i', '{1,2}'::real[])")
        assert error.sqlstate == "08006"
        assert f"invoke API failed: no answer from the function host at {endpoint} within 2 s" in str(error)
    finally:
        stop.set()
        thread.join()
        for peer in accepted:
            peer.close()
        silent.close()


def test_an_unconfigured_shim_says_how_to_configure_it(
    sql_stack: SqlStack, lonely_database: tuple[Connection, str]
) -> None:
    conn, dsn = lonely_database
    install_schema(dsn)
    error = sql_error(conn, "SELECT * FROM aws_lambda.invoke('pgs3v-bridge', '{}'::jsonb)")
    assert error.sqlstate == "55000" and "no endpoint configured" in str(error)
    assert "pgs3v schema install --function-endpoint" in (error.diag.message_hint or "")


def test_wrong_credentials_are_refused_by_the_host(
    sql_stack: SqlStack, lonely_database: tuple[Connection, str]
) -> None:
    conn, dsn = lonely_database
    install_schema(dsn, function_endpoint=sql_stack.host.endpoint, access_key_id=ACCESS_KEY_ID,
                   secret_access_key="not-the-secret", timeout_seconds=5)
    error = sql_error(conn, "SELECT * FROM aws_lambda.invoke('pgs3v-bridge', '{}'::jsonb)")
    assert error.sqlstate == "28000" and "InvalidSignatureException" in str(error)
