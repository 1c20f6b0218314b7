"""Where an index's segment files live: a local directory, or objects with a local disk cache.

The engine writes a segment's files into a local directory and opens them from one (memory-
mapped). :class:`LocalSegmentFiles` keeps them there for good. :class:`ObjectSegmentFiles` keeps
them as objects (``<segment>/<file>``) and a copy in a :class:`SegmentCache`: a new segment is
uploaded (``publish``) before a manifest names it, its descriptor ``segment.json`` last, so a
segment whose descriptor is stored is whole; a segment missing from the cache is fetched on
open. The cache is bounded: segments of closed indexes are evicted, least recently used first,
once the cache holds more than its limit (segments of open indexes are memory-mapped, so they
stay until their index closes).
"""

from __future__ import annotations

import os
import secrets
import shutil
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Protocol

from pgs3v.durable_files import PRIVATE_DIRECTORY, fsync_directory, private_directory
from pgs3v.store.storage.objects import ObjectStorage

DESCRIPTOR = "segment.json"


class SegmentFiles(Protocol):
    """One index's segment files (see the module docstring)."""

    # Appended to the names of new segments and deletion masks: empty where one process owns the
    # files; a token of this process on object storage, so that two servers that both fold never
    # write the same object (the manifest's create-only commit then lets one of them win).
    name_suffix: str

    def new_directory(self, name: str) -> Path:
        """Where to write a new segment's files: a path that does not exist yet."""
        ...

    def publish(self, name: str) -> None:
        """Make a written segment durable where the index lives, before a manifest names it."""
        ...

    def local_directory(self, name: str) -> Path:
        """The segment's files on local disk, fetched first if needed."""
        ...

    def publish_file(self, name: str, file_name: str) -> None:
        """Make a file added to a published segment (a deletion mask) durable."""
        ...

    def local_file(self, name: str, file_name: str) -> Path:
        """One file of the segment on local disk, fetched first if needed."""
        ...

    def remove(self, name: str) -> None:
        """Delete the segment everywhere (queries still running keep their open mappings)."""
        ...

    def remove_file(self, name: str, file_name: str) -> None:
        """Delete one file of the segment everywhere."""
        ...

    def names(self) -> list[str]:
        """Every segment stored, whole or not."""
        ...

    def file_names(self, name: str) -> list[str]:
        """The files stored of one segment."""
        ...

    def release(self) -> None:
        """The index closed: its local copies may be evicted."""
        ...


class LocalSegmentFiles:
    """Segments as directories under ``directory``, the only copy."""

    def __init__(self, directory: Path) -> None:
        private_directory(directory)
        self.directory = directory
        self.name_suffix = ""

    def new_directory(self, name: str) -> Path:
        """Where to write a new segment's files."""
        return self.directory / name

    def publish(self, name: str) -> None:
        """Nothing to do: the files were synced where they lie."""

    def local_directory(self, name: str) -> Path:
        """The segment's directory."""
        return self.directory / name

    def publish_file(self, name: str, file_name: str) -> None:
        """Nothing to do: the file was synced where it lies."""

    def local_file(self, name: str, file_name: str) -> Path:
        """The file in the segment's directory."""
        return self.directory / name / file_name

    def remove(self, name: str) -> None:
        """Delete the segment's directory."""
        shutil.rmtree(self.directory / name, ignore_errors=True)

    def remove_file(self, name: str, file_name: str) -> None:
        """Delete one file of the segment."""
        (self.directory / name / file_name).unlink(missing_ok=True)

    def names(self) -> list[str]:
        """The segment directories."""
        return sorted(path.name for path in self.directory.iterdir() if path.is_dir())

    def file_names(self, name: str) -> list[str]:
        """The files in the segment's directory."""
        directory = self.directory / name
        return sorted(path.name for path in directory.iterdir()) if directory.is_dir() else []

    def release(self) -> None:
        """Nothing to release."""


class SegmentCache:
    """Local copies of segments stored as objects, bounded to ``max_bytes`` (see the module docstring)."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        private_directory(root)
        self.root, self.max_bytes = root, max_bytes
        self._lock = threading.Lock()
        # (index, segment) -> bytes, least recently used first; pinned entries belong to open indexes.
        self._sizes: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._pinned: dict[tuple[str, str], int] = {}
        for index_dir in sorted(root.iterdir()):
            for segment_dir in sorted(index_dir.iterdir(), key=lambda path: path.stat().st_mtime):
                if segment_dir.name.startswith("."):
                    shutil.rmtree(segment_dir, ignore_errors=True)  # a fetch a crash cut short
                elif (segment_dir / DESCRIPTOR).is_file():
                    self._sizes[(index_dir.name, segment_dir.name)] = _size(segment_dir)
                else:
                    shutil.rmtree(segment_dir, ignore_errors=True)

    def directory(self, index: str, name: str) -> Path:
        """Where a segment's local copy lives (whether or not it is there)."""
        return self.root / index / name

    def pin(self, index: str, name: str) -> None:
        """The segment is open: never evict it until unpinned."""
        with self._lock:
            self._pinned[(index, name)] = self._pinned.get((index, name), 0) + 1
            if (index, name) in self._sizes:
                self._sizes.move_to_end((index, name))

    def unpin_index(self, index: str) -> None:
        """The index closed: its segments may be evicted."""
        with self._lock:
            for key in [key for key in self._pinned if key[0] == index]:
                del self._pinned[key]
        self._evict()

    def added(self, index: str, name: str) -> None:
        """A segment's copy is complete in the cache now."""
        with self._lock:
            self._sizes[(index, name)] = _size(self.directory(index, name))
            self._sizes.move_to_end((index, name))
        self._evict()

    def forget(self, index: str, name: str) -> None:
        """The segment was removed."""
        with self._lock:
            self._sizes.pop((index, name), None)
            self._pinned.pop((index, name), None)
        shutil.rmtree(self.directory(index, name), ignore_errors=True)

    def forget_index(self, index: str) -> None:
        """The index was deleted: drop every cached segment of it."""
        with self._lock:
            for key in [key for key in self._sizes if key[0] == index]:
                del self._sizes[key]
            for key in [key for key in self._pinned if key[0] == index]:
                del self._pinned[key]
        shutil.rmtree(self.root / index, ignore_errors=True)

    def _evict(self) -> None:
        with self._lock:
            total = sum(self._sizes.values())
            doomed = []
            for key, size in self._sizes.items():
                if total <= self.max_bytes:
                    break
                if key not in self._pinned:
                    doomed.append(key)
                    total -= size
            for key in doomed:
                del self._sizes[key]
        for index, name in doomed:
            shutil.rmtree(self.directory(index, name), ignore_errors=True)


class ObjectSegmentFiles:
    """One index's segments as objects under ``objects``, with local copies in ``cache``."""

    def __init__(self, objects: ObjectStorage, cache: SegmentCache, index: str) -> None:
        self._objects, self._cache, self._index = objects, cache, index
        self.name_suffix = f"-{secrets.token_hex(4)}"
        self._fetch_lock = threading.Lock()
        private_directory(cache.root / index)

    def new_directory(self, name: str) -> Path:
        """A fresh local directory path for the segment (any stale copy is removed first)."""
        directory = self._cache.directory(self._index, name)
        shutil.rmtree(directory, ignore_errors=True)
        self._cache.pin(self._index, name)
        return directory

    def publish(self, name: str) -> None:
        """Upload every file (folders inside the segment too), the descriptor last; then count the copy in the cache."""
        directory = self._cache.directory(self._index, name)
        files = sorted(path.relative_to(directory).as_posix() for path in directory.rglob("*") if path.is_file())
        for file_name in [*(f for f in files if f != DESCRIPTOR), DESCRIPTOR]:
            self._objects.put_file(f"{name}/{file_name}", directory / file_name)
        self._cache.added(self._index, name)

    def local_directory(self, name: str) -> Path:
        """The cached copy, fetched whole first if it is not there."""
        directory = self._cache.directory(self._index, name)
        self._cache.pin(self._index, name)
        with self._fetch_lock:
            if not (directory / DESCRIPTOR).is_file():
                self._fetch(name, directory)
                self._cache.added(self._index, name)
        return directory

    def _fetch(self, name: str, directory: Path) -> None:
        # Into a hidden directory renamed into place when whole: a crash leaves no half copy
        # that looks complete.
        partial = directory.with_name(f".{name}.{secrets.token_hex(4)}")
        partial.mkdir(mode=PRIVATE_DIRECTORY, parents=True)
        try:
            infos = list(self._objects.list(f"{name}/"))
            for info in sorted(infos, key=lambda info: info.key == f"{name}/{DESCRIPTOR}"):
                # Keys below the segment keep their folders (a text index's files, say).
                target = partial / info.key[len(name) + 1:]
                target.parent.mkdir(mode=PRIVATE_DIRECTORY, parents=True, exist_ok=True)
                self._objects.get_file(info.key, target)
            shutil.rmtree(directory, ignore_errors=True)
            os.rename(partial, directory)
            fsync_directory(directory.parent)
        finally:
            shutil.rmtree(partial, ignore_errors=True)

    def publish_file(self, name: str, file_name: str) -> None:
        """Upload one added file."""
        self._objects.put_file(f"{name}/{file_name}", self._cache.directory(self._index, name) / file_name)

    def local_file(self, name: str, file_name: str) -> Path:
        """One file of the cached copy, fetched if the copy lacks it (a mask added elsewhere)."""
        path = self.local_directory(name) / file_name
        if not path.is_file():
            temporary = path.with_name(f".{file_name}.{secrets.token_hex(4)}")
            try:
                self._objects.get_file(f"{name}/{file_name}", temporary)
                os.replace(temporary, path)
            finally:
                temporary.unlink(missing_ok=True)
        return path

    def remove(self, name: str) -> None:
        """Delete the segment's objects, the descriptor first (so no half segment looks whole)."""
        infos = list(self._objects.list(f"{name}/"))
        for info in sorted(infos, key=lambda info: not info.key.endswith(DESCRIPTOR)):
            self._objects.delete(info.key)
        self._cache.forget(self._index, name)

    def remove_file(self, name: str, file_name: str) -> None:
        """Delete one file of the segment, stored and cached."""
        self._objects.delete(f"{name}/{file_name}")
        (self._cache.directory(self._index, name) / file_name).unlink(missing_ok=True)

    def names(self) -> list[str]:
        """Every segment with at least one stored object."""
        return sorted({info.key.partition("/")[0] for info in self._objects.list()})

    def file_names(self, name: str) -> list[str]:
        """The stored files of one segment."""
        return [info.key.partition("/")[2] for info in self._objects.list(f"{name}/")]

    def release(self) -> None:
        """The index closed: its cached segments may be evicted."""
        self._cache.unpin_index(self._index)


def _size(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())


