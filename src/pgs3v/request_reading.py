"""Reading an HTTP request the way both of our servers (store, function host) need it.

Each reader takes the ASGI scope (and ``receive``), so a route served without Starlette's
``Request`` (the store's operation routes) reads exactly as one served through it; the
``Request`` forms below only unwrap it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from starlette.requests import ClientDisconnect, Request

from pgs3v.auth.sigv4 import SigV4Verifier

Receive = Callable[[], Awaitable[Mapping[str, Any]]]


class RequestTooLarge(Exception):
    """The body passed the size limit; nothing more of it was read."""


def signed_view_of_headers(raw_headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """Headers as SigV4 canonicalises them: lower-case names, repeated headers joined by commas."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in raw_headers:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return headers


def declared_length(scope: Mapping[str, Any]) -> str | None:
    """The first Content-Length header of a request, as sent."""
    for name, value in scope["headers"]:
        if name.lower() == b"content-length":
            return str(value.decode("latin-1"))
    return None


async def read_scope_body(scope: Mapping[str, Any], receive: Receive, limit: int) -> bytes:
    """The whole body, refusing (without reading it all) one larger than ``limit`` bytes."""
    declared = declared_length(scope)
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        if message["type"] != "http.request":
            continue
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge
        if chunk:
            chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body of a Starlette request, as :func:`read_scope_body` reads it."""
    return await read_scope_body(request.scope, request.receive, limit)


def verify_scope_signature(verifier: SigV4Verifier, scope: Mapping[str, Any], body: bytes) -> str:
    """Check the request's SigV4 signature on what came over the wire; the caller's access key id."""
    raw_path = scope.get("raw_path")
    return verifier.verify(
        scope["method"],
        (raw_path if raw_path is not None else scope["path"].encode()).decode("latin-1"),
        scope.get("query_string", b"").decode("latin-1"),
        signed_view_of_headers(scope["headers"]),
        body,
    )


def verify_signature(verifier: SigV4Verifier, request: Request, body: bytes) -> str:
    """Check a Starlette request's SigV4 signature, as :func:`verify_scope_signature` does."""
    return verify_scope_signature(verifier, request.scope, body)
