"""Small file operations whose result survives a crash (power loss or kill -9)."""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The store's files hold every vector and its metadata: only the store's own user may read them.
PRIVATE_FILE = 0o600
PRIVATE_DIRECTORY = 0o700


def private_directory(directory: Path) -> None:
    """Create ``directory`` (and missing parents) readable by the owner only; tighten it if it exists."""
    directory.mkdir(mode=PRIVATE_DIRECTORY, parents=True, exist_ok=True)
    if directory.stat().st_mode & 0o077:
        directory.chmod(PRIVATE_DIRECTORY)


def fsync_directory(directory: Path) -> None:
    """Make a file creation, rename or removal in ``directory`` durable."""
    # A new or removed name is durable only once its directory is synced, not just the file.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file_atomically(path: Path, data: bytes, *, create_only: bool = False) -> None:
    """Put ``data`` at ``path`` so that a crash leaves either the old file (or none) or the new one.

    With ``create_only``, raise FileExistsError when ``path`` exists: the conditional put
    (If-None-Match: *) of an object store, on which the manifest and the credentials rely so
    that two writers never both believe they won.
    """
    with _replacing(path, create_only) as temporary:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        try:
            os.fchmod(fd, PRIVATE_FILE)  # exactly 0600, even under an odd umask such as 0o277
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)


def copy_file_atomically(source: Path, path: Path, *, create_only: bool = False) -> None:
    """Copy ``source`` to ``path`` as :func:`write_file_atomically` writes (piece by piece, synced as it goes)."""
    with _replacing(path, create_only) as temporary, source.open("rb") as reader, SyncedFile(temporary) as writer:
        while chunk := reader.read(_COPY_CHUNK):
            writer.write(chunk)


_COPY_CHUNK = 8 << 20
# What os.link answers where hard links cannot be made (another filesystem, a filesystem
# without them, a file at its link limit): those fall back to a copy.
_NO_LINK = frozenset({errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP})


def share_file_atomically(source: Path, path: Path, *, create_only: bool = False) -> None:
    """Give ``path`` the bytes of ``source`` as :func:`copy_file_atomically` does, by a hard link where possible.

    Only for files that nobody writes in place once made (segment files and objects): both names
    then stay one file, so a segment fetched from objects on the same disk costs neither a copy
    nor a second copy in the page cache.
    """
    try:
        with _replacing(path, create_only) as temporary:
            os.link(source, temporary)
            # The source may not be synced yet (a segment's writer leaves that to its publisher).
            fd = os.open(temporary, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    except OSError as error:
        if error.errno not in _NO_LINK:
            raise
        copy_file_atomically(source, path, create_only=create_only)


@contextmanager
def _replacing(path: Path, create_only: bool) -> Iterator[Path]:
    """A temporary name to write the new file under, put in place (or refused) once it is written."""
    # A random name created with O_EXCL: never written through a symlink or file planted at a
    # predictable temporary name, and two writers never share one.
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        yield temporary
        if create_only:
            _link_if_absent(temporary, path)
        else:
            os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)  # a full disk or a lost race must not leave the copy
    fsync_directory(path.parent)


def _link_if_absent(temporary: Path, path: Path) -> None:
    # link() is the atomic create-if-absent: it fails when the name exists.
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise
    except OSError:
        # A filesystem without hard links: an exclusive rename is not available either, so the
        # check and the rename are two steps (good enough for one process per data directory).
        if path.exists():
            raise FileExistsError(path) from None
        os.replace(temporary, path)


class SyncedFile:
    """A new file written in pieces, its data synced every ``sync_bytes`` and at :meth:`close`.

    A segment writes gigabytes; left dirty in the page cache until one final fsync, they are
    flushed all at once, and on ext4 (data=ordered) a write-ahead log's fsync that comes meanwhile
    waits for that flush: during a 1M x 768 load, acknowledged writes stalled for seconds.
    Syncing as it goes bounds what any fsync can be made to wait for. Plain writes (not a memory
    map) also turn a full disk into an ENOSPC error rather than a SIGBUS.
    """

    def __init__(self, path: Path, sync_bytes: int = 32 << 20) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        self._sync_bytes = sync_bytes
        self._unsynced = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Append ``data`` (all of it); returns its length, as a file object's write does."""
        view = memoryview(data).cast("B")
        total = len(view)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._unsynced += total
        if self._unsynced >= self._sync_bytes:
            os.fdatasync(self._fd)
            self._unsynced = 0
        return total

    def close(self) -> None:
        """Sync what is left and close (the caller syncs the directory that names the file)."""
        try:
            os.fsync(self._fd)
        finally:
            os.close(self._fd)

    def __enter__(self) -> SyncedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

