"""Running one invocation the way the Lambda Python runtime does, in a worker thread.

The handler gets ``(event, context)`` with a context like Lambda's; what it logs through
``logging`` during the call is captured (per invocation, even with many running at once) for
``X-Amz-Log-Type: Tail``; an exception becomes Lambda's function-error body; and the result is
serialised with the same rules Lambda applies (plain JSON, at most 6 MB).
"""

from __future__ import annotations

import base64
import contextvars
import logging
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from pgs3v.bridge.function_environment import function_environment
from pgs3v.bridge.functions import LATEST, Target

# Lambda's limits on a synchronous invocation's response and on the log tail it returns.
MAX_RESPONSE_BYTES = 6 * 1024 * 1024
LOG_TAIL_BYTES = 4096
# Older lines are dropped while capturing, so a chatty handler cannot grow a buffer without bound.
_MAX_CAPTURED_BYTES = 64 * 1024

UNHANDLED = "Unhandled"


@dataclass
class ClientContext:
    """The decoded ``X-Amz-Client-Context`` header, as ``context.client_context``."""

    client: Any = None
    custom: Any = None
    env: Any = None


class LambdaContext:
    """The ``context`` argument: the attributes and method the Lambda Python runtime provides."""

    def __init__(self, target: Target, request_id: str, client_context: ClientContext | None = None) -> None:
        spec = target.spec
        self.function_name = spec.name
        self.function_version = LATEST
        self.invoked_function_arn = target.invoked_arn
        self.memory_limit_in_mb = str(spec.memory_mb)
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{spec.name}"
        self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[{LATEST}]pgs3v-function-host"
        self.identity = None
        self.client_context = client_context
        self._deadline = time.monotonic() + spec.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds until this invocation times out."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class InvocationLog:
    """The log lines of one invocation, in Lambda's text format."""

    request_id: str
    lines: list[str] = field(default_factory=list)
    size: int = 0

    def add(self, line: str) -> None:
        """Append one line, dropping the oldest once the buffer is well past the tail's size."""
        self.lines.append(line)
        self.size += len(line)
        while self.size > _MAX_CAPTURED_BYTES and len(self.lines) > 1:
            self.size -= len(self.lines.pop(0))

    def tail(self) -> str:
        """Base64 of the last 4 KB of the log, as ``X-Amz-Log-Result`` carries it."""
        data = "".join(self.lines).encode("utf-8")[-LOG_TAIL_BYTES:]
        # Cut on a character boundary so the decoded tail is valid UTF-8.
        data = data.decode("utf-8", "ignore").encode("utf-8")
        return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True)
class Outcome:
    """What an invocation produced: the response body, and whether it is a function error."""

    payload: bytes
    function_error: str | None
    log: InvocationLog


_capturing: contextvars.ContextVar[InvocationLog | None] = contextvars.ContextVar("pgs3v_invocation_log", default=None)


class _CaptureHandler(logging.Handler):
    """Copies records logged inside an invocation into that invocation's log."""

    def emit(self, record: logging.LogRecord) -> None:
        current = _capturing.get()
        if current is None:
            return
        try:
            stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
            current.add(f"[{record.levelname}]\t{stamp}\t{current.request_id}\t{text}\n")
        except Exception:
            self.handleError(record)


_install_lock = threading.Lock()
_installed = False


def install_log_capture() -> None:
    """Attach the capturing handler to the root logger (once per process)."""
    global _installed
    with _install_lock:
        if not _installed:
            logging.getLogger().addHandler(_CaptureHandler())
            _installed = True


def run(target: Target, event: Any, request_id: str, client_context: ClientContext | None = None) -> Outcome:
    """Call the handler with ``event`` and turn what happens into Lambda's response body."""
    log = InvocationLog(request_id)
    log.add(f"START RequestId: {request_id} Version: {LATEST}\n")
    started = time.perf_counter()
    token = _capturing.set(log)
    try:
        try:
            with function_environment(target.spec.environment):
                result = target.spec.handler(event, LambdaContext(target, request_id, client_context))
        except Exception as error:
            logging.getLogger(target.spec.name).error(
                "%s: %s", type(error).__name__, error, exc_info=(type(error), error, error.__traceback__)
            )
            body = function_error_body(error, request_id)
            return Outcome(orjson.dumps(body), UNHANDLED, log)
        payload, error_body = marshal(result)
        if error_body is not None:
            return Outcome(orjson.dumps(error_body), UNHANDLED, log)
        return Outcome(payload, None, log)
    finally:
        _capturing.reset(token)
        elapsed_ms = (time.perf_counter() - started) * 1000
        log.add(f"END RequestId: {request_id}\n")
        log.add(f"REPORT RequestId: {request_id}\tDuration: {elapsed_ms:.2f} ms\t"
                f"Memory Size: {target.spec.memory_mb} MB\n")


def marshal(result: Any) -> tuple[bytes, dict[str, Any] | None]:
    """(JSON of the handler's result, None) or (b"", the error body Lambda answers when it cannot be sent)."""
    try:
        # Plain JSON only, as Lambda's runtime serialises: orjson would quietly write datetimes and
        # dataclasses, which then fail on AWS; passing them through makes them fail here too.
        payload = orjson.dumps(
            result,
            default=_refuse,
            option=orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS,
        )
    except TypeError as error:
        return b"", {"errorMessage": f"Unable to marshal response: {error}", "errorType": "Runtime.MarshalError",
                     "stackTrace": []}
    if len(payload) > MAX_RESPONSE_BYTES:
        return b"", {
            "errorMessage": f"Response payload size ({len(payload)} bytes) exceeded maximum allowed payload size "
            f"({MAX_RESPONSE_BYTES} bytes).",
            "errorType": "Function.ResponseSizeTooLarge",
        }
    return payload, None


def function_error_body(error: BaseException, request_id: str) -> dict[str, Any]:
    """Lambda's body for a handler that raised."""
    frames = traceback.extract_tb(error.__traceback__)
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(frames),
    }


def timeout_body(request_id: str, seconds: float) -> dict[str, Any]:
    """Lambda's body for an invocation that ran past its timeout."""
    return {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after {seconds:.2f} seconds",
    }


def _refuse(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
