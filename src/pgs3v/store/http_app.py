"""The store's HTTP face: the S3 Vectors rest-json protocol on Starlette.

``POST /<OperationName>`` with a JSON body, tagging on ``GET|POST|DELETE /tags/{resourceArn}``,
and STS ``GetCallerIdentity`` on ``/`` (:mod:`pgs3v.store.sts`).
This is the one place where errors become the wire shape (``x-amzn-ErrorType`` header and
``__type``/``message`` body, as botocore reads them). Operations run in worker threads, so the
event loop keeps accepting requests while a write waits for its fsync. A PutVectors body's
numbers go straight into numpy when the body is plain (:mod:`pgs3v.store.put_body`).
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any
from urllib.parse import parse_qs, unquote

import anyio.to_thread
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pgs3v.request_reading import RequestTooLarge, read_body, verify_signature
from pgs3v.store import sts
from pgs3v.store.errors import InternalServerException, S3VectorsError, ValidationException
from pgs3v.store.put_body import read_put_vectors
from pgs3v.store.service import VectorStore
from pgs3v.store.sigv4 import SigV4Verifier

log = logging.getLogger("pgs3v.store")

_TAG_OPERATIONS = {"GET": "ListTagsForResource", "POST": "TagResource", "DELETE": "UntagResource"}




def _json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    all_headers = {"x-amzn-RequestId": uuid.uuid4().hex}
    all_headers.update(headers or {})
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=all_headers)


def error_response(error: S3VectorsError) -> Response:
    """The wire shape of an S3 Vectors error."""
    return _json_response(error.status, error.to_body(), {"x-amzn-ErrorType": error.code})


def _parse_json(body: bytes) -> Any:
    if not body:
        return {}
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        # botocore writes non-finite floats as NaN/Infinity, which strict JSON parsers refuse;
        # accepting them here lets validation say precisely what is wrong with the vector.
        payload = json.loads(body)
        # json.loads also lets "\ud800"-style lone surrogates through, which orjson refused and
        # no later step can encode (a key or metadata holding one failed with a 500): find them
        # now, while the request is still only text.
        json.dumps(payload, ensure_ascii=False).encode("utf-8")
        return payload
    except (ValueError, RecursionError):
        raise ValidationException("Could not parse the request body as JSON") from None


def request_payload(operation: str, body: bytes, *, fast: bool = True) -> Any:
    """The request a body holds; a PutVectors body's vectors become numpy rows when it is plain.

    The rows hold the values the ordinary parse gives, and validation treats both alike, so
    ``fast=False`` (the ordinary parse only) answers every request exactly the same way.
    """
    payload = read_put_vectors(body) if fast and operation == "PutVectors" else None
    return _parse_json(body) if payload is None else payload


def build_app(store: VectorStore, verifier: SigV4Verifier | None) -> Starlette:
    """An ASGI app serving ``store``; ``verifier`` None turns authentication off."""

    def verify_and_call(request: Request, operation: str, extra: dict[str, Any], body: bytes) -> dict[str, Any]:
        # Runs in a worker thread: hashing a 20 MiB body for SigV4 and parsing it take tens of
        # milliseconds that must not stall the event loop's other connections.
        if verifier is not None:
            verify_signature(verifier, request, body)
        payload = request_payload(operation, body)
        if isinstance(payload, dict):
            payload.update(extra)
        return store.call(operation, payload)

    async def handle(request: Request, operation: str, extra: dict[str, Any]) -> Response:
        try:
            try:
                body = await read_body(request, store.limits.max_request_bytes)
            except RequestTooLarge:
                raise ValidationException(
                    f"Request payload exceeds the limit of {store.limits.max_request_bytes} bytes"
                ) from None
            result = await anyio.to_thread.run_sync(verify_and_call, request, operation, extra, body)
            return _json_response(200, result)
        except S3VectorsError as error:
            return error_response(error)
        except Exception:
            log.exception("unexpected error in %s", operation)
            return error_response(InternalServerException("We encountered an internal error. Please try again."))

    async def operation_route(request: Request) -> Response:
        return await handle(request, request.path_params["operation"], {})

    async def tags_route(request: Request) -> Response:
        raw_path = request.scope.get("raw_path", b"").decode("latin-1").split("?", 1)[0]
        arn = unquote(raw_path[len("/tags/") :])
        extra: dict[str, Any] = {"resourceArn": arn}
        if request.method == "DELETE":
            extra["tagKeys"] = parse_qs(request.scope.get("query_string", b"").decode("latin-1")).get("tagKeys", [])
        return await handle(request, _TAG_OPERATIONS[request.method], extra)

    # STS GetCallerIdentity (Query protocol on "/", which the S3 Vectors API never uses): see sts.
    sts_verifier = verifier.for_service(sts.SERVICE) if verifier is not None else None

    async def sts_route(request: Request) -> Response:
        return await sts.handle(request, sts_verifier, store.state.scope, store.limits.max_request_bytes)

    async def health(request: Request) -> Response:
        return _json_response(200, {"status": "ok"})

    routes = [
        Route("/_pgs3v/health", health, methods=["GET"]),
        Route("/", sts_route, methods=["GET", "POST"]),
        Route("/tags/{resource:path}", tags_route, methods=["GET", "POST", "DELETE"]),
        Route("/{operation}", operation_route, methods=["POST"]),
    ]
    return Starlette(routes=routes)
