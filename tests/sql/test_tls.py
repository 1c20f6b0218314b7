"""The aws_lambda shim calling a function host over HTTPS, trusting the CA stored in its settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pgs3v.bridge.process import FunctionHostProcess
from pgs3v.sql_schema.installer import install_schema
from tests.certificates import TestCertificates, make_certificates
from tests.sql.conftest import CREDENTIALS, HANDLERS, ROOT, Connection, SqlStack, scalar, sql_error
from tests.sql.test_shim import ECHO, notices
from tests.support import ACCESS_KEY_ID, SECRET_ACCESS_KEY


@pytest.fixture(scope="module")
def tls_host(sql_stack: SqlStack, certificates: TestCertificates) -> Iterator[FunctionHostProcess]:
    """A function host serving HTTPS with the test CA's certificate, in front of the session's store."""
    host = FunctionHostProcess(sql_stack.store.endpoint, CREDENTIALS, tls=certificates.server,
                               ca_file=certificates.ca_file, cwd=ROOT,
                               extra_args=("--function", f"{ECHO}={HANDLERS}.echo"))
    host.start()
    try:
        yield host
    finally:
        host.stop()


@pytest.fixture
def tls_database(sql_stack: SqlStack) -> Iterator[tuple[Connection, str]]:
    """A database of its own for each test, since each points the shim elsewhere: (connection, DSN)."""
    dsn = sql_stack.create_database("pgs3v_sql_tls")
    with sql_stack.connect("pgs3v_sql_tls") as conn:
        yield conn, dsn


def _install(dsn: str, endpoint: str, ca_certificates: str | None) -> None:
    install_schema(dsn, function_endpoint=endpoint, access_key_id=ACCESS_KEY_ID, secret_access_key=SECRET_ACCESS_KEY,
                   timeout_seconds=5, ca_certificates=ca_certificates)


def test_the_shim_calls_an_https_host_trusting_the_stored_ca(
    tls_host: FunctionHostProcess, certificates: TestCertificates, tls_database: tuple[Connection, str]
) -> None:
    conn, dsn = tls_database
    assert tls_host.endpoint.startswith("https://")
    _install(dsn, tls_host.endpoint, certificates.ca_file.read_text())
    payload = scalar(conn, "SELECT payload FROM aws_lambda.invoke(%s, '{\"n\": 1}'::jsonb)", (ECHO,))
    assert payload["event"] == {"n": 1}
    # The whole way: SQL -> shim -> https -> function host -> bridge -> store.
    assert scalar(conn, "SELECT count(*) FROM s3vectors.list_vector_buckets()") >= 0
    (found,) = notices(conn, "DO $$\n"
                             "import ssl\nfrom socket import IPPROTO_TCP, TCP_NODELAY\n"
                             "socks = list(GD['aws_lambda_shim/1.2'].connections.values())\n"
                             "plpy.notice(' '.join(f'{isinstance(s, ssl.SSLSocket)}:"
                             "{s.getsockopt(IPPROTO_TCP, TCP_NODELAY) != 0}' for s in socks))\n"
                             "$$ LANGUAGE plpython3u")
    assert found == "True:True"  # one kept-alive TLS connection, TCP_NODELAY still set
    ca = scalar(conn, "SELECT ca_certificates FROM aws_lambda_shim.configuration()")
    assert ca.startswith("-----BEGIN CERTIFICATE-----")


@pytest.mark.parametrize("trusted", ["another CA", "the system's CAs"])
def test_a_certificate_the_shim_does_not_trust_is_a_clear_error(
    tls_host: FunctionHostProcess, tls_database: tuple[Connection, str], tmp_path: Path, trusted: str
) -> None:
    conn, dsn = tls_database
    stranger = make_certificates(tmp_path).ca_file.read_text() if trusted == "another CA" else None
    _install(dsn, tls_host.endpoint, stranger)
    error = sql_error(conn, "SELECT * FROM aws_lambda.invoke(%s, '{}'::jsonb)", (ECHO,))
    assert error.sqlstate == "08001"
    assert (f"invoke API failed: the certificate of the function host at {tls_host.endpoint} did not verify: "
            "unable to get local issuer certificate") in str(error)
    assert "--tls-ca" in (error.diag.message_hint or "")
    # A name or date that does not match fails in the same place with OpenSSL's reason (the
    # doctor's tests cover those certificates).
