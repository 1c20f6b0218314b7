"""The store's state on disk and in memory, and how requests address buckets and indexes.

Layout of the data directory::

    catalog.json, catalog.journal   buckets, indexes, policies, tags (snapshot + journal, see catalog.py)
    indexes/<storage id>/wal/       one write-ahead log per index
    indexes/<storage id>/segments/  its indexed segments (see segment.py)
    indexes/<storage id>/manifest/  which segments are live, and the log's watermark

Indexes are opened when first used (and, after a start, in the background, up to the cap),
so the start does not grow with their number; at most ``max_open_indexes`` stay open, the least
recently used one closing when another opens (never one that a request is using). A closed
index costs no thread and no file handle; its log is replayed when it opens again.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pgs3v.durable_files import private_directory
from pgs3v.store.api.arns import ArnScope
from pgs3v.store.api.errors import (
    BUCKET_NOT_FOUND,
    INDEX_NOT_FOUND,
    FieldError,
    NotFoundException,
    ServiceUnavailableException,
    TooManyRequestsException,
    ValidationException,
)
from pgs3v.store.api.limits import Limits, index_settings
from pgs3v.store.api.rankings import RankingCache
from pgs3v.store.api.throttle import TokenBucket
from pgs3v.store.api.tokens import TokenCodec
from pgs3v.store.engine.errors import IndexDeleted, IndexStale
from pgs3v.store.engine.indexer import IndexerPool
from pgs3v.store.engine.vector_index import VectorIndex
from pgs3v.store.storage.catalog import TEXT_SEARCH_ACTIVE, BucketRecord, IndexRecord, mark_text_search_active
from pgs3v.store.storage.store_storage import CatalogStore, StoreStorage

BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
INDEX_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")

log = logging.getLogger("pgs3v.store")


def _invalid_name(path: str, message: str) -> ValidationException:
    # AWS answers a bad name with the bare message, without the "1 validation error detected."
    # of its shape checks (checked against the service: "Invalid vector bucket name").
    return ValidationException(message, [FieldError(path, message)])


def check_bucket_name(name: str) -> None:
    """AWS's bucket naming rule: 3–63 of a-z 0-9 -, starting and ending alphanumeric."""
    if not BUCKET_NAME.fullmatch(name):
        raise _invalid_name("/vectorBucketName", "Invalid vector bucket name")


def check_index_name(name: str) -> None:
    """AWS's index naming rule: 3–63 of a-z 0-9 - ., starting and ending alphanumeric."""
    if not INDEX_NAME.fullmatch(name):
        raise _invalid_name("/indexName", "Invalid index name")


@dataclass
class _OpenIndex:
    """An open index and the number of requests using it now (it is never closed while used)."""

    index: VectorIndex
    users: int = 0
    # Replaced by a fresh copy (another server moved the index on): closed when its last user leaves.
    retired: bool = False


@dataclass
class StoreState:
    """Everything an operation needs: catalog, open indexes, limits and ARN scope."""

    data_dir: Path
    limits: Limits
    scope: ArnScope
    tokens: TokenCodec
    storage: StoreStorage
    clock: Callable[[], float] = time.time
    catalog: CatalogStore = field(init=False)
    # storage id -> the open index and how many requests use it now; least recently used first.
    _open: OrderedDict[str, _OpenIndex] = field(init=False, default_factory=OrderedDict)
    _open_lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _closing: dict[str, threading.Event] = field(init=False, default_factory=dict)
    _pool: IndexerPool = field(init=False)
    _stopping: threading.Event = field(init=False, default_factory=threading.Event)
    _opener: threading.Thread = field(init=False)
    _throttles: dict[str, tuple[TokenBucket | None, TokenBucket | None]] = field(init=False, default_factory=dict)
    # Text and hybrid rankings between the pages of a QueryVectors walk (see rankings.py for why).
    rankings: RankingCache = field(init=False, default_factory=RankingCache)

    def __post_init__(self) -> None:
        # Private from the root down: a data directory made before files were private (or by
        # hand) is tightened, which also shuts others out of whatever older files lie under it.
        private_directory(self.data_dir)
        self.catalog = self.storage.open_catalog()
        self._remove_orphans()
        self._pool = IndexerPool()
        self._opener = threading.Thread(target=self._open_ahead, name="pgs3v-open-ahead", daemon=True)
        self._opener.start()

    def _open_ahead(self) -> None:
        # Warm up to the cap after a start (queries then find their index open, and tails left by
        # a crash get folded), without making the start wait for it.
        with self.catalog.lock:
            records = list(self.catalog.indexes.values())[: self.limits.max_open_indexes]
        for record in records:
            if self._stopping.is_set():
                return
            try:
                with self.using(record):
                    pass
            except Exception as problem:  # a request opening it will report the problem
                if self._stopping.is_set():
                    return
                log.warning("could not open index %s/%s ahead: %s", record.bucket, record.name, problem)

    def _remove_orphans(self) -> None:
        # A crash between a DeleteIndex's catalog write and its directory removal (or before
        # a CreateIndex was acknowledged) leaves a directory nobody owns.
        if self.storage.shared:
            # Not on shared storage: another server (or worker) may be between a CreateIndex's
            # first objects and its catalog record, and this sweep would tombstone the new
            # index. Leftovers there wait for a collector with a grace period (not built).
            return
        owned = {record.storage_id for record in self.catalog.indexes.values()}
        for storage_id in self.storage.index_ids() - owned:
            self.storage.drop_index(storage_id)

    @contextmanager
    def using(self, record: IndexRecord) -> Iterator[VectorIndex]:
        """The open data of an index, opened (and recovered) if needed, kept open while in use."""
        entry = self._acquire(record)
        try:
            if self.storage.shared:
                entry = self._caught_up(record, entry)
            self._follow_text_search(record, entry.index)
            yield entry.index
        finally:
            self._release(entry)

    def _follow_text_search(self, record: IndexRecord, index: VectorIndex) -> None:
        """Bring the open index's searchable keys in line with the catalog's text search configurations.

        UpdateMetadataConfiguration does this itself (management.py); this catches what raced it
        (an index opened or evicted meanwhile, a configuration changed by another server) and marks
        ACTIVE a BUILDING key the index has finished (a backfill cut short by a restart is done
        when the index opens: its text indexes are derived from the segments and the log).
        """
        configured = {c["metadataKey"]: c for c in record.text_search_configurations}
        held = index.text_keys
        for key in held.keys() - configured.keys():
            index.drop_text_key(key)
        for key, configuration in configured.items():
            if configuration["status"] == TEXT_SEARCH_ACTIVE:
                if key not in held:
                    index.add_text_key(key, configuration.get("language"))
            elif key in held and not index.text_key_building(key):
                mark_text_search_active(self.catalog, record.storage_id, key)

    def _release(self, entry: _OpenIndex) -> None:
        with self._open_lock:
            entry.users -= 1
            closing = entry.retired and entry.users == 0
        if closing:
            entry.index.close()

    def _caught_up(self, record: IndexRecord, entry: _OpenIndex) -> _OpenIndex:
        """``entry`` after applying what other servers appended; a fresh copy if it fell behind."""
        try:
            entry.index.catch_up()
            return entry
        except IndexDeleted:
            self._retire(record, entry)
            with self.catalog.lock:
                if self.catalog.indexes.get((record.bucket, record.name)) is record:
                    del self.catalog.indexes[(record.bucket, record.name)]  # this server's copy only
            raise NotFoundException(INDEX_NOT_FOUND) from None
        except IndexStale as stale:
            log.info("index %s/%s reopened: %s", record.bucket, record.name, stale)
            self._retire(record, entry)
            fresh = self._acquire(record)
            try:
                fresh.index.catch_up()
            except BaseException:
                self._release(fresh)
                raise
            return fresh

    def _retire(self, record: IndexRecord, entry: _OpenIndex) -> None:
        """Take ``entry`` out of the open set (the next request opens a fresh copy) and let go of it."""
        with self._open_lock:
            if self._open.get(record.storage_id) is entry:
                del self._open[record.storage_id]
            entry.retired = True
        self._release(entry)

    def _acquire(self, record: IndexRecord) -> _OpenIndex:
        key = record.storage_id
        while True:
            with self._open_lock:
                if self._stopping.is_set():
                    # Closing: an index opened now would outlive the store (and keep its log locked).
                    raise ServiceUnavailableException("The store is shutting down; retry the request")
                closing = self._closing.get(key)
                if closing is None:
                    entry = self._open.get(key)
                    if entry is None:
                        # Opened under the lock: two requests must never open one index twice
                        # (its log allows one writer). Opening replays the log's unfolded tail.
                        entry = self._open[key] = _OpenIndex(self._open_index(record))
                    entry.users += 1
                    self._open.move_to_end(key)
                    evicted = self._evict()
                    break
            closing.wait()  # an eviction of this very index is still closing it
        for old_key, old in evicted:
            self._close_evicted(old_key, old)
        return entry

    def _open_index(self, record: IndexRecord) -> VectorIndex:
        created = not self.storage.index_exists(record.storage_id)
        try:
            text_keys = {c["metadataKey"]: c.get("language") for c in record.text_search_configurations}
            return VectorIndex(self.storage.index(record.storage_id), record.dimension, record.distance_metric,
                               record.non_filterable_keys, index_settings(self.limits), self._pool,
                               text_keys=text_keys)
        except BaseException:
            if created:  # a new index whose files could not all be made leaves none
                self.storage.drop_index(record.storage_id)
            raise

    def _evict(self) -> list[tuple[str, _OpenIndex]]:
        """Take the least recently used idle indexes beyond the cap out of the open set (caller holds the lock)."""
        excess = len(self._open) - self.limits.max_open_indexes
        if excess <= 0:
            return []
        evicted = []
        for key, entry in list(self._open.items()):
            if excess <= 0:
                break
            if entry.users == 0:
                del self._open[key]
                self._closing[key] = threading.Event()
                evicted.append((key, entry))
                excess -= 1
        return evicted

    def _close_evicted(self, key: str, entry: _OpenIndex) -> None:
        try:
            entry.index.close()
        finally:
            with self._open_lock:
                self._closing.pop(key).set()

    def open_indexes(self) -> list[VectorIndex]:
        """The indexes open now (a snapshot)."""
        with self._open_lock:
            return [entry.index for entry in self._open.values()]

    def admit_write(self, record: IndexRecord, vectors: int) -> None:
        """Refuse a write with 429 when it would pass the index's configured write rates."""
        limits = self.limits
        if not (limits.max_write_requests_per_second or limits.max_write_vectors_per_second):
            return
        with self._open_lock:
            if record.storage_id not in self._throttles:
                self._throttles[record.storage_id] = (
                    TokenBucket(limits.max_write_requests_per_second) if limits.max_write_requests_per_second else None,
                    TokenBucket(limits.max_write_vectors_per_second) if limits.max_write_vectors_per_second else None,
                )
            requests, vector_rate = self._throttles[record.storage_id]
        if (requests is not None and not requests.try_take(1)) or (
            vector_rate is not None and not vector_rate.try_take(vectors)
        ):
            raise TooManyRequestsException("Write rate exceeded for this index. Slow down and retry.")

    def drop_index_data(self, record: IndexRecord) -> None:
        """Close and delete an index's files (after the catalog no longer names it)."""
        with self._open_lock:
            entry = self._open.pop(record.storage_id, None)
            closing = self._closing.get(record.storage_id)
        if entry is not None:
            entry.index.close()
        if closing is not None:
            closing.wait()
        self.storage.drop_index(record.storage_id)

    def close(self) -> None:
        """Close every open index and stop the indexer's threads."""
        with self._open_lock:
            self._stopping.set()
        self._opener.join()  # it opens no further index once stopping is set
        with self._open_lock:
            for entry in self._open.values():
                entry.index.close()
            self._open.clear()
            closing = list(self._closing.values())
        for evicted in closing:
            evicted.wait()
        self._pool.stop()

    def bucket_name(self, request: dict[str, Any]) -> str:
        """The bucket a request names, by name or by ARN (exactly one of them)."""
        name, arn = request.get("vectorBucketName"), request.get("vectorBucketArn")
        if (name is None) == (arn is None):
            raise ValidationException("Must specify either vectorBucketName or vectorBucketArn but not both")
        if arn is not None:
            parsed = self.scope.parse_bucket_arn(arn)
            if parsed is None:
                raise NotFoundException(BUCKET_NOT_FOUND)
            return parsed
        bucket_name = str(name)
        check_bucket_name(bucket_name)
        return bucket_name

    def refresh_catalog(self) -> None:
        """On shared storage, read the catalog again: a listing must show other servers' changes."""
        if self.storage.shared:
            self.catalog.refresh()

    def bucket(self, request: dict[str, Any]) -> BucketRecord:
        """The bucket a request names; NotFoundException if there is none."""
        name = self.bucket_name(request)
        record = self.catalog.buckets.get(name)
        if record is None and self.storage.shared:
            self.catalog.refresh_record(name)  # another server may have created it
            record = self.catalog.buckets.get(name)
        if record is None:
            raise NotFoundException(BUCKET_NOT_FOUND)
        return record

    def index(self, request: dict[str, Any]) -> IndexRecord:
        """The index a request names, by ARN or by bucket and index name."""
        arn = request.get("indexArn")
        bucket, name = request.get("vectorBucketName"), request.get("indexName")
        if arn is not None and bucket is None and name is None:
            parsed = self.scope.parse_index_arn(arn)
            if parsed is None:
                raise NotFoundException(INDEX_NOT_FOUND)
            bucket, name = parsed
        elif arn is not None or bucket is None or name is None:
            raise ValidationException("Must specify either indexArn or both vectorBucketName and indexName")
        else:
            check_bucket_name(bucket)
            check_index_name(name)
        record = self.catalog.indexes.get((bucket, name))
        if record is None and self.storage.shared:
            self.catalog.refresh_record(bucket, name)  # another server may have created it
            record = self.catalog.indexes.get((bucket, name))
        if record is None:
            raise NotFoundException(INDEX_NOT_FOUND)
        return record

    def index_arn(self, record: IndexRecord) -> str:
        """ARN of an index record."""
        return self.scope.index_arn(record.bucket, record.name)
