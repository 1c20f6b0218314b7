"""Functions the SQL tests' function host serves next to pgs3v-bridge (``tests.sql.handlers.X``)."""

from __future__ import annotations

import logging
from typing import Any

from pgs3v.bridge.handler import handler as bridge

log = logging.getLogger("tests.sql.handlers")


def echo(event: Any, context: Any) -> Any:
    """Return the event, the client context's custom part and the invoked ARN."""
    log.warning("echo called by %s", context.invoked_function_arn)
    custom = context.client_context.custom if context.client_context else None
    return {"event": event, "custom": custom, "arn": context.invoked_function_arn}


def fail(event: Any, context: Any) -> Any:
    """Raise, so the host answers with a function error."""
    raise RuntimeError("the test function failed on purpose")


def routed(event: Any, context: Any) -> Any:
    """The bridge, saying in the log which function ran which operation."""
    log.warning("routed: %s ran %s", context.function_name, event.get("operation"))
    return bridge(event, context)
