"""Handlers the tests serve next to pgs3v-bridge (``--function NAME=tests.bridge.sample_functions.X``)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("tests.bridge.sample_functions")


def echo(event: Any, context: Any) -> Any:
    """Return the event unchanged."""
    return event


def explode(event: Any, context: Any) -> Any:
    """Raise, so the host must answer with a function error."""
    raise ValueError(f"boom: {event.get('why', 'no reason')}")


def chatty(event: Any, context: Any) -> Any:
    """Log a marker and some padding through logging, then describe the context it was given."""
    marker = event.get("marker", "hello")
    log.warning("%s from %s", marker, context.function_name)
    for number in range(int(event.get("lines", 0))):
        log.warning("%s line %d %s", marker, number, "x" * 100)
        time.sleep(float(event.get("pause", 0)))
    custom = context.client_context.custom if context.client_context else None
    return {"arn": context.invoked_function_arn, "requestId": context.aws_request_id,
            "remainingMs": context.get_remaining_time_in_millis(), "custom": custom}


def unserialisable(event: Any, context: Any) -> Any:
    """Return something Lambda cannot send as JSON."""
    return {"when": time.gmtime}


def sleepy(event: Any, context: Any) -> Any:
    """Sleep, then leave a file behind if asked (to see that the work finished)."""
    time.sleep(float(event.get("seconds", 2)))
    if "touch" in event:
        Path(event["touch"]).write_text("done")
    return {"slept": True}
