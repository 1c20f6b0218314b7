"""The backoff schedule, with an injected sleep and jitter: nothing here sleeps or reads a clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from pgs3v.bridge.retry import RetryPolicy, call_with_retries, retry_reason
from pgs3v.bridge.settings import load_settings


def api_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       "PutVectors")


class Flaky:
    """Fails with the given errors in turn, then answers."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> dict[str, Any]:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return {"ok": True}


def run(flaky: Flaky, policy: RetryPolicy, *, draw: Callable[[float, float], float] = lambda low, high: high,
        time_left: Callable[[], float | None] = lambda: None) -> tuple[list[float], Any]:
    """(the sleeps taken, the result or the exception raised)."""
    sleeps: list[float] = []
    try:
        result: Any = call_with_retries(flaky, policy, sleep=sleeps.append, draw=draw, time_left=time_left)
    except Exception as error:
        result = error
    return sleeps, result


THROTTLED = api_error("TooManyRequestsException", 429)
UNAVAILABLE = api_error("ServiceUnavailableException", 503)


def test_the_ceiling_doubles_from_the_base_up_to_the_cap() -> None:
    policy = RetryPolicy(max_attempts=10, base_delay=0.1, max_delay=2.0)
    assert [policy.ceiling(n) for n in range(1, 8)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0])
    assert RetryPolicy(base_delay=0.1).ceiling(10_000) == 2.0  # no overflow for absurd counts


def test_throttling_is_retried_with_the_full_schedule_then_raised() -> None:
    flaky = Flaky(*[THROTTLED] * 10)
    sleeps, result = run(flaky, RetryPolicy(max_attempts=6, base_delay=0.1, max_delay=2.0, max_total_delay=100))
    assert sleeps == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6])
    assert flaky.calls == 6 and result is THROTTLED


def test_jitter_draws_between_zero_and_the_ceiling() -> None:
    drawn: list[tuple[float, float]] = []

    def draw(low: float, high: float) -> float:
        drawn.append((low, high))
        return (low + high) / 4

    sleeps, result = run(Flaky(THROTTLED, UNAVAILABLE, THROTTLED), RetryPolicy(base_delay=0.5, max_delay=1.0),
                         draw=draw)
    assert drawn == [(0.0, 0.5), (0.0, 1.0), (0.0, 1.0)]
    assert sleeps == pytest.approx([0.125, 0.25, 0.25]) and result == {"ok": True}


def test_success_after_a_few_failures_returns_the_answer() -> None:
    flaky = Flaky(UNAVAILABLE, THROTTLED)
    sleeps, result = run(flaky, RetryPolicy())
    assert result == {"ok": True} and flaky.calls == 3 and len(sleeps) == 2


def test_the_total_sleep_is_capped() -> None:
    sleeps, result = run(Flaky(*[THROTTLED] * 10), RetryPolicy(max_attempts=10, base_delay=0.1, max_total_delay=1.0))
    assert sleeps == pytest.approx([0.1, 0.2, 0.4, 0.3])  # the last sleep is cut to the budget, then it stops
    assert result is THROTTLED


def test_no_retry_when_the_invocation_would_run_out_of_time() -> None:
    remaining = iter([30.0, 1.05])
    sleeps, result = run(Flaky(THROTTLED, THROTTLED, THROTTLED), RetryPolicy(), time_left=lambda: next(remaining))
    assert sleeps == pytest.approx([0.1]) and result is THROTTLED


@pytest.mark.parametrize("error", [
    api_error("NotFoundException", 404),
    api_error("ValidationException", 400),
    api_error("InternalServerException", 500),
    EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
])
def test_other_errors_are_not_retried(error: Exception) -> None:
    flaky = Flaky(error)
    sleeps, result = run(flaky, RetryPolicy())
    assert sleeps == [] and flaky.calls == 1 and result is error


def test_a_dropped_keep_alive_connection_is_retried() -> None:
    dropped = ConnectionClosedError(endpoint_url="http://127.0.0.1:1")
    assert retry_reason(dropped) == "ConnectionClosedError"
    assert run(Flaky(dropped), RetryPolicy())[1] == {"ok": True}


def test_one_attempt_means_no_retries() -> None:
    sleeps, result = run(Flaky(THROTTLED), RetryPolicy(max_attempts=1))
    assert sleeps == [] and result is THROTTLED


def test_the_policy_comes_from_the_environment() -> None:
    settings = load_settings({"PGS3V_BRIDGE_MAX_ATTEMPTS": "9", "PGS3V_BRIDGE_RETRY_BASE_DELAY": "0.25",
                              "PGS3V_BRIDGE_RETRY_MAX_DELAY": "4", "PGS3V_BRIDGE_RETRY_MAX_TOTAL": "30"})
    assert settings.retry == RetryPolicy(max_attempts=9, base_delay=0.25, max_delay=4.0, max_total_delay=30.0)
    assert load_settings({}).retry == RetryPolicy()
    with pytest.raises(ValueError, match="PGS3V_BRIDGE_MAX_ATTEMPTS must be at least 1"):
        load_settings({"PGS3V_BRIDGE_MAX_ATTEMPTS": "0"})
    with pytest.raises(ValueError, match="must be a number"):
        load_settings({"PGS3V_BRIDGE_READ_TIMEOUT": "soon"})
