"""The storage protocol on a local directory: one file per object, written durably.

A put writes a temporary file, syncs it and renames (or, create-only, links) it into place, so a
reader or a crash sees the old object or the new one, never a part (``pgs3v.durable_files``).
The etag names the file's inode, modification time and size, which a replace always changes.
An if-match put compares and replaces under an exclusive ``flock`` on the directory's lock file,
so processes sharing the directory never both win.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pgs3v.durable_files import private_directory, share_file_atomically, write_file_atomically
from pgs3v.store.storage.objects import (
    IfMatch,
    ObjectInfo,
    ObjectNotFound,
    PreconditionFailed,
    PutMode,
    check_key,
    check_range,
)

_LOCK_FILE = ".objects.lock"


def _etag(stat: os.stat_result) -> str:
    return f"{stat.st_ino:x}-{stat.st_mtime_ns:x}-{stat.st_size:x}"


class LocalObjects:
    """Objects as files under ``root`` (created readable by the owner only)."""

    def __init__(self, root: Path) -> None:
        private_directory(root)
        self.root = root
        for stale in root.glob(".*.tmp"):
            stale.unlink(missing_ok=True)  # a put that a crash cut short; it stored nothing

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes, *, mode: PutMode = "overwrite") -> str:
        """Store ``data`` under ``key``, durable when this returns; return the new etag."""
        path = self._path(key)
        private_directory(path.parent)
        if mode == "create":
            try:
                write_file_atomically(path, data, create_only=True)  # link(): atomic by itself
            except FileExistsError:
                raise PreconditionFailed(f"{key} exists") from None
        else:
            # Overwrites take the lock too: one landing between an if-match put's check and its
            # rename would be silently replaced.
            with self._locked():
                if isinstance(mode, IfMatch) and self._etag_of(path) != mode.etag:
                    raise PreconditionFailed(f"{key} is not the version {mode.etag}")
                write_file_atomically(path, data)
        return _etag(path.stat())

    def get(self, key: str, *, start: int = 0, end: int | None = None) -> bytes:
        """The object's bytes ``[start, end)`` (to its end when ``end`` is None)."""
        check_range(start, end)
        try:
            with self._path(key).open("rb") as file:
                file.seek(start)
                return file.read() if end is None else file.read(end - start)
        except (FileNotFoundError, IsADirectoryError):
            raise ObjectNotFound(key) from None

    def put_file(self, key: str, source: Path) -> None:
        """Store the file ``source`` under ``key`` (linked, or copied piece by piece; synced, renamed).

        The caller must not change ``source`` afterwards: on one filesystem both names are one file.
        """
        path = self._path(key)
        private_directory(path.parent)
        with self._locked():
            share_file_atomically(source, path)

    def get_file(self, key: str, destination: Path) -> None:
        """Give the new file ``destination`` the object's bytes (a hard link on the same filesystem).

        Objects are never changed in place (a put renames a new file over the old), so a link
        keeps the version it was made from, as a copy would.
        """
        try:
            share_file_atomically(self._path(key), destination, create_only=True)
        except (FileNotFoundError, IsADirectoryError):
            raise ObjectNotFound(key) from None

    def head(self, key: str) -> ObjectInfo:
        """The object's size and etag."""
        path = self._path(key)
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        if not path.is_file():
            raise ObjectNotFound(key)
        return ObjectInfo(key, stat.st_size, _etag(stat))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``, in key order."""
        found = []
        # Walk only below the prefix's directory part, not the whole tree.
        start = self.root / prefix.rpartition("/")[0] if "/" in prefix else self.root
        for directory, _, files in os.walk(start):
            base = Path(directory).relative_to(self.root)
            for name in files:
                if name.startswith("."):
                    continue  # the lock file and temporaries of puts in progress
                key = (base / name).as_posix()
                if key.startswith(prefix):
                    try:
                        found.append(ObjectInfo(key, *self._size_and_etag(Path(directory) / name)))
                    except FileNotFoundError:
                        continue  # deleted while listing
        yield from sorted(found, key=lambda info: info.key)

    def delete(self, key: str) -> None:
        """Remove the object; no error if there is none."""
        self._path(key).unlink(missing_ok=True)

    def describe(self) -> str:
        """Where the objects are."""
        return str(self.root)

    @staticmethod
    def _size_and_etag(path: Path) -> tuple[int, str]:
        stat = path.stat()
        return stat.st_size, _etag(stat)

    @staticmethod
    def _etag_of(path: Path) -> str | None:
        try:
            return _etag(path.stat())
        except FileNotFoundError:
            return None

    @contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.root / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)
