"""Errors of the storage layer; the API layer turns them into S3 Vectors errors.

::

    StorageError              the data cannot be read or written (clients see a 500)
    ├── WriteRefused          nothing was written; retry later (a 503)
    │   └── StorageFull       ... because the disk is full
    └── WalError              the write-ahead log cannot serve the request
        ├── WalCorruptionError   damaged where a crash cannot explain; never skipped silently
        ├── WalFailedError       a write failed in a way that may have lost data: reopen the log
        ├── WalFencedError       another writer appended at the same position (object storage)
        ├── WalGapError          records were purged before this log saw them: reopen from the manifest
        ├── WalDeletedError      the index was deleted (by another server sharing the storage)
        └── WalClosedError       the log was closed
"""

from __future__ import annotations

import errno

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
OUT_OF_FILE_HANDLES_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE})


class StorageError(Exception):
    """The storage cannot serve the request."""


class WriteRefused(StorageError):
    """The write was not made, and the storage stays usable: retry it later."""


class StorageFull(WriteRefused):
    """The disk is full: the write was not made and the storage stays usable."""


class WalError(StorageError):
    """The write-ahead log cannot serve the request (clients see a 500)."""


class WalCorruptionError(WalError):
    """A log file or object is damaged somewhere a crash cannot explain; never skipped silently."""


class WalFailedError(WalError):
    """A write failed in a way that may have lost data; the log refuses appends until reopened."""


class WalFencedError(WalFailedError):
    """Another writer appended at this log position: this log's view is stale; reopen it."""


class WalGapError(WalError):
    """Records another writer appended were purged (folded into its segments) before this log saw them."""


class WalDeletedError(WalError):
    """The index this log belongs to was deleted; its log holds a tombstone."""


class WalClosedError(WalError):
    """The log was closed."""


def is_exhaustion(error: OSError) -> bool:
    """The machine ran out of something that comes back (disk space, file handles)."""
    return error.errno in DISK_FULL_ERRNOS or error.errno in OUT_OF_FILE_HANDLES_ERRNOS
