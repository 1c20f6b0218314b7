"""Per-index write throttling, as Amazon S3 Vectors applies it (429 TooManyRequestsException).

Off by default: a self-hosted store should take writes as fast as its disk allows. Setting
the limits to AWS's (1,000 write requests/s and 2,500 vectors/s per index) lets clients test
their retry behaviour locally.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """A token bucket refilled at ``rate`` per second holding at most one second's worth."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._tokens = rate
        self._clock = clock
        self._last = clock()
        self._lock = threading.Lock()

    def try_take(self, amount: float) -> bool:
        """Take ``amount`` tokens if there are enough; never waits."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self._rate, self._tokens + (now - self._last) * self._rate)
            self._last = now
            # A single batch larger than one second's budget can still pass when the bucket is full.
            if self._tokens >= min(amount, self._rate):
                self._tokens -= amount
                return True
            return False
