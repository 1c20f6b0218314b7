"""The store over HTTPS: a CA made in the test, boto3 verifying against it, one and two worker processes."""

from __future__ import annotations

import asyncio
import socket
import ssl
from pathlib import Path
from typing import Any

import boto3
import pytest
import trustme
import uvloop
from botocore.config import Config
from botocore.credentials import Credentials as BotoCredentials
from botocore.exceptions import SSLError
from click.testing import CliRunner

from pgs3v.bridge.json_transport import JsonTransport
from pgs3v.cli import main
from pgs3v.tls import ServerTls, client_context, server_context
from tests.certificates import TestCertificates, make_certificates
from tests.support import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, StoreProcess


def _client(endpoint: str, verify: str | bool) -> Any:
    return boto3.session.Session().client(
        "s3vectors", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY, verify=verify, config=Config(retries={"total_max_attempts": 1}))


def test_boto3_trusting_the_ca_works_over_https(tls_store: StoreProcess, certificates: TestCertificates) -> None:
    assert tls_store.endpoint.startswith("https://127.0.0.1:")
    s3v = _client(tls_store.endpoint, str(certificates.ca_file))
    s3v.create_vector_bucket(vectorBucketName="over-tls")
    names = [bucket["vectorBucketName"] for bucket in s3v.list_vector_buckets()["vectorBuckets"]]
    assert "over-tls" in names
    # By name too: the certificate names localhost as well as 127.0.0.1.
    by_name = _client(tls_store.endpoint.replace("127.0.0.1", "localhost"), str(certificates.ca_file))
    assert by_name.get_vector_bucket(vectorBucketName="over-tls")["vectorBucket"]["vectorBucketName"] == "over-tls"


def test_a_client_without_the_ca_fails_verification(tls_store: StoreProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
    with pytest.raises(SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        _client(tls_store.endpoint, True).list_vector_buckets()


def test_another_cas_certificate_fails_verification(tls_store: StoreProcess, tmp_path: Path) -> None:
    stranger = make_certificates(tmp_path)  # a CA of its own, which did not sign the store's certificate
    with pytest.raises(SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        _client(tls_store.endpoint, str(stranger.ca_file)).list_vector_buckets()


def test_the_json_transport_verifies_and_keeps_tcp_nodelay(
    tls_store: StoreProcess, certificates: TestCertificates, tmp_path: Path
) -> None:
    credentials = BotoCredentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
    transport = JsonTransport(tls_store.endpoint, credentials, REGION, 5.0, 30.0, str(certificates.ca_file))
    try:
        assert "vectorBuckets" in transport.call("ListVectorBuckets", {})
        sock = transport._local.connection.sock
        assert isinstance(sock, ssl.SSLSocket)
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        transport.close()
    untrusting = JsonTransport(tls_store.endpoint, credentials, REGION, 5.0, 30.0,
                               str(make_certificates(tmp_path).ca_file))
    with pytest.raises(SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        untrusting.call("ListVectorBuckets", {})


def test_plain_http_to_the_tls_port_is_closed_and_the_server_goes_on(
    tls_store: StoreProcess, certificates: TestCertificates
) -> None:
    _plain_http_is_closed(tls_store.port)
    assert tls_store.process is not None and tls_store.process.poll() is None
    assert "vectorBuckets" in _client(tls_store.endpoint, str(certificates.ca_file)).list_vector_buckets()


def _plain_http_is_closed(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as plain:
        plain.sendall(b"GET /_pgs3v/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = b""
        while chunk := plain.recv(4096):  # ends when the server closes; a hang is a socket timeout
            answer += chunk
    assert not answer.startswith(b"HTTP/")  # never served as plain HTTP


def test_two_workers_serve_tls(tmp_path: Path, certificates: TestCertificates) -> None:
    shared = tmp_path / "objects"
    server = StoreProcess(tmp_path / "data", extra_args=("--workers", "2", "--storage", f"file://{shared}"),
                          tls=certificates.server, ca_file=certificates.ca_file)
    server.start()
    try:
        # Each client its own connection; the parent hands them to the workers in turn.
        clients = [_client(server.endpoint, str(certificates.ca_file)) for _ in range(4)]
        clients[0].create_vector_bucket(vectorBucketName="two-workers")
        for s3v in clients:
            assert s3v.get_vector_bucket(vectorBucketName="two-workers")["vectorBucket"]["vectorBucketName"]
        _plain_http_is_closed(server.port)
        assert "vectorBuckets" in clients[1].list_vector_buckets()
        with pytest.raises(SSLError, match="CERTIFICATE_VERIFY_FAILED"):
            _client(server.endpoint, str(make_certificates(tmp_path / "other").ca_file)).list_vector_buckets()
    finally:
        log = server.stop()
    assert "2 workers" in log and f"https://127.0.0.1:{server.port}" in log
    assert "Traceback" not in log


def test_tls_accepted_sockets_keep_tcp_nodelay(certificates: TestCertificates) -> None:
    # What both servers rely on: uvloop's TLS transports, listening (uvicorn) or handed an accepted
    # socket (a store worker), sit on a TCP socket with TCP_NODELAY.
    context = server_context(certificates.server)
    seen: list[int] = []

    class Recorder(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Recorder, "127.0.0.1", 0, ssl=context)
        port = server.sockets[0].getsockname()[1]
        await _handshake(port, certificates)
        server.close()
        listener = socket.create_server(("127.0.0.1", 0))
        accepting = loop.run_in_executor(None, listener.accept)
        handshake = asyncio.ensure_future(_handshake(listener.getsockname()[1], certificates))
        accepted, _ = await accepting
        await loop.connect_accepted_socket(Recorder, accepted, ssl=context)
        await handshake
        listener.close()

    uvloop.run(scenario())
    assert len(seen) == 2 and all(seen), seen


async def _handshake(port: int, certificates: TestCertificates) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_context(certificates.ca_file))
    await reader.read()
    writer.close()


def _serve(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["store", "serve", *args])
    return result.exit_code, result.output


def test_serve_refuses_half_a_pair_unreadable_files_and_a_foreign_key(
    tmp_path: Path, certificates: TestCertificates
) -> None:
    data = ("--data-dir", str(tmp_path / "data"), "--port", "1")
    code, output = _serve(*data, "--tls-cert", str(certificates.server.cert_file))
    assert code == 2 and "--tls-cert needs --tls-key too" in output
    code, output = _serve(*data, "--tls-key", str(certificates.server.key_file))
    assert code == 2 and "--tls-key needs --tls-cert too" in output
    missing = tmp_path / "missing.pem"
    code, output = _serve(*data, "--tls-cert", str(missing), "--tls-key", str(certificates.server.key_file))
    assert code == 1 and f"cannot read --tls-cert {missing}: No such file or directory" in output
    other = trustme.CA().issue_cert("127.0.0.1")
    foreign_key = tmp_path / "foreign-key.pem"
    other.private_key_pem.write_to_path(str(foreign_key))
    code, output = _serve(*data, "--tls-cert", str(certificates.server.cert_file), "--tls-key", str(foreign_key))
    assert code == 1 and f"the key in {foreign_key} does not belong to the certificate" in output
    assert len(output.strip().splitlines()) == 1, output
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello\n")
    with pytest.raises(Exception, match=r"cannot load the certificate .*not\.pem"):
        server_context(ServerTls(not_pem, certificates.server.key_file))
    assert not (tmp_path / "data").exists()  # refused before the store opened anything


def test_clients_built_without_a_ca_honour_aws_ca_bundle(
    tls_store: StoreProcess, certificates: TestCertificates, monkeypatch: pytest.MonkeyPatch
) -> None:
    # How the CLI's commands (bench, sync, demo, doctor) build their clients: no verify, no CA file.
    monkeypatch.setenv("AWS_CA_BUNDLE", str(certificates.ca_file))
    s3v = boto3.session.Session().client(
        "s3vectors", endpoint_url=tls_store.endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY)
    assert "vectorBuckets" in s3v.list_vector_buckets()
    transport = JsonTransport(tls_store.endpoint, BotoCredentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), REGION, 5.0, 30.0)
    try:
        assert "vectorBuckets" in transport.call("ListVectorBuckets", {})
    finally:
        transport.close()
