"""Where a store keeps its data: a local data directory, or objects (a bucket) with a local cache.

Both give the catalog and, per index, its write-ahead log, manifests and segment files:

- :class:`LocalStoreStorage`: ``catalog.json`` + ``catalog.journal`` and ``indexes/<id>/{wal,
  manifest,segments}`` in the data directory (``store/api/state.py`` draws the layout).
- :class:`ObjectStoreStorage`: ``catalog/`` and ``indexes/<id>/{wal,manifest,segments}/`` as
  objects; the data directory holds only the segment cache (and the server's credentials).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pgs3v.durable_files import private_directory
from pgs3v.store.storage.catalog import BucketRecord, Catalog, IndexRecord
from pgs3v.store.storage.group_commit import GroupCommitLog
from pgs3v.store.storage.local_objects import LocalObjects
from pgs3v.store.storage.manifest import ManifestStore
from pgs3v.store.storage.object_catalog import ObjectCatalog
from pgs3v.store.storage.object_log import TOMBSTONE, ObjectLog
from pgs3v.store.storage.objects import ObjectStorage, Prefixed
from pgs3v.store.storage.segment_files import (
    LocalSegmentFiles,
    ObjectSegmentFiles,
    SegmentCache,
    SegmentFiles,
)
from pgs3v.store.storage.wal import WriteAheadLog


class CatalogStore(Protocol):
    """The catalog's records and how changes to them are made durable."""

    buckets: dict[str, BucketRecord]
    indexes: dict[tuple[str, str], IndexRecord]

    @property
    def lock(self) -> AbstractContextManager[Any]:
        """Held while records are read or changed."""
        ...

    def save(self, *changed: BucketRecord | IndexRecord) -> None:
        """Make the change to ``changed`` (added, edited or removed) durable."""
        ...

    def indexes_of(self, bucket: str) -> list[IndexRecord]:
        """Indexes of one bucket, sorted by name."""
        ...

    def refresh(self) -> None:
        """Read the records again (other servers may have changed them)."""
        ...

    def refresh_record(self, bucket: str, index: str | None = None) -> None:
        """Read one bucket's (or, with ``index``, one index's) record again."""
        ...


@dataclass(frozen=True)
class IndexStorage:
    """Where one index keeps its log, its manifests and its segments."""

    open_log: Callable[[], GroupCommitLog]
    manifests: ManifestStore
    segments: SegmentFiles
    # Other servers may write this index too: a segment no manifest names may be one of theirs,
    # not yet committed, so none is removed at open.
    shared: bool = False


def local_index_storage(directory: Path) -> IndexStorage:
    """An index kept in ``directory``: a local write-ahead log, manifests, segment directories."""
    private_directory(directory)
    return IndexStorage(lambda: WriteAheadLog(directory / "wal"), ManifestStore(LocalObjects(directory / "manifest")),
                        LocalSegmentFiles(directory / "segments"))


class StoreStorage(Protocol):
    """Where a store keeps its data (see the module docstring)."""

    def open_catalog(self) -> CatalogStore:
        """Load the catalog."""
        ...

    def index(self, storage_id: str) -> IndexStorage:
        """The storage of one index (nothing is created until it is written)."""
        ...

    def index_ids(self) -> set[str]:
        """The ids of every index with stored data."""
        ...

    def index_exists(self, storage_id: str) -> bool:
        """Whether anything of the index is stored."""
        ...

    def drop_index(self, storage_id: str) -> None:
        """Delete every stored file or object of an index."""
        ...

    def describe(self) -> str:
        """Where the data is, for messages."""
        ...

    @property
    def shared(self) -> bool:
        """Whether other servers may write the same data (object storage): indexes then catch up."""
        ...


class LocalStoreStorage:
    """The store's data in ``data_dir``."""

    def __init__(self, data_dir: Path) -> None:
        private_directory(data_dir)
        private_directory(data_dir / "indexes")
        self.data_dir = data_dir

    def open_catalog(self) -> Catalog:
        """``catalog.json`` and its journal."""
        return Catalog(self.data_dir)

    def index(self, storage_id: str) -> IndexStorage:
        """``indexes/<id>/``: a local write-ahead log, manifests, segment directories."""
        return local_index_storage(self.data_dir / "indexes" / storage_id)

    def index_ids(self) -> set[str]:
        """The index directories."""
        return {path.name for path in (self.data_dir / "indexes").iterdir()}

    def index_exists(self, storage_id: str) -> bool:
        """Whether the index's directory exists."""
        return (self.data_dir / "indexes" / storage_id).exists()

    def drop_index(self, storage_id: str) -> None:
        """Delete the index's directory."""
        shutil.rmtree(self.data_dir / "indexes" / storage_id, ignore_errors=True)

    def describe(self) -> str:
        """The data directory."""
        return str(self.data_dir)

    @property
    def shared(self) -> bool:
        """No: one process owns a data directory (the log's lock file says so)."""
        return False


class ObjectStoreStorage:
    """The store's data as ``objects``; segments cached under ``cache_dir`` up to ``cache_bytes``."""

    def __init__(self, objects: ObjectStorage, cache_dir: Path, cache_bytes: int) -> None:
        self.objects = objects
        self.cache = SegmentCache(cache_dir, cache_bytes)

    def open_catalog(self) -> ObjectCatalog:
        """``catalog/``: one object per bucket and per index."""
        return ObjectCatalog(Prefixed(self.objects, "catalog"))

    def index(self, storage_id: str) -> IndexStorage:
        """``indexes/<id>/``: log objects, manifest objects, segment objects with cached copies."""
        objects = Prefixed(self.objects, f"indexes/{storage_id}")
        return IndexStorage(lambda: ObjectLog(Prefixed(objects, "wal")), ManifestStore(Prefixed(objects, "manifest")),
                            ObjectSegmentFiles(Prefixed(objects, "segments"), self.cache, storage_id), shared=True)

    def index_ids(self) -> set[str]:
        """The ids under ``indexes/``."""
        return {info.key.split("/")[1] for info in self.objects.list("indexes/")}

    def index_exists(self, storage_id: str) -> bool:
        """Whether any object of the index is stored."""
        return next(iter(self.objects.list(f"indexes/{storage_id}/")), None) is not None

    def drop_index(self, storage_id: str) -> None:
        """Delete the index's objects (its log first, so a half-dropped index never reopens) and cached copies.

        The log's tombstone stays, for servers that still have the index open; a start's orphan
        sweep removes it.
        """
        objects = Prefixed(self.objects, f"indexes/{storage_id}")
        objects.put(f"wal/{TOMBSTONE}", b"")  # first: servers catching up learn the index is gone
        for part in ("wal/", "manifest/", "segments/"):
            for info in list(objects.list(part)):
                if info.key != f"wal/{TOMBSTONE}":
                    objects.delete(info.key)
        self.cache.forget_index(storage_id)

    def describe(self) -> str:
        """The bucket and prefix."""
        return self.objects.describe()

    @property
    def shared(self) -> bool:
        """Yes: several servers may serve one bucket prefix."""
        return True
