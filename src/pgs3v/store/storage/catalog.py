"""The catalog: vector buckets and indexes, their settings, policies and tags.

Kept as a snapshot (``catalog.json``, replaced atomically: temporary file, fsync, rename, fsync
of the directory) and a journal (``catalog.journal``, one JSON line per changed or deleted
record, synced before the management call is acknowledged). A change costs one short line,
however many indexes exist (rewriting the whole snapshot on every CreateIndex made creating
10,000 indexes quadratic); once the journal holds as many lines as there are records, it is
folded into a new snapshot and emptied. Loading reads the snapshot, then the journal in order;
a torn last line (a crash mid-append) is cut off. Bucket and index management is therefore
exactly as durable as vector writes.
"""

from __future__ import annotations

import os
import threading
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson

from pgs3v.durable_files import PRIVATE_FILE, fsync_directory, write_file_atomically

CATALOG_FILE = "catalog.json"
JOURNAL_FILE = "catalog.journal"
CATALOG_VERSION = 1
# A text search configuration's status (AWS's AnalyzerStatus): its backfill is under way, or done
# and the key serves queries.
TEXT_SEARCH_BUILDING = "BUILDING"
TEXT_SEARCH_ACTIVE = "ACTIVE"
# A journal this short is never folded into a new snapshot (a small catalog's snapshot is cheap
# to rewrite, but appends are cheaper still).
_MIN_JOURNAL_LINES = 256


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

    @property
    def text_search_configurations(self) -> list[dict[str, Any]]:
        """The full-text search configurations: ``metadataKey``, ``language`` (when given), ``status``."""
        configurations: list[dict[str, Any]] = self.metadata_configuration.get("textSearchConfigurations", [])
        return configurations

    def text_search_status(self, key: str) -> str | None:
        """The status of ``key``'s text search configuration; None when the key has none."""
        for configuration in self.text_search_configurations:
            if configuration["metadataKey"] == key:
                return str(configuration["status"])
        return None


class _Records(Protocol):
    indexes: dict[tuple[str, str], IndexRecord]

    @property
    def lock(self) -> AbstractContextManager[Any]: ...

    def save(self, *changed: BucketRecord | IndexRecord) -> None: ...


def mark_text_search_active(catalog: _Records, storage_id: str, key: str) -> bool:
    """Record that the index ``storage_id`` has built ``key``'s text index: its status becomes ACTIVE.

    The engine calls this when its backfill of ``key`` is complete. False (and nothing changes)
    when the index is gone, the key is no longer configured or is ACTIVE already, so a backfill
    that finishes after a DeleteIndex or an UpdateMetadataConfiguration delete changes nothing.
    """
    with catalog.lock:
        record = next((r for r in catalog.indexes.values() if r.storage_id == storage_id), None)
        if record is None or record.text_search_status(key) != TEXT_SEARCH_BUILDING:
            return False
        configurations = [
            {**c, "status": TEXT_SEARCH_ACTIVE} if c["metadataKey"] == key else c
            for c in record.text_search_configurations
        ]
        # A new dict, not an edit in place: a failed save reloads the records from the files.
        record.metadata_configuration = {**record.metadata_configuration, "textSearchConfigurations": configurations}
        catalog.save(record)
        return True


class Catalog:
    """Buckets and indexes, persisted atomically on every change.

    Callers change records under ``lock`` and then :meth:`save`. A save that fails (a full disk,
    no file handles) restores every record from the file, the last durable state, so the failed
    change is undone in memory too: a management call is either done and acknowledged, or not done.
    """

    def __init__(self, data_dir: Path) -> None:
        self._path = data_dir / CATALOG_FILE
        self._journal_path = data_dir / JOURNAL_FILE
        self._dir = data_dir
        self.lock = threading.RLock()
        self.buckets: dict[str, BucketRecord] = {}
        self.indexes: dict[tuple[str, str], IndexRecord] = {}
        self._journal_lines = 0
        self._load()

    def _load(self) -> None:
        self.buckets.clear()
        self.indexes.clear()
        self._journal_lines = 0
        if self._path.exists():
            document = orjson.loads(self._path.read_bytes())
            if document.get("version") != CATALOG_VERSION:
                raise RuntimeError(f"{self._path}: unsupported catalog version {document.get('version')!r}")
            for raw in document["buckets"]:
                self._apply({"bucket": raw})
            for raw in document["indexes"]:
                self._apply({"index": raw})
        if not self._journal_path.exists():
            return
        data = self._journal_path.read_bytes()
        good = 0
        for line in data.splitlines(keepends=True):
            try:
                if not line.endswith(b"\n"):
                    raise ValueError("no line end")
                entry = orjson.loads(line)
            except ValueError:
                if good + len(line) < len(data):
                    raise RuntimeError(f"{self._journal_path}: damaged at byte {good}") from None
                # The last line, torn by a crash mid-append: it was never acknowledged.
                self._cut_journal(good)
                break
            self._apply(entry)
            self._journal_lines += 1
            good += len(line)

    def _apply(self, entry: dict[str, Any]) -> None:
        if "bucket" in entry:
            bucket = BucketRecord(**entry["bucket"])
            self.buckets[bucket.name] = bucket
        elif "index" in entry:
            index = IndexRecord(**entry["index"])
            self.indexes[(index.bucket, index.name)] = index
        elif "deleted_bucket" in entry:
            self.buckets.pop(entry["deleted_bucket"], None)
        elif "deleted_index" in entry:
            bucket, name = entry["deleted_index"]
            self.indexes.pop((bucket, name), None)
        else:
            raise RuntimeError(f"{self._journal_path}: unknown entry {sorted(entry)}")

    def save(self, *changed: BucketRecord | IndexRecord) -> None:
        """Make the change to ``changed`` (added, edited or removed) durable; the caller holds ``lock``.

        A save that fails (a full disk, no file handles) reloads every record from the files,
        the last durable state, so the failed change is undone in memory too: a management call
        is either done and acknowledged, or not done.
        """
        try:
            if self._journal_lines + len(changed) > max(_MIN_JOURNAL_LINES, len(self.buckets) + len(self.indexes)):
                self._write_snapshot()
            else:
                self._append(b"".join(orjson.dumps(self._entry(record)) + b"\n" for record in changed))
                self._journal_lines += len(changed)
        except BaseException:
            self._load()
            raise

    def _entry(self, record: BucketRecord | IndexRecord) -> dict[str, Any]:
        if isinstance(record, BucketRecord):
            present = self.buckets.get(record.name) is record
            return {"bucket": asdict(record)} if present else {"deleted_bucket": record.name}
        present = self.indexes.get((record.bucket, record.name)) is record
        return {"index": asdict(record)} if present else {"deleted_index": [record.bucket, record.name]}

    def _append(self, lines: bytes) -> None:
        created = not self._journal_path.exists()
        fd = os.open(self._journal_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
        try:
            size = os.fstat(fd).st_size
            try:
                view = memoryview(lines)
                while view:
                    view = view[os.write(fd, view):]
                os.fdatasync(fd)
            except BaseException:
                os.ftruncate(fd, size)  # no half line may stay for the next append to follow
                raise
        finally:
            os.close(fd)
        if created:
            fsync_directory(self._dir)

    def _cut_journal(self, size: int) -> None:
        fd = os.open(self._journal_path, os.O_WRONLY)
        try:
            os.ftruncate(fd, size)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _write_snapshot(self) -> None:
        document = {
            "version": CATALOG_VERSION,
            "buckets": [asdict(b) for b in self.buckets.values()],
            "indexes": [asdict(i) for i in self.indexes.values()],
        }
        write_file_atomically(self._path, orjson.dumps(document))
        # The snapshot holds every change now; a crash before the journal is emptied only
        # replays changes the snapshot already has.
        if self._journal_path.exists():
            self._cut_journal(0)
        self._journal_lines = 0

    def refresh(self) -> None:
        """Nothing to read again: this process is the catalog's only writer."""

    def refresh_record(self, bucket: str, index: str | None = None) -> None:
        """Nothing to read again: this process is the catalog's only writer."""

    def indexes_of(self, bucket: str) -> list[IndexRecord]:
        """Indexes of one bucket, sorted by name."""
        return sorted((i for (b, _), i in self.indexes.items() if b == bucket), key=lambda i: i.name)

