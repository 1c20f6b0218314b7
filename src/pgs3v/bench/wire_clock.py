"""When botocore hands a signed request to HTTP: splits a call's time into client work and the wire.

botocore spends real time before a request leaves: it serialises the body in Python (about half
a second for 500 × 768 floats) and hashes it for SigV4. Timing a call from that moment on shows
what the server and the round trip cost, apart from the client library.
"""

from __future__ import annotations

import threading
import time
from typing import Any


class WireClock:
    """Records, per thread, the moment the last request was handed to HTTP."""

    def __init__(self) -> None:
        self._local = threading.local()

    def attach(self, client: Any) -> Any:
        """Start marking ``client``'s requests; returns the client."""
        client.meta.events.register("before-send.s3vectors", self._mark)
        return client

    def sent_ns(self) -> int:
        """perf_counter_ns() when this thread's last request was handed to HTTP."""
        sent: int = self._local.sent_ns
        return sent

    def _mark(self, **_: Any) -> None:
        # Must return None: a before-send handler that returns a value replaces the HTTP call.
        self._local.sent_ns = time.perf_counter_ns()
