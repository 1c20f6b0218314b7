"""Retrying throttled and unavailable store calls: exponential backoff with full jitter.

botocore's own retries are switched off on the bridge's client, so this is the only retry
loop: its schedule is explicit, bounded, configurable and unit-tested with an injected sleep.
Retry ``n`` (1-based) sleeps ``uniform(0, min(max_delay, base_delay * 2**(n-1)))`` ("full
jitter": concurrent callers throttled together spread out instead of returning in lockstep).
It stops after ``max_attempts`` calls, once ``max_total_delay`` seconds of sleep are spent, or
when the Lambda invocation would run out of time before the next attempt could finish.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

log = logging.getLogger("pgs3v.bridge")

T = TypeVar("T")

RETRYABLE_CODES = frozenset({"TooManyRequestsException", "ServiceUnavailableException"})

# Time kept back for the attempt itself when the invocation has a deadline.
DEADLINE_RESERVE_SECONDS = 1.0


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a store call that was throttled or found the store busy."""

    max_attempts: int = 6
    base_delay: float = 0.1
    max_delay: float = 2.0
    max_total_delay: float = 10.0

    def ceiling(self, retry_number: int) -> float:
        """The upper bound of the jittered sleep before retry ``retry_number`` (1-based)."""
        # min() before the power would overflow for absurd attempt counts; cap the exponent.
        return min(self.max_delay, self.base_delay * 2.0 ** min(retry_number - 1, 62))


def retry_reason(error: Exception) -> str | None:
    """Why ``error`` is worth retrying (its error code), or None when it is not."""
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        return code if code in RETRYABLE_CODES else None
    if isinstance(error, ConnectionClosedError):
        # The store dropped a kept-alive connection as we reused it; a fresh one usually works.
        return "ConnectionClosedError"
    return None


def idempotent_retry_reason(error: Exception) -> str | None:
    """Why ``error`` is worth retrying when repeating the call cannot harm (PutVectors, DeleteVectors).

    Besides throttling and unavailability: any 5xx, and every network failure, including ones
    after which the call may have been done (a timeout waiting for the answer, a dropped
    connection). Repeating such a write writes the same again.
    """
    reason = retry_reason(error)
    if reason is not None:
        return reason
    if isinstance(error, ClientError):
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        code = str(error.response.get("Error", {}).get("Code", ""))
        return code or str(status) if status >= 500 or status in (408, 429) else None
    if isinstance(error, (EndpointConnectionError, ReadTimeoutError, ConnectTimeoutError, ConnectionError)):
        return type(error).__name__
    return None


def call_with_retries(
    call: Callable[[], T],
    policy: RetryPolicy,
    *,
    reason: Callable[[Exception], str | None] = retry_reason,
    what: str = "store call",
    sleep: Callable[[float], None] = time.sleep,
    draw: Callable[[float, float], float] = random.uniform,
    time_left: Callable[[], float | None] = lambda: None,
) -> T:
    """Return ``call()``, retrying throttling and unavailability per ``policy``; re-raise the last error."""
    slept = 0.0
    attempt = 1
    while True:
        try:
            return call()
        except Exception as error:
            why = reason(error)
            if why is None or attempt >= policy.max_attempts:
                raise
            budget = policy.max_total_delay - slept
            if budget <= 0:
                raise
            delay = min(draw(0.0, policy.ceiling(attempt)), budget)
            remaining = time_left()
            if remaining is not None and remaining - delay < DEADLINE_RESERVE_SECONDS:
                raise
            log.warning(
                "%s: %s, retrying in %.3f s (attempt %d of %d)", what, why, delay, attempt + 1, policy.max_attempts
            )
            sleep(delay)
            slept += delay
            attempt += 1
