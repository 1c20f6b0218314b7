"""The store's HTTP face: the S3 Vectors rest-json protocol, as a small ASGI app and Starlette.

``POST /<OperationName>`` with a JSON body (served directly: it is every data-plane call),
tagging on ``GET|POST|DELETE /tags/{resourceArn}``, STS ``GetCallerIdentity`` on ``/``
(:mod:`pgs3v.store.api.sts`), the health check and ``GET /metrics`` (:mod:`pgs3v.store.api.metrics`)
(these through Starlette's routing).
This is the one place where errors become the wire shape (``x-amzn-ErrorType`` header and
``__type``/``message`` body, as botocore reads them). Operations run in worker threads, so the
event loop keeps accepting requests while a write waits for its fsync. A PutVectors body's
numbers go straight into numpy when the body is plain (:mod:`pgs3v.store.api.put_body`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from pgs3v.auth.sigv4 import SigV4Verifier
from pgs3v.request_reading import RequestTooLarge, read_scope_body, signed_view_of_headers, verify_scope_signature
from pgs3v.store.api import engine_operations, sts
from pgs3v.store.api.errors import (
    InternalServerException,
    S3VectorsError,
    UnknownOperationException,
    ValidationException,
    release_traceback,
)
from pgs3v.store.api.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from pgs3v.store.api.metrics import StoreMetrics
from pgs3v.store.api.put_body import read_put_vectors
from pgs3v.store.api.service import VectorStore

log = logging.getLogger("pgs3v.store")

_TAG_OPERATIONS = {"GET": "ListTagsForResource", "POST": "TagResource", "DELETE": "UntagResource"}
# anyio's default thread limit, which served every operation until the store had its own pool.
_WORKER_THREADS = 40
_JSON = b"application/json"
_INTERNAL = "We encountered an internal error. Please try again."


@dataclass(frozen=True)
class Answer:
    """A JSON answer: status, body and the headers besides the request id and the body's own."""

    status: int
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...] = ()

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """The headers as Starlette's ``Response`` would send them, in its order."""
        return [(b"x-amzn-requestid", uuid.uuid4().hex.encode()), *self.headers,
                (b"content-length", str(len(self.body)).encode()), (b"content-type", _JSON)]

    async def send(self, send: Send) -> None:
        """Send the answer on an ASGI connection."""
        await send({"type": "http.response.start", "status": self.status, "headers": self.raw_headers()})
        await send({"type": "http.response.body", "body": self.body})

    def response(self) -> Response:
        """The answer as a Starlette response."""
        response = Response(self.body, status_code=self.status)
        response.raw_headers = self.raw_headers()
        return response


def json_answer(status: int, body: dict[str, Any]) -> Answer:
    """A JSON answer with ``body``."""
    return Answer(status, orjson.dumps(body))


def error_answer(error: S3VectorsError, *, close: bool = False) -> Answer:
    """The wire shape of an S3 Vectors error; ``close``: end the connection after it."""
    headers: tuple[tuple[bytes, bytes], ...] = ((b"x-amzn-errortype", error.code.encode("latin-1")),)
    if close:
        headers += ((b"connection", b"close"),)
    return Answer(error.status, orjson.dumps(error.to_body()), headers)


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


class StoreApp:
    """The store's ASGI app: ``POST /<Operation>`` served directly, every other route by Starlette."""

    def __init__(self, store: VectorStore, verifier: SigV4Verifier | None) -> None:
        self._store = store
        self._verifier = verifier
        # Operations wait here for their worker thread. A plain executor hop costs about 24 µs
        # against anyio.to_thread's 35 µs (capacity limiter and cancel scope per call), measured
        # on uvloop; as many threads as anyio's default limiter, so writes waiting for their
        # fsync still overlap as before.
        self._executor = ThreadPoolExecutor(max_workers=_WORKER_THREADS, thread_name_prefix="pgs3v-request")
        self._metrics = StoreMetrics(store.state, frozenset(engine_operations.OPERATIONS))
        self._starlette = self._routes()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection event."""
        # The operation routes skip Starlette's middleware, routing and Request: per QueryVectors
        # that stack cost more event-loop time than the rest of the request's handling (py-spy:
        # 11% of the loop's samples against 5% for the handler itself). "/{operation}" matches
        # one non-empty path segment, as Starlette's own route below does; anything else (other
        # methods, which Starlette answers 405) goes to Starlette unchanged.
        if scope["type"] == "http" and scope["method"] == "POST":
            path = scope["path"]
            if path[:1] == "/" and len(path) > 1 and path.find("/", 1) < 0 and not scope.get("root_path"):
                answer = await self.handle(scope, receive, path[1:], {})
                await answer.send(send)
                return
        await self._starlette(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, operation: str, extra: dict[str, Any]) -> Answer:
        """Read, check and run one operation; its answer, errors in their wire shape (and counted)."""
        started = time.perf_counter()
        answer = await self._answer(scope, receive, operation, extra)
        self._metrics.observe(operation, answer.status, time.perf_counter() - started)
        return answer

    async def _answer(self, scope: Scope, receive: Receive, operation: str, extra: dict[str, Any]) -> Answer:
        limit = self._store.limits.max_request_bytes
        try:
            if self._verifier is not None:
                try:
                    self._verifier.check_headers(signed_view_of_headers(scope["headers"]))
                except S3VectorsError as error:
                    # Refused before its body was read. The connection stays open: the server
                    # discards the body as it arrives (the body deadline still applies), so a
                    # client still sending it reads this answer instead of a broken pipe.
                    return error_answer(error)
            try:
                body = await read_scope_body(scope, receive, limit)
            except RequestTooLarge:
                raise ValidationException(f"Request payload exceeds the limit of {limit} bytes") from None
            except ClientDisconnect:
                log.warning("%s: the client went away before its request body was complete", operation)
                return error_answer(ValidationException("The request body was incomplete"), close=True)
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(self._executor, self._verify_and_call, scope, operation, extra, body)
            return json_answer(200, result)
        except S3VectorsError as error:
            release_traceback(error)
            if isinstance(error, InternalServerException):
                # Its message may name server files (a failed log): the log keeps it, not the client.
                log.error("%s failed: %s", operation, error.message)
                return error_answer(InternalServerException(_INTERNAL))
            return error_answer(error)
        except Exception as error:
            log.exception("unexpected error in %s", operation)
            release_traceback(error)
            return error_answer(InternalServerException(_INTERNAL))

    def _verify_and_call(self, scope: Scope, operation: str, extra: dict[str, Any], body: bytes) -> dict[str, Any]:
        # Runs in a worker thread: hashing a 20 MiB body for SigV4 and parsing it take tens of
        # milliseconds that must not stall the event loop's other connections.
        access_key_id = verify_scope_signature(self._verifier, scope, body) if self._verifier is not None else None
        payload = request_payload(operation, body)
        if isinstance(payload, dict):
            payload.update(extra)
        client = scope.get("client")
        caller = self._store.caller(access_key_id, str(client[0]) if client else None)
        return self._store.call(operation, payload, caller)

    def _routes(self) -> Starlette:
        async def operation_route(request: Request) -> Response:
            answer = await self.handle(request.scope, request.receive, request.path_params["operation"], {})
            return answer.response()

        async def tags_route(request: Request) -> Response:
            operation = _TAG_OPERATIONS.get(request.method)
            if operation is None:  # HEAD, which Starlette adds to every GET route
                raise _unclaimed(request.method, request.url.path)
            raw_path = request.scope.get("raw_path", b"").decode("latin-1").split("?", 1)[0]
            arn = unquote(raw_path[len("/tags/") :])
            extra: dict[str, Any] = {"resourceArn": arn}
            if request.method == "DELETE":
                query = request.scope.get("query_string", b"").decode("latin-1")
                extra["tagKeys"] = parse_qs(query).get("tagKeys", [])
            answer = await self.handle(request.scope, request.receive, operation, extra)
            return answer.response()

        # STS GetCallerIdentity (Query protocol on "/", which the S3 Vectors API never uses): see sts.
        verifier = self._verifier
        sts_verifier = verifier.for_service(sts.SERVICE) if verifier is not None else None
        state, limit = self._store.state, self._store.limits.max_request_bytes
        store = self._store

        def who(access_key_id: str) -> str:
            return store.caller(access_key_id, None).principal.arn

        async def sts_route(request: Request) -> Response:
            return await sts.handle(request, sts_verifier, state.scope, limit, who)

        async def health(request: Request) -> Response:
            return json_answer(200, {"status": "ok"}).response()

        async def metrics(request: Request) -> Response:
            # Off the event loop: the gauges take locks and ask the filesystem.
            loop = asyncio.get_running_loop()
            text = await loop.run_in_executor(self._executor, self._metrics.exposition)
            return Response(text, media_type=METRICS_CONTENT_TYPE)

        routes = [
            Route("/_pgs3v/health", health, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/", sts_route, methods=["GET", "POST"]),
            Route("/tags/{resource:path}", tags_route, methods=["GET", "POST", "DELETE"]),
            # Reached only by what the fast path above leaves to Starlette (a root_path).
            Route("/{operation}", operation_route, methods=["POST"]),
        ]
        handlers = {HTTPException: _unclaimed_answer, S3VectorsError: _error_response}
        app = Starlette(routes=routes, exception_handlers=handlers)
        # A path with a trailing slash is another path to the API, not a redirect to follow.
        app.router.redirect_slashes = False
        return app


def _unclaimed(method: str, path: str) -> UnknownOperationException:
    return UnknownOperationException(f"Unknown operation: {method} {path}")


async def _unclaimed_answer(request: Request, error: Exception) -> Response:
    """Starlette's own 404 and 405 (no route has this path, or not this method) in AWS's shape."""
    return error_answer(_unclaimed(request.method, request.url.path)).response()


async def _error_response(request: Request, error: Exception) -> Response:
    assert isinstance(error, S3VectorsError)
    return error_answer(error).response()


def build_app(store: VectorStore, verifier: SigV4Verifier | None) -> StoreApp:
    """An ASGI app serving ``store``; ``verifier`` None turns authentication off."""
    return StoreApp(store, verifier)
