"""The local function host: the Lambda Invoke API on Starlette.

``POST /2015-03-31/functions/{FunctionName}/invocations[?Qualifier=...]`` as Lambda serves it:

- ``X-Amz-Invocation-Type``: ``RequestResponse`` (default) → 200 with the handler's JSON;
  ``Event`` → 202 at once, the handler runs in the background; ``DryRun`` → 204.
- ``X-Amz-Log-Type: Tail`` → ``X-Amz-Log-Result``, base64 of the last 4 KB of the invocation's log.
- A handler that raises → 200, ``X-Amz-Function-Error: Unhandled`` and Lambda's error body.
- A key whose identity policies do not allow ``lambda:InvokeFunction`` on the function → 403
  AccessDeniedException (see :mod:`pgs3v.bridge.invoke_access`).
- Errors of the API itself (unknown function, payload not JSON, bad signature) are this module's
  to put on the wire: ``x-amzn-ErrorType`` header and ``{"Type": ..., "message": ...}`` body.

Handlers run in worker threads (at most ``concurrency`` at once) so the event loop only moves
bytes. ``GET /_pgs3v/health`` answers without authentication, for readiness polling.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar
from urllib.parse import parse_qs

import anyio
import anyio.to_thread
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pgs3v.auth.errors import AwsError
from pgs3v.auth.sigv4 import SigV4Verifier
from pgs3v.bridge import invocation
from pgs3v.bridge.functions import LATEST, FunctionRegistry, Target
from pgs3v.bridge.invocation import ClientContext, Outcome
from pgs3v.bridge.invoke_access import InvokeAccess
from pgs3v.bridge.lambda_errors import (
    InvalidParameterValueException,
    InvalidRequestContentException,
    LambdaError,
    RequestTooLargeException,
    ServiceException,
    ValidationException,
)
from pgs3v.request_reading import RequestTooLarge, read_body, verify_signature

log = logging.getLogger("pgs3v.functions")

T = TypeVar("T")

# Lambda's payload limits: 6 MB for a synchronous request, 256 KB for an asynchronous one
# (kept at the long-standing value so what works here also works on AWS).
MAX_SYNC_PAYLOAD = 6 * 1024 * 1024
MAX_EVENT_PAYLOAD = 256 * 1024
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
LOG_TYPES = ("None", "Tail")
# Bodies up to this size are authenticated and parsed on the event loop: that takes tens of
# microseconds, less than the hop to a worker thread and back.
INLINE_BYTES = 16 * 1024
# How long shutdown waits for Event invocations still running.
DRAIN_SECONDS = 30.0




def _json_response(status: int, body: bytes, headers: dict[str, str]) -> Response:
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def error_response(error: LambdaError | AwsError, request_id: str) -> Response:
    """The wire shape of an Invoke API error."""
    # The store's 403 errors are reused for SigV4; they are the caller's doing, hence "User".
    body = {"Type": "User", "message": error.message} if isinstance(error, AwsError) else error.to_body()
    headers = {"x-amzn-RequestId": request_id, "x-amzn-ErrorType": error.code}
    return _json_response(error.status, orjson.dumps(body), headers)


def _too_large(limit: int) -> str:
    return f"Request must be smaller than {limit} bytes for the InvokeFunction operation"


def _parse_payload(body: bytes) -> Any:
    if not body.strip():
        return {}  # Lambda hands an empty payload to the handler as {}
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as problem:
        raise InvalidRequestContentException(f"Could not parse request body into json: {problem}") from None


def _parse_client_context(header: str | None) -> ClientContext | None:
    if not header:
        return None
    try:
        document = orjson.loads(base64.b64decode(header, validate=True))
    except (binascii.Error, ValueError):
        raise InvalidParameterValueException("Client context must be a valid Base64-encoded JSON object.") from None
    if not isinstance(document, dict):
        raise InvalidParameterValueException("Client context must be a valid Base64-encoded JSON object.")
    return ClientContext(document.get("client"), document.get("custom"), document.get("env"))


def _choice(request: Request, header: str, allowed: tuple[str, ...], default: str, field: str) -> str:
    value = request.headers.get(header, default)
    if value not in allowed:
        raise ValidationException(
            f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(allowed)}]"
        )
    return value


def build_app(registry: FunctionRegistry, verifier: SigV4Verifier | None, *, concurrency: int = 64,
              access: InvokeAccess | None = None) -> Starlette:
    """An ASGI app serving ``registry``'s functions; ``verifier`` None turns authentication off.

    ``access`` decides what each verified key may invoke (None: every key the verifier accepts
    may invoke everything, as the owner's).
    """
    invocation.install_log_capture()
    limiter = anyio.CapacityLimiter(concurrency)
    running: set[asyncio.Task[None]] = set()

    def authenticate(request: Request, body: bytes) -> str | None:
        return verify_signature(verifier, request, body) if verifier is not None else None

    def authorize(request: Request, access_key_id: str | None, function_arn: str) -> None:
        if access is not None:
            client = request.client
            access.authorize(access_key_id, function_arn, source_ip=client.host if client else None,
                             secure=request.url.scheme == "https")

    async def off_the_loop_if_large(body: bytes, work: Callable[..., T], *args: Any) -> T:
        # Hashing 6 MB for SigV4 or parsing it would stall every connection: large bodies go to a
        # worker thread (anyio's default limiter, not the handlers', so a 403 or a 202 never waits
        # for busy handlers). Small ones stay here: that is faster than the hop to a thread.
        if len(body) <= INLINE_BYTES:
            return work(*args)
        return await anyio.to_thread.run_sync(work, *args)

    async def run_with_timeout(target: Target, event: Any, request_id: str, context: ClientContext | None) -> Outcome:
        seconds = target.spec.timeout_seconds
        with anyio.move_on_after(seconds):
            # abandon_on_cancel: a handler past its timeout cannot be stopped (threads cannot be
            # killed), but the caller gets Lambda's timeout answer on time; the thread finishes alone.
            return await anyio.to_thread.run_sync(
                invocation.run, target, event, request_id, context, limiter=limiter, abandon_on_cancel=True
            )
        timed_out = invocation.InvocationLog(request_id)
        timed_out.add(f"{invocation.timeout_body(request_id, seconds)['errorMessage']}\n")
        return Outcome(orjson.dumps(invocation.timeout_body(request_id, seconds)), invocation.UNHANDLED, timed_out)

    async def run_in_background(target: Target, event: Any, request_id: str, context: ClientContext | None) -> None:
        try:
            outcome = await run_with_timeout(target, event, request_id, context)
            if outcome.function_error:
                log.warning("Event invocation %s of %s failed: %s", request_id, target.spec.name,
                            outcome.payload.decode("utf-8", "replace")[:2000])
        except Exception:
            log.exception("Event invocation %s of %s crashed the host", request_id, target.spec.name)

    async def invoke(request: Request) -> Response:
        request_id = str(uuid.uuid4())
        try:
            try:
                body = await read_body(request, MAX_SYNC_PAYLOAD)
            except RequestTooLarge:
                raise RequestTooLargeException(_too_large(MAX_SYNC_PAYLOAD)) from None
            # Authentication first, as AWS does: an unsigned caller learns nothing about what exists.
            access_key_id = await off_the_loop_if_large(body, authenticate, request, body)
            invocation_type = _choice(request, "x-amz-invocation-type", INVOCATION_TYPES, "RequestResponse",
                                      "invocationType")
            log_type = _choice(request, "x-amz-log-type", LOG_TYPES, "None", "logType")
            if invocation_type == "Event" and len(body) > MAX_EVENT_PAYLOAD:
                raise RequestTooLargeException(_too_large(MAX_EVENT_PAYLOAD))
            client_context = _parse_client_context(request.headers.get("x-amz-client-context"))
            qualifier = parse_qs(request.scope.get("query_string", b"").decode("latin-1")).get("Qualifier", [None])[0]
            function_name = request.path_params["function_name"]
            # Authorized on the ARN named, before looking it up, as Lambda does: a key that may not
            # invoke it learns nothing about whether it exists (and DryRun checks permission).
            authorize(request, access_key_id, registry.invoked_arn(function_name, qualifier))
            target = registry.resolve(function_name, qualifier)
            if invocation_type == "DryRun":
                return Response(status_code=204, headers={"x-amzn-RequestId": request_id})
            event = await off_the_loop_if_large(body, _parse_payload, body)
            if invocation_type == "Event":
                task = asyncio.create_task(run_in_background(target, event, request_id, client_context))
                running.add(task)
                task.add_done_callback(running.discard)
                return Response(status_code=202, headers={"x-amzn-RequestId": request_id})
            outcome = await run_with_timeout(target, event, request_id, client_context)
        except (LambdaError, AwsError) as error:
            return error_response(error, request_id)
        except Exception:
            log.exception("unexpected error in Invoke")
            return error_response(ServiceException("The function host failed; see its log."), request_id)
        headers = {"x-amzn-RequestId": request_id, "X-Amz-Executed-Version": LATEST}
        if outcome.function_error:
            headers["X-Amz-Function-Error"] = outcome.function_error
        if log_type == "Tail":
            headers["X-Amz-Log-Result"] = outcome.log.tail()
        return _json_response(200, outcome.payload, headers)

    async def health(request: Request) -> Response:
        # "authorizes": registry keys accepted, each allowed what its policies allow (`pgs3v up`
        # restarts a host from before that, which would refuse the key PostgreSQL signs with).
        body = {"status": "ok", "functions": registry.names(), "authorizes": access is not None}
        return _json_response(200, orjson.dumps(body), {"x-amzn-RequestId": str(uuid.uuid4())})

    async def unknown(request: Request) -> Response:
        body = {"Type": "User", "message": f"No Lambda operation at {request.method} {request.url.path}"}
        headers = {"x-amzn-RequestId": str(uuid.uuid4()), "x-amzn-ErrorType": "UnknownOperationException"}
        return _json_response(404, orjson.dumps(body), headers)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        # Event invocations were acknowledged with 202; give them a chance to finish their writes.
        if running:
            log.info("waiting for %d Event invocation(s) to finish", len(running))
            await asyncio.wait(set(running), timeout=DRAIN_SECONDS)

    routes = [
        Route("/_pgs3v/health", health, methods=["GET"]),
        Route("/2015-03-31/functions/{function_name}/invocations", invoke, methods=["POST"]),
        Route("/{path:path}", unknown, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
