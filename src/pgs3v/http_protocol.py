"""Our servers' HTTP protocol (store and function host): uvicorn's httptools, each response in one write.

uvicorn writes a response's status line and headers as soon as the app starts the response, and
the body in a second write once the app sends it (Starlette's middlewares run in between). With
TCP_NODELAY each write is its own segment, so the caller (the shim in a PostgreSQL backend calling
the function host, the bridge's JSON transport calling the store) is woken for the headers, finds
no body, and sleeps again until the second segment comes. Here the head is held back and written
together with the first piece of the body: one segment, one wake-up. Informational answers
(100 Continue) and writes that already carry a body go out at once, and a response that ends
without a body write (uvicorn writes none for HEAD) sends its head when it completes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_STATUS_LINE = b"HTTP/1.1 "
_INFORMATIONAL = b"HTTP/1.1 1"
_END_OF_HEAD = b"\r\n\r\n"


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
        """Send a held head, then close."""
        self.flush()
        self._transport.close()

    def flush(self) -> None:
        """Send a held head now."""
        if self._head is not None:
            head, self._head = self._head, None
            self._transport.write(head)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class OneWriteHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a :class:`HeadHoldingTransport`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Serve the connection through a transport that writes each response at once."""
        self._holding = HeadHoldingTransport(transport)
        super().connection_made(self._holding)  # type: ignore[arg-type]

    def on_response_complete(self) -> None:
        """Send a head still held (a HEAD answer has no body to carry it), then go on as uvicorn does."""
        self._holding.flush()
        super().on_response_complete()
