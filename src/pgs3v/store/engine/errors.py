"""Errors of the engine; the API layer turns them into S3 Vectors errors.

::

    EngineError
    ├── InvalidFilter       a filter outside the grammar (a 400 ValidationException)
    └── IndexUnavailable    the index cannot take the request now; retry (a 503)
"""

from __future__ import annotations


class EngineError(Exception):
    """Base class of the engine's own errors."""


class InvalidFilter(EngineError, ValueError):
    """A filter document the engine cannot compile; the message says why."""


class IndexUnavailable(EngineError):
    """The index is closing or not accepting writes; the request may be retried."""
