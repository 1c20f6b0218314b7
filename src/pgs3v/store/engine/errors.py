"""Errors of the engine; the API layer turns them into S3 Vectors errors.

::

    EngineError
    ├── InvalidFilter       a filter outside the grammar (a 400 ValidationException)
    ├── IndexUnavailable    the index cannot take the request now; retry (a 503)
    ├── IndexStale          another server moved the index on further than this one can follow: reopen it
    └── IndexDeleted        another server deleted the index
"""

from __future__ import annotations


class EngineError(Exception):
    """Base class of the engine's own errors."""


class InvalidFilter(EngineError, ValueError):
    """A filter document the engine cannot compile; the message says why."""


class IndexUnavailable(EngineError):
    """The index is closing or not accepting writes; the request may be retried."""


class IndexStale(EngineError):
    """Another server purged log records this one never saw; the index must be reopened."""


class IndexDeleted(EngineError):
    """Another server sharing the storage deleted the index."""
