"""Errors of the storage layer; the API layer turns them into S3 Vectors errors.

::

    StorageError          the data cannot be read or written (clients see a 500)
    └── StorageFull       the disk is full: nothing was written, retry later (a 503)
"""

from __future__ import annotations

import errno

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
OUT_OF_FILE_HANDLES_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE})


class StorageError(Exception):
    """The storage cannot serve the request."""


class StorageFull(StorageError):
    """The disk is full: the write was not made and the storage stays usable."""


def is_exhaustion(error: OSError) -> bool:
    """The machine ran out of something that comes back (disk space, file handles)."""
    return error.errno in DISK_FULL_ERRNOS or error.errno in OUT_OF_FILE_HANDLES_ERRNOS
