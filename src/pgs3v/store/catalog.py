"""The catalog: vector buckets and indexes, their settings, policies and tags.

It is small and changes rarely, so it is kept as one JSON document replaced atomically
(write a temporary file, fsync it, rename it over the old one, fsync the directory) before any
management call is acknowledged. That makes bucket and index management exactly as durable
as vector writes, without a log of its own.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from pgs3v.store.durable_files import write_file_atomically

CATALOG_FILE = "catalog.json"
CATALOG_VERSION = 1


@dataclass
class BucketRecord:
    """One vector bucket."""

    name: str
    creation_time: float
    encryption_configuration: dict[str, Any]
    default_index_mode: str | None = None
    policy: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class IndexRecord:
    """One vector index; ``storage_id`` names its data directory, so a re-created index never
    sees the data of a deleted one with the same name."""

    bucket: str
    name: str
    storage_id: str
    creation_time: float
    data_type: str
    dimension: int
    distance_metric: str
    metadata_configuration: dict[str, Any]
    encryption_configuration: dict[str, Any]
    index_mode: str = "CLASSIC"
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def non_filterable_keys(self) -> frozenset[str]:
        """Metadata keys declared non-filterable at creation."""
        return frozenset(self.metadata_configuration.get("nonFilterableMetadataKeys", []))


class Catalog:
    """Buckets and indexes, persisted atomically on every change.

    Callers change records under ``lock`` and then :meth:`save`. A save that fails (a full disk,
    no file handles) restores every record from the file, the last durable state, so the failed
    change is undone in memory too: a management call is either done and acknowledged, or not done.
    """

    def __init__(self, data_dir: Path) -> None:
        self._path = data_dir / CATALOG_FILE
        self._dir = data_dir
        self.lock = threading.RLock()
        self.buckets: dict[str, BucketRecord] = {}
        self.indexes: dict[tuple[str, str], IndexRecord] = {}
        self._load()

    def _load(self) -> None:
        if not self._path.exists():
            return
        document = orjson.loads(self._path.read_bytes())
        if document.get("version") != CATALOG_VERSION:
            raise RuntimeError(f"{self._path}: unsupported catalog version {document.get('version')!r}")
        for raw in document["buckets"]:
            bucket = BucketRecord(**raw)
            self.buckets[bucket.name] = bucket
        for raw in document["indexes"]:
            index = IndexRecord(**raw)
            self.indexes[(index.bucket, index.name)] = index

    def save(self) -> None:
        """Write the whole catalog durably (caller holds ``lock``)."""
        document = {
            "version": CATALOG_VERSION,
            "buckets": [asdict(b) for b in self.buckets.values()],
            "indexes": [asdict(i) for i in self.indexes.values()],
        }
        try:
            write_file_atomically(self._path, orjson.dumps(document))
        except BaseException:
            self.buckets.clear()
            self.indexes.clear()
            self._load()
            raise

    def indexes_of(self, bucket: str) -> list[IndexRecord]:
        """Indexes of one bucket, sorted by name."""
        return sorted((i for (b, _), i in self.indexes.items() if b == bucket), key=lambda i: i.name)

