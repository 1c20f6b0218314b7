"""The store's state on disk and in memory, and how requests address buckets and indexes.

Layout of the data directory::

    catalog.json                    buckets, indexes, policies, tags (replaced atomically)
    indexes/<storage id>/wal/       one write-ahead log per index
    indexes/<storage id>/segments/  its indexed segments (see segment.py)
    indexes/<storage id>/manifest/  which segments are live, and the log's watermark
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pgs3v.store.arns import ArnScope
from pgs3v.store.catalog import BucketRecord, Catalog, IndexRecord
from pgs3v.store.durable_files import private_directory
from pgs3v.store.errors import (
    BUCKET_NOT_FOUND,
    INDEX_NOT_FOUND,
    FieldError,
    NotFoundException,
    TooManyRequestsException,
    ValidationException,
)
from pgs3v.store.index_settings import index_settings
from pgs3v.store.limits import Limits
from pgs3v.store.throttle import TokenBucket
from pgs3v.store.tokens import TokenCodec
from pgs3v.store.vector_index import VectorIndex

BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
INDEX_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


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
class StoreState:
    """Everything an operation needs: catalog, open indexes, limits and ARN scope."""

    data_dir: Path
    limits: Limits
    scope: ArnScope
    tokens: TokenCodec
    clock: Callable[[], float] = time.time
    catalog: Catalog = field(init=False)
    _open: dict[str, VectorIndex] = field(init=False, default_factory=dict)
    _open_lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _throttles: dict[str, tuple[TokenBucket | None, TokenBucket | None]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        # Private from the root down: a data directory made before files were private (or by
        # hand) is tightened, which also shuts others out of whatever older files lie under it.
        private_directory(self.data_dir)
        private_directory(self.data_dir / "indexes")
        self.catalog = Catalog(self.data_dir)
        self._remove_orphans()
        for record in self.catalog.indexes.values():
            self.vectors_of(record)

    def _remove_orphans(self) -> None:
        # A crash between a DeleteIndex's catalog write and its directory removal (or before
        # a CreateIndex was acknowledged) leaves a directory nobody owns.
        owned = {record.storage_id for record in self.catalog.indexes.values()}
        for directory in (self.data_dir / "indexes").iterdir():
            if directory.name not in owned:
                shutil.rmtree(directory, ignore_errors=True)

    def index_directory(self, record: IndexRecord) -> Path:
        """Where an index keeps its files."""
        return self.data_dir / "indexes" / record.storage_id

    def vectors_of(self, record: IndexRecord) -> VectorIndex:
        """The open data of an index, opened (and recovered) on first use."""
        with self._open_lock:
            index = self._open.get(record.storage_id)
            if index is None:
                directory = self.index_directory(record)
                created = not directory.exists()
                try:
                    index = VectorIndex(
                        directory, record.dimension, record.distance_metric, record.non_filterable_keys,
                        index_settings(self.limits),
                    )
                except BaseException:
                    if created:  # a new index whose files could not all be made leaves none
                        shutil.rmtree(directory, ignore_errors=True)
                    raise
                self._open[record.storage_id] = index
            return index

    def open_indexes(self) -> list[VectorIndex]:
        """The indexes open now (a snapshot)."""
        with self._open_lock:
            return list(self._open.values())

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
            index = self._open.pop(record.storage_id, None)
        if index is not None:
            index.close()
        shutil.rmtree(self.index_directory(record), ignore_errors=True)

    def close(self) -> None:
        """Close every open index."""
        with self._open_lock:
            for index in self._open.values():
                index.close()
            self._open.clear()

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

    def bucket(self, request: dict[str, Any]) -> BucketRecord:
        """The bucket a request names; NotFoundException if there is none."""
        name = self.bucket_name(request)
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
        if record is None:
            raise NotFoundException(INDEX_NOT_FOUND)
        return record

    def index_arn(self, record: IndexRecord) -> str:
        """ARN of an index record."""
        return self.scope.index_arn(record.bucket, record.name)
