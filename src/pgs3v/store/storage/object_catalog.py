"""The catalog on object storage: one object per bucket and per index.

``buckets/<bucket>.json`` and ``indexes/<bucket>/<index>.json`` under the catalog's prefix. A
change puts or deletes the changed records' objects before the management call is answered; a
start reads them all (in parallel: 10,000 indexes are 10,000 small gets). The records and the
interface are those of the local :class:`~pgs3v.store.storage.catalog.Catalog`.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict

import orjson

from pgs3v.store.storage.catalog import BucketRecord, IndexRecord
from pgs3v.store.storage.objects import ObjectNotFound, ObjectStorage

_READERS = 16


def _bucket_key(name: str) -> str:
    return f"buckets/{name}.json"


def _index_key(bucket: str, name: str) -> str:
    return f"indexes/{bucket}/{name}.json"


class ObjectCatalog:
    """Buckets and indexes as objects; callers change records under ``lock``, then :meth:`save`."""

    def __init__(self, objects: ObjectStorage) -> None:
        self._objects = objects
        self.lock = threading.RLock()
        self.buckets: dict[str, BucketRecord] = {}
        self.indexes: dict[tuple[str, str], IndexRecord] = {}
        self._load()

    def _load(self) -> None:
        keys = [info.key for info in self._objects.list() if info.key.endswith(".json")]
        with ThreadPoolExecutor(max_workers=_READERS, thread_name_prefix="pgs3v-catalog") as pool:
            documents = list(pool.map(self._objects.get, keys))
        self.buckets.clear()
        self.indexes.clear()
        for key, document in zip(keys, documents, strict=True):
            raw = orjson.loads(document)
            if key.startswith("buckets/"):
                self.buckets[raw["name"]] = BucketRecord(**raw)
            else:
                record = IndexRecord(**raw)
                self.indexes[(record.bucket, record.name)] = record

    def save(self, *changed: BucketRecord | IndexRecord) -> None:
        """Store or delete the changed records; on failure reload, so memory holds what is stored."""
        try:
            for record in changed:
                if isinstance(record, BucketRecord):
                    key, present = _bucket_key(record.name), self.buckets.get(record.name) is record
                else:
                    key = _index_key(record.bucket, record.name)
                    present = self.indexes.get((record.bucket, record.name)) is record
                if present:
                    self._objects.put(key, orjson.dumps(asdict(record)))
                else:
                    self._objects.delete(key)
        except BaseException:
            self._load()
            raise

    def refresh(self) -> None:
        """Read every record again: other servers sharing the bucket may have changed them."""
        with self.lock:
            self._load()

    def refresh_record(self, bucket: str, index: str | None = None) -> None:
        """Read one bucket's (or, with ``index``, one index's) record again: added, changed or gone."""
        key = _bucket_key(bucket) if index is None else _index_key(bucket, index)
        try:
            raw = orjson.loads(self._objects.get(key))
        except ObjectNotFound:
            raw = None
        with self.lock:
            if index is None:
                if raw is None:
                    self.buckets.pop(bucket, None)
                else:
                    self.buckets[bucket] = BucketRecord(**raw)
            elif raw is None:
                self.indexes.pop((bucket, index), None)
            else:
                self.indexes[(bucket, index)] = IndexRecord(**raw)

    def indexes_of(self, bucket: str) -> list[IndexRecord]:
        """Indexes of one bucket, sorted by name."""
        return sorted((i for (b, _), i in self.indexes.items() if b == bucket), key=lambda i: i.name)
