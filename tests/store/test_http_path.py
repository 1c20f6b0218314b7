"""The store's request path over HTTP: one write per answer, the same headers on every route.

``POST /<Operation>`` is served by the store's own small ASGI app, every other route by
Starlette; these pin that a caller cannot tell the two apart, and that each answer reaches the
caller in one write (the head held back for the body, see ``pgs3v.http_protocol``).
"""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any
from urllib.parse import quote

from pgs3v.http_protocol import HeadHoldingTransport
from tests.support import StoreProcess, signed_head

_PER_ANSWER = {"x-amzn-requestid", "content-length", "content-type", "date", "server"}


def _first_read(store_server: StoreProcess, request: bytes) -> bytes:
    """What one read of the socket returns after sending ``request``."""
    with socket.create_connection(("127.0.0.1", store_server.port), timeout=60) as sock:
        sock.sendall(request)
        return sock.recv(1 << 20)


def _complete(answer: bytes) -> bool:
    head, separator, body = answer.partition(b"\r\n\r\n")
    length = int(head.lower().partition(b"content-length: ")[2].partition(b"\r\n")[0])
    return bool(separator) and len(body) == length


def _exchange(store_server: StoreProcess, method: str, path: str,
              body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", store_server.port, timeout=60)
    try:
        connection.request(method, path, body=body or None)
        reply = connection.getresponse()
        return reply.status, {name.lower(): value for name, value in reply.getheaders()}, reply.read()
    finally:
        connection.close()


def test_an_answer_arrives_in_one_write(store_server: StoreProcess) -> None:
    # Head and body in one segment: the first read already holds the whole answer.
    answer = _first_read(store_server, signed_head(store_server, "ListVectorBuckets", b"{}") + b"{}")
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert _complete(answer)
    assert "vectorBuckets" in json.loads(answer.partition(b"\r\n\r\n")[2])


def test_an_error_arrives_in_one_write(store_server: StoreProcess) -> None:
    unsigned = (f"POST /ListVectorBuckets HTTP/1.1\r\nHost: 127.0.0.1:{store_server.port}\r\n"
                "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}").encode()
    answer = _first_read(store_server, unsigned)
    assert answer.startswith(b"HTTP/1.1 403 ")
    assert _complete(answer)


def test_operation_and_starlette_routes_answer_errors_alike(store_server: StoreProcess) -> None:
    arn = quote("arn:aws:s3vectors:us-east-1:000000000000:bucket/b1", safe="")
    answers = [_exchange(store_server, "POST", "/ListVectorBuckets", b"{}"),  # the operation route
               _exchange(store_server, "GET", f"/tags/{arn}")]  # through Starlette
    for status, headers, body in answers:
        assert status == 403
        assert set(headers) == _PER_ANSWER | {"x-amzn-errortype"}
        assert headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
        assert headers["content-type"] == "application/json"
        assert int(headers["content-length"]) == len(body)
        assert len(headers["x-amzn-requestid"]) == 32
        assert json.loads(body) == {"__type": "MissingAuthenticationTokenException",
                                    "message": "Missing Authentication Token"}
    assert answers[0][1]["x-amzn-requestid"] != answers[1][1]["x-amzn-requestid"]


def test_health_answers_with_the_same_headers(store_server: StoreProcess) -> None:
    status, headers, body = _exchange(store_server, "GET", "/_pgs3v/health")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    assert set(headers) == _PER_ANSWER


def test_a_head_request_is_answered_and_the_connection_goes_on(store_server: StoreProcess) -> None:
    # uvicorn writes no body for HEAD, so the held head must go out when the answer completes.
    connection = http.client.HTTPConnection("127.0.0.1", store_server.port, timeout=60)
    try:
        connection.request("HEAD", "/_pgs3v/health")
        reply = connection.getresponse()
        assert (reply.status, reply.read()) == (200, b"")
        connection.request("GET", "/_pgs3v/health")
        assert json.loads(connection.getresponse().read()) == {"status": "ok"}
    finally:
        connection.close()


def _unknown_operation(answer: tuple[int, dict[str, str], bytes], method: str, path: str) -> None:
    status, headers, body = answer
    assert (status, headers["x-amzn-errortype"], headers["content-type"]) == (
        404, "UnknownOperationException", "application/json")
    assert json.loads(body) == {"__type": "UnknownOperationException", "message": f"Unknown operation: {method} {path}"}


def test_requests_no_operation_claims_answer_unknown_operation(
    store_server: StoreProcess,
) -> None:
    # What AWS's frameworks answer when no operation claims a request: 404 UnknownOperationException,
    # for a known path with another method too, and before authentication (nothing runs).
    _unknown_operation(_exchange(store_server, "GET", "/ListVectorBuckets"), "GET", "/ListVectorBuckets")
    _unknown_operation(_exchange(store_server, "POST", "/ListVectorBuckets/", b"{}"), "POST", "/ListVectorBuckets/")
    _unknown_operation(_exchange(store_server, "POST", "/a/b", b"{}"), "POST", "/a/b")
    _unknown_operation(_exchange(store_server, "PUT", "/tags/x"), "PUT", "/tags/x")
    # HEAD, which Starlette adds to every GET route, has no tagging operation (it answered 500).
    status, headers, body = _exchange(store_server, "HEAD", "/tags/arn")
    assert (status, headers["x-amzn-errortype"], body) == (404, "UnknownOperationException", b"")


def test_an_unknown_operation_is_refused_as_aws_does(store_server: StoreProcess) -> None:
    answer = _first_read(store_server, signed_head(store_server, "NoSuchOperation", b"{}") + b"{}")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 404 ")
    assert json.loads(body) == {"__type": "UnknownOperationException",
                                "message": "Unknown operation: POST /NoSuchOperation"}


class _RecordingTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else None


def _holding() -> tuple[HeadHoldingTransport, _RecordingTransport]:
    recording = _RecordingTransport()
    return HeadHoldingTransport(recording), recording  # type: ignore[arg-type]


def test_a_head_is_sent_with_the_body_that_follows() -> None:
    holding, recording = _holding()
    holding.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    assert recording.writes == []
    holding.write(b"{}")
    assert recording.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]


def test_continue_goes_out_at_once_and_a_held_head_on_flush_or_close() -> None:
    holding, recording = _holding()
    holding.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert recording.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    holding.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
    holding.flush()
    assert recording.writes[-1] == b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
    holding.write(b"HTTP/1.1 500 Internal Server Error\r\n\r\n")
    holding.close()
    assert recording.writes[-1] == b"HTTP/1.1 500 Internal Server Error\r\n\r\n" and recording.closed
    assert holding.get_extra_info("peername") == ("127.0.0.1", 1)
