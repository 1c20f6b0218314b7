"""Reading an HTTP request the way both of our servers (store, function host) need it."""

from __future__ import annotations

from starlette.requests import Request

from pgs3v.store.sigv4 import SigV4Verifier


class RequestTooLarge(Exception):
    """The body passed the size limit; nothing more of it was read."""


def signed_view_of_headers(request: Request) -> dict[str, str]:
    """Headers as SigV4 canonicalises them: lower-case names, repeated headers joined by commas."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in request.headers.raw:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return headers


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing (without reading it all) one larger than ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def verify_signature(verifier: SigV4Verifier, request: Request, body: bytes) -> str:
    """Check the request's SigV4 signature on what came over the wire; the caller's access key id."""
    return verifier.verify(
        request.method,
        request.scope.get("raw_path", request.url.path.encode()).decode("latin-1"),
        request.scope.get("query_string", b"").decode("latin-1"),
        signed_view_of_headers(request),
        body,
    )
