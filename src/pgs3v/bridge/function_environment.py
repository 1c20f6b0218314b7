"""Each function's own environment, when one host process runs several functions.

On Lambda every function has a container and an environment of its own; the local function host
runs all of its functions in one process, whose ``os.environ`` they would otherwise share. So the
host sets a function's configured environment for the length of each invocation (a context
variable: invocations run in parallel threads), and the bridge reads its settings and keys through
:func:`current_environment`: on Lambda, where nothing sets it, that is ``os.environ`` itself.
"""

from __future__ import annotations

import os
from collections import ChainMap
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

_overlay: ContextVar[Mapping[str, str] | None] = ContextVar("pgs3v_function_environment", default=None)


def function_overlay() -> Mapping[str, str] | None:
    """The running invocation's own variables, or None outside a function host's invocation."""
    return _overlay.get()


def current_environment() -> Mapping[str, str]:
    """The environment the running function sees: its own variables over the process's."""
    overlay = _overlay.get()
    return os.environ if overlay is None else ChainMap(dict(overlay), os.environ)


@contextmanager
def function_environment(variables: Mapping[str, str]) -> Iterator[None]:
    """Run the block as a function configured with ``variables`` (nothing set when it is empty)."""
    token = _overlay.set(variables or None)
    try:
        yield
    finally:
        _overlay.reset(token)
