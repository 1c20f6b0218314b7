"""The storage protocol: the five operations the store needs of any place that keeps its data.

``put`` (with a mode: overwrite, create-only, or only if the object is still the version the
caller read), ``get`` (whole, or a byte range), ``head``, ``list`` (by prefix, in key order) and
``delete``; and ``put_file``/``get_file`` for objects too large to hold in memory (segment
files). Create-only and if-match are the compare-and-swap of an object store (S3's
``If-None-Match: *`` and ``If-Match``), so manifest commits and writer fencing work the same on a
local directory and on a bucket. Two implementations pass the same contract tests
(``tests/store/test_object_storage.py``): :class:`LocalObjects` and :class:`S3Objects`.

Keys are ``/``-separated relative paths of non-empty parts, none of them ``.`` or ``..``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from pgs3v.store.storage.errors import StorageError


class ObjectNotFound(StorageError):
    """No object has that key."""


class PreconditionFailed(StorageError):
    """A conditional put lost: the object exists (create-only) or is no longer that version."""


class InvalidKey(StorageError, ValueError):
    """A key that is not a relative path of plain parts."""


@dataclass(frozen=True)
class IfMatch:
    """Put only if the object is still the version whose etag the caller read."""

    etag: str


PutMode = Literal["overwrite", "create"] | IfMatch


@dataclass(frozen=True)
class ObjectInfo:
    """An object's key, size in bytes and etag (changes whenever the object is replaced)."""

    key: str
    size: int
    etag: str


class ObjectStorage(Protocol):
    """Where the store keeps its objects (see the module docstring)."""

    def put(self, key: str, data: bytes, *, mode: PutMode = "overwrite") -> str:
        """Store ``data`` under ``key``, durable when this returns; return the new etag."""
        ...

    def get(self, key: str, *, start: int = 0, end: int | None = None) -> bytes:
        """The object's bytes ``[start, end)`` (to its end when ``end`` is None)."""
        ...

    def put_file(self, key: str, source: Path) -> None:
        """Store the file ``source`` under ``key`` without reading it into memory whole."""
        ...

    def get_file(self, key: str, destination: Path) -> None:
        """Write the object to the new file ``destination`` without holding it in memory whole."""
        ...

    def head(self, key: str) -> ObjectInfo:
        """The object's size and etag."""
        ...

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``, in key order."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; no error if there is none."""
        ...

    def describe(self) -> str:
        """Where the objects are, for messages (no secrets)."""
        ...


def check_key(key: str) -> str:
    """``key`` if it is a relative path of plain parts; InvalidKey otherwise."""
    parts = key.split("/")
    if not key or any(part in ("", ".", "..") for part in parts) or "\x00" in key:
        raise InvalidKey(f"invalid object key {key!r}")
    return key


def check_range(start: int, end: int | None) -> None:
    """A byte range the protocol accepts: 0 <= start <= end."""
    if start < 0 or (end is not None and end < start):
        raise ValueError(f"invalid byte range [{start}, {end})")


class Prefixed:
    """The objects of ``storage`` under ``prefix/``, with keys relative to it."""

    def __init__(self, storage: ObjectStorage, prefix: str) -> None:
        self._storage = storage
        self._prefix = check_key(prefix.strip("/")) + "/"

    def put(self, key: str, data: bytes, *, mode: PutMode = "overwrite") -> str:
        """Store ``data`` under ``key``, durable when this returns; return the new etag."""
        return self._storage.put(self._prefix + check_key(key), data, mode=mode)

    def get(self, key: str, *, start: int = 0, end: int | None = None) -> bytes:
        """The object's bytes ``[start, end)`` (to its end when ``end`` is None)."""
        return self._storage.get(self._prefix + check_key(key), start=start, end=end)

    def put_file(self, key: str, source: Path) -> None:
        """Store the file ``source`` under ``key``."""
        self._storage.put_file(self._prefix + check_key(key), source)

    def get_file(self, key: str, destination: Path) -> None:
        """Write the object to the new file ``destination``."""
        self._storage.get_file(self._prefix + check_key(key), destination)

    def head(self, key: str) -> ObjectInfo:
        """The object's size and etag."""
        info = self._storage.head(self._prefix + check_key(key))
        return ObjectInfo(key, info.size, info.etag)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``, in key order."""
        for info in self._storage.list(self._prefix + prefix):
            yield ObjectInfo(info.key[len(self._prefix):], info.size, info.etag)

    def delete(self, key: str) -> None:
        """Remove the object; no error if there is none."""
        self._storage.delete(self._prefix + check_key(key))

    def describe(self) -> str:
        """Where the objects are."""
        return f"{self._storage.describe()} ({self._prefix})"
