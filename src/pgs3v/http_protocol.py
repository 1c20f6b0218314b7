"""Our servers' HTTP protocol (store and function host): uvicorn's httptools, each response in one write.

uvicorn writes a response's status line and headers as soon as the app starts the response, and
the body in a second write once the app sends it (Starlette's middlewares run in between). With
TCP_NODELAY each write is its own segment, so the caller (the shim in a PostgreSQL backend calling
the function host, the bridge's JSON transport calling the store) is woken for the headers, finds
no body, and sleeps again until the second segment comes. Here the head is held back and written
together with the first piece of the body: one segment, one wake-up. Informational answers
(100 Continue) and writes that already carry a body go out at once, and a response that ends
without a body write (uvicorn writes none for HEAD) sends its head when it completes.

The protocol also guards the servers against slow and abusive clients (:class:`ConnectionGuards`),
which uvicorn leaves unbounded: a request's head must arrive within a deadline, its body may not
stall longer than another, and connections beyond a cap are answered 503 and closed at once, so
that idle sockets cannot use up the process's file handles. A timed-out request is answered 408
(when nothing was answered yet) and its connection closed, in one log line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import time
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("pgs3v.http")

_STATUS_LINE = b"HTTP/1.1 "
_INFORMATIONAL = b"HTTP/1.1 1"
_END_OF_HEAD = b"\r\n\r\n"
# How long a closing TLS connection waits for the client's close_notify.
_TLS_CLOSE_SECONDS = 2.0


class HeadHoldingTransport:
    """A transport that keeps a response head until the next write (or close) and sends both at once."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._head: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Write ``data``; a response head alone is held for the body that follows it."""
        if self._head is not None:
            data, self._head = self._head + bytes(data), None
        elif (isinstance(data, bytes) and data.startswith(_STATUS_LINE) and data.endswith(_END_OF_HEAD)
              and not data.startswith(_INFORMATIONAL)):
            self._head = data
            return
        self._transport.write(data)

    def close(self) -> None:
        """Send a held head, then close (a TLS connection within a bound, see below)."""
        self.flush()
        self._transport.close()
        if self._transport.get_extra_info("sslcontext") is not None:
            # Closing TLS waits for the client's close_notify, 30 s by default, and a client idling
            # on a kept-alive connection (urllib3's pool, botocore's) does not read to send it: every
            # server stop took 30 s. Past the bound the connection is dropped, once what was written
            # before the close has gone out (a slow reader of a large answer keeps its bytes).
            asyncio.get_running_loop().call_later(_TLS_CLOSE_SECONDS, self._drop_when_sent)

    def _drop_when_sent(self) -> None:
        if self._transport.get_write_buffer_size():
            asyncio.get_running_loop().call_later(_TLS_CLOSE_SECONDS, self._drop_when_sent)
        else:
            self._transport.abort()

    def flush(self) -> None:
        """Send a held head now."""
        if self._head is not None:
            head, self._head = self._head, None
            self._transport.write(head)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


@dataclass(frozen=True)
class ConnectionGuards:
    """Bounds on what one client may hold of a server."""

    # A request's head (request line and headers) must be complete this long after its first
    # byte, or after the connection opened.
    head_seconds: float = 30.0
    # A request's body may go this long without a byte arriving.
    body_idle_seconds: float = 30.0
    # Open connections beyond this are answered 503 and closed.
    max_connections: int = 1000


def _error_response(status: int, reason: str, code: str, message: str) -> bytes:
    """A complete response in the AWS JSON error shape that closes the connection."""
    body = json.dumps({"__type": code, "message": message}).encode()
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\nx-amzn-errortype: {code}\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n").encode() + body


class OneWriteHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a :class:`HeadHoldingTransport`, within :class:`ConnectionGuards`."""

    guards = ConnectionGuards()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Serve the connection through a transport that writes each response at once (or refuse it)."""
        self._holding = HeadHoldingTransport(transport)
        self._deadline: asyncio.TimerHandle | None = None
        self._body_seen = 0.0
        refuse = len(self.connections) >= self.guards.max_connections
        super().connection_made(self._holding)  # type: ignore[arg-type]
        if refuse:
            log.warning("refused a connection from %s: %d connections open", _peer(self.client),
                        self.guards.max_connections)
            transport.write(_error_response(503, "Service Unavailable", "ServiceUnavailableException",
                                            "Too many open connections; retry shortly."))
            self._holding.close()  # bounded for TLS, like every close (HeadHoldingTransport.close)
            return
        self._arm(self.guards.head_seconds, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the connection's timer, then go on as uvicorn does."""
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        """A new request: its head must be complete within the head deadline."""
        super().on_message_begin()
        self._arm(self.guards.head_seconds, self._head_timed_out)

    def on_headers_complete(self) -> None:
        """The head arrived: from now on the body may not stall."""
        self._body_seen = time.monotonic()
        self._arm(self.guards.body_idle_seconds, self._body_stalled)
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        """Note the body's progress (the timer checks it when it fires), then go on as uvicorn does."""
        self._body_seen = time.monotonic()
        super().on_body(body)

    def on_message_complete(self) -> None:
        """The whole request arrived: no deadline until the next one begins."""
        self._disarm()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        """Send a head still held (a HEAD answer has no body to carry it), then go on as uvicorn does."""
        self._holding.flush()
        super().on_response_complete()

    def _arm(self, seconds: float, callback: Any) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _head_timed_out(self) -> None:
        # No request is under way (its cycle starts with the head), so the 408 is its answer.
        self._time_out(f"no complete request head within {self.guards.head_seconds:g} s", answer=True)

    def _body_stalled(self) -> None:
        idle = time.monotonic() - self._body_seen
        if idle < self.guards.body_idle_seconds:
            self._arm(self.guards.body_idle_seconds - idle, self._body_stalled)
            return
        # An app may have answered already (an early 403 before the body): then only close.
        answered = self.cycle is not None and self.cycle.response_started
        self._time_out(f"the request body stalled for {self.guards.body_idle_seconds:g} s", answer=not answered)

    def _time_out(self, why: str, *, answer: bool) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        log.warning("closed a connection from %s: %s", _peer(self.client), why)
        if answer:
            self._holding.write(_error_response(408, "Request Timeout", "RequestTimeoutException",
                                                f"Timed out: {why}."))
        self._holding.close()


def guarded_protocol(guards: ConnectionGuards) -> type[OneWriteHttpToolsProtocol]:
    """The protocol class (uvicorn's ``http`` setting) that applies ``guards``."""
    return type("GuardedHttpToolsProtocol", (OneWriteHttpToolsProtocol,), {"guards": guards})


def raise_file_handle_limit() -> int:
    """Raise the soft limit on open files to the hard one; the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass  # the soft limit stays; the connection cap follows it
    return soft


def _peer(client: tuple[str, int] | None) -> str:
    return "unknown" if client is None else f"{client[0]}:{client[1]}"
