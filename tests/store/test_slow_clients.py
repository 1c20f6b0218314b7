"""Slow and abusive clients cannot hold the store: head and body deadlines, a connection cap,
and unsigned requests refused from their headers, before any body is read.

Real servers, raw sockets (a slow client is exactly what no HTTP library will be): every
answer is a complete response in the AWS error shape, followed by the connection's close.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import StoreProcess, client, signed_head


@pytest.fixture(scope="module")
def impatient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreProcess]:
    """A store that gives a request head and a stalled body one second each."""
    server = StoreProcess(tmp_path_factory.mktemp("impatient") / "data", extra_args=(
        "--limit", "http_head_seconds=1", "--limit", "http_body_idle_seconds=1")).start()
    try:
        yield server
    finally:
        server.stop()


def _connect(server: StoreProcess) -> socket.socket:
    # The timeout only turns a server that never answers into a failure, not a stuck run.
    return socket.create_connection(("127.0.0.1", server.port), timeout=30)


def _until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def _error(answer: bytes) -> tuple[int, str, dict[str, str]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    assert int(headers["content-length"]) == len(body), answer
    return int(lines[0].split()[1]), headers.get("connection", ""), json.loads(body)


@pytest.mark.parametrize("sent", [b"", b"POST /ListVectorBuckets HTTP/1.1\r\nHost: x\r\n"], ids=["nothing", "half"])
def test_a_request_head_that_never_completes_is_answered_408(impatient: StoreProcess, sent: bytes) -> None:
    with _connect(impatient) as sock:
        sock.sendall(sent)
        status, connection, body = _error(_until_closed(sock))
    assert (status, connection, body["__type"]) == (408, "close", "RequestTimeoutException")
    assert "request head" in body["message"]


def test_a_stalled_body_is_answered_408(impatient: StoreProcess) -> None:
    body = json.dumps({"vectorBucketName": "slow-body-bucket", "padding": "x" * 1000}).encode()
    with _connect(impatient) as sock:
        sock.sendall(signed_head(impatient, "GetVectorBucket", body) + body[:10])
        status, connection, error = _error(_until_closed(sock))
    assert (status, connection, error["__type"]) == (408, "close", "RequestTimeoutException")
    assert "body stalled" in error["message"]


def test_an_unsigned_request_is_refused_before_its_body(impatient: StoreProcess) -> None:
    # 10 MB announced, not a byte of it sent: the 403 comes from the headers alone (not a 408);
    # the connection then ends at the body deadline.
    head = (f"POST /PutVectors HTTP/1.1\r\nHost: 127.0.0.1:{impatient.port}\r\n"
            "Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n").encode()
    with _connect(impatient) as sock:
        sock.sendall(head)
        status, _, error = _error(_until_closed(sock))
    assert (status, error["__type"]) == (403, "MissingAuthenticationTokenException")


def test_a_client_that_leaves_mid_body_is_one_log_line(impatient: StoreProcess) -> None:
    body = json.dumps({"vectorBucketName": "gone-bucket", "padding": "x" * 1000}).encode()
    with _connect(impatient) as sock:
        sock.sendall(signed_head(impatient, "GetVectorBucket", body) + body[:10])
    log = impatient.log_file
    deadline = time.monotonic() + 30
    while "went away" not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.05)
    text = log.read_text()
    assert "Traceback" not in text, text[-4000:]
    assert client(impatient.endpoint).list_vector_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200


def _health(sock: socket.socket) -> bytes:
    sock.sendall(b"GET /_pgs3v/health HTTP/1.1\r\nHost: x\r\n\r\n")
    return sock.recv(65536)


def test_connections_beyond_the_cap_are_answered_503(tmp_path: Path) -> None:
    server = StoreProcess(tmp_path / "data", extra_args=("--limit", "http_max_connections=3")).start()
    held: list[socket.socket] = []
    try:
        for _ in range(3):
            held.append(_connect(server))
            assert _health(held[-1]).startswith(b"HTTP/1.1 200 ")  # served and kept alive
        with _connect(server) as extra:
            status, connection, error = _error(_until_closed(extra))
        assert (status, connection, error["__type"]) == (503, "close", "ServiceUnavailableException")
        held.pop().close()
        # Once one leaves, a new connection is served again (the close reaches the server first).
        deadline = time.monotonic() + 30
        while True:
            with _connect(server) as sock:
                if _health(sock).startswith(b"HTTP/1.1 200 "):
                    break
            assert time.monotonic() < deadline, "no connection was served after one closed"
            time.sleep(0.05)
        assert "refused a connection" in server.log_file.read_text()
    finally:
        for sock in held:
            sock.close()
        server.stop()
