"""The Lambda handler: one S3 Vectors call (or a batch of them) per event.

Event::

    {"operation": "QueryVectors", "request": {...the API request in its own JSON shape...}}

Result, always a normal return (SQL turns ``error.code`` into an SQL error)::

    {"response": {...the API response, JSON-safe, without ResponseMetadata...}}
    {"error": {"code": "NotFoundException", "message": "...", "httpStatus": 404, "fieldList": [...]}}

AWS Lambda runs this module as is (handler ``pgs3v.bridge.handler.handler``); it imports only
the standard library and boto3/botocore. Only bugs and misconfiguration (no credentials, no
region) escape as exceptions, which Lambda reports as function errors.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError, ParamValidationError, ReadTimeoutError
from botocore.validate import ParamValidator

from pgs3v.bridge import batching
from pgs3v.bridge.json_transport import JSON_OPERATIONS
from pgs3v.bridge.results import client_error_parts, failure, success
from pgs3v.bridge.retry import call_with_retries
from pgs3v.bridge.store_client import StoreClient, store_client

log = logging.getLogger("pgs3v.bridge")

_VALIDATOR = ParamValidator()


class _MalformedEvent(Exception):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Run the S3 Vectors operation the event names and return its response or its error."""
    started = time.perf_counter()
    current = store_client()
    try:
        operation, request = _parse_event(event, current)
    except _MalformedEvent as problem:
        field_list = [{"path": problem.path, "message": problem.message}]
        return failure("ValidationException", problem.message, 400, field_list)
    result, calls = _run(current, operation, request, context)
    if log.isEnabledFor(logging.INFO):
        outcome = result["error"]["code"] if "error" in result else "ok"
        log.info("%s: %s in %.1f ms (%d call%s)", operation, outcome,
                 (time.perf_counter() - started) * 1000, calls, "" if calls == 1 else "s")
    return result


def _parse_event(event: Any, current: StoreClient) -> tuple[str, dict[str, Any]]:
    if not isinstance(event, dict):
        raise _MalformedEvent("/", f"The event must be a JSON object, got {type(event).__name__}")
    operation = event.get("operation")
    if not isinstance(operation, str) or operation not in current.methods:
        named = f"'{operation}'" if isinstance(operation, str) else "no operation"
        raise _MalformedEvent(
            "/operation",
            f"The event names {named}; 'operation' must be one of the S3 Vectors operations: "
            + ", ".join(sorted(current.methods)),
        )
    request = event.get("request")
    if not isinstance(request, dict):
        raise _MalformedEvent(
            "/request",
            "The event must carry 'request', a JSON object with the API request "
            f"(got {'nothing' if request is None else type(request).__name__})",
        )
    return operation, request


def _run(current: StoreClient, operation: str, request: dict[str, Any], context: Any) -> tuple[dict[str, Any], int]:
    """(the handler's answer, the number of API calls made)."""
    # The whole request is checked against the model once, before any part is sent, so a bad
    # vector at position 1,050 fails the call without the first 1,000 having been written.
    report = _VALIDATOR.validate(request, current.client.meta.service_model.operation_model(operation).input_shape)
    if report.has_errors():
        return failure("ValidationException", f"Parameter validation failed:\n{report.generate_report()}", 400), 0
    method = _method(current, operation)
    parts = batching.split(operation, request)
    member = batching.SPLITS.get(operation, ("", 0))[0]
    total = len(request.get(member) or []) if member else 0
    remaining = _time_left(context)
    responses: list[dict[str, Any]] = []
    for number, part in enumerate(parts, start=1):
        what = operation if len(parts) == 1 else f"{operation} part {number} of {len(parts)}"
        try:
            responses.append(
                call_with_retries(functools.partial(method, part.request), current.settings.retry,
                                  what=what, time_left=remaining)
            )
        except ClientError as error:
            code, message, status, field_list = client_error_parts(error)
            message += batching.partial_write_note(operation, part, total)
            field_list = batching.rebase_field_list(operation, field_list, part.offset)
            return failure(code, message, status, field_list), number
        except ParamValidationError as error:
            return failure("ValidationException", str(error), 400), number
        except ReadTimeoutError:
            return failure(
                "ServiceUnavailableException",
                f"the vector store at {current.endpoint} did not answer within "
                f"{current.settings.read_timeout:g} s",
                503,
            ), number
        except (ConnectionError, HTTPClientError) as error:
            return failure(
                "ServiceUnavailableException",
                f"the vector store at {current.endpoint} is unreachable: {error}",
                503,
            ), number
    return success(batching.merge(operation, responses)), len(parts)


def _method(current: StoreClient, operation: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The lean JSON transport for the data operations (the SQL hot path), boto3 for the rest."""
    if operation in JSON_OPERATIONS:
        return functools.partial(current.transport.call, operation)
    boto3_method = getattr(current.client, current.methods[operation])

    def call(request: dict[str, Any]) -> dict[str, Any]:
        return dict(boto3_method(**request))

    return call


def _time_left(context: Any) -> Callable[[], float | None]:
    """Seconds left in this invocation, per Lambda's context (None outside Lambda)."""
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining_ms):
        return lambda: None
    return lambda: float(remaining_ms()) / 1000.0
