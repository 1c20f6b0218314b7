"""The rows of one index in memory, with exact (brute-force) search.

Rows are append-only: an overwrite appends a new row and marks the old one dead, so a query
can work on a snapshot (the first ``n`` rows plus a copy of the live mask) without holding the
lock while numpy computes distances. Dead rows stay until the owner drops a prefix of rows
(the indexer, once it has moved them into a segment), so row numbers never shift under it.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pgs3v.store.engine.distances import nearest_exact, row_norms
from pgs3v.store.engine.metadata_columns import MetadataColumns
from pgs3v.store.engine.mutations import DeleteBatch, Mutation, PutBatch
from pgs3v.store.engine.segment_rows import SegmentRows

FloatArray = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]
RowFilter = Callable[[MetadataColumns], BoolArray]



def key_order(key: str) -> tuple[int, int]:
    """A 128-bit hash of a key: ListVectors orders and partitions keys by it."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=16).digest()
    return int.from_bytes(digest[:8], "big"), int.from_bytes(digest[8:], "big")


@dataclass(frozen=True)
class StoredVector:
    """One live vector as GetVectors and ListVectors return it."""

    key: str
    data: FloatArray
    metadata: dict[str, Any] | None


@dataclass(frozen=True)
class Neighbour:
    """One query result."""

    key: str
    distance: float
    metadata: dict[str, Any] | None


class VectorTable:
    """Live vectors of one index, their metadata (whole and columnar) and key hashes."""

    def __init__(self, dimension: int, metric: str, non_filterable_keys: frozenset[str]) -> None:
        self.dimension = dimension
        self.metric = metric
        self._non_filterable = non_filterable_keys
        self._lock = threading.Lock()
        self._vectors: FloatArray = np.empty((0, dimension), dtype=np.float32)
        self._norms: FloatArray = np.empty(0, dtype=np.float32)
        self._hash_high = np.empty(0, dtype=np.uint64)
        self._hash_low = np.empty(0, dtype=np.uint64)
        self._alive: BoolArray = np.empty(0, dtype=np.bool_)
        self._keys: list[str] = []
        self._metadata: list[dict[str, Any] | None] = []
        self._columns = MetadataColumns()
        self._row_of: dict[str, int] = {}
        self._rows = 0

    @property
    def live_count(self) -> int:
        """Number of live vectors."""
        return len(self._row_of)

    def apply(self, mutation: Mutation) -> None:
        """Apply one durable batch (the caller applies batches in log order)."""
        with self._lock:
            if isinstance(mutation, DeleteBatch):
                self._delete(mutation.keys)
            else:
                self._put(mutation)

    def _delete(self, keys: Iterable[str]) -> None:
        for key in keys:
            row = self._row_of.pop(key, None)
            if row is not None:
                self._alive[row] = False

    def _put(self, batch: PutBatch) -> None:
        # A key repeated within one batch: the last occurrence wins, as if sent in sequence.
        last = {key: i for i, key in enumerate(batch.keys)}
        picks = sorted(last.values())
        keys = [batch.keys[i] for i in picks]
        vectors = batch.vectors[picks]
        metadata = [batch.metadata[i] for i in picks]
        self._delete(keys)
        start, count = self._rows, len(keys)
        self._reserve(start + count)
        self._vectors[start : start + count] = vectors
        # As a segment computes them, so the tail and a segment pick the same float32 pool.
        self._norms[start : start + count] = row_norms(vectors)
        hashes = [key_order(k) for k in keys]
        self._hash_high[start : start + count] = [h for h, _ in hashes]
        self._hash_low[start : start + count] = [low for _, low in hashes]
        self._alive[start : start + count] = True
        self._keys.extend(keys)
        self._metadata.extend(metadata)
        self._columns.append([self._filterable(m) for m in metadata])
        for offset, key in enumerate(keys):
            self._row_of[key] = start + offset
        self._rows = start + count

    def _filterable(self, metadata: dict[str, Any] | None) -> dict[str, Any] | None:
        if not metadata or not self._non_filterable:
            return metadata
        return {k: v for k, v in metadata.items() if k not in self._non_filterable}

    def _reserve(self, rows: int) -> None:
        capacity = len(self._alive)
        if rows <= capacity:
            return
        # Doubling keeps appends amortised O(1); a new array (never an in-place resize) keeps
        # snapshots held by running queries valid.
        new_capacity = max(rows, capacity * 2, 1024)
        self._vectors = _grown(self._vectors, new_capacity)
        self._norms = _grown(self._norms, new_capacity)
        self._hash_high = _grown(self._hash_high, new_capacity)
        self._hash_low = _grown(self._hash_low, new_capacity)
        self._alive = _grown(self._alive, new_capacity)

    @property
    def row_count(self) -> int:
        """Rows appended and not yet dropped, dead ones included."""
        return self._rows

    def rows_before(self, end: int) -> tuple[npt.NDArray[np.intp], SegmentRows]:
        """The live rows among the first ``end``: their row numbers, and their contents for a segment."""
        with self._lock:
            live = np.flatnonzero(self._alive[:end])
            return live, SegmentRows.encoded(
                [self._keys[i] for i in live], self._vectors[live].copy(), [self._metadata[i] for i in live],
                self._hash_high[live].copy(), self._hash_low[live].copy(),
                # The tail's columns already hold the filterable metadata of its rows.
                columns=self._columns.take(live),
            )

    def dead_among(self, rows: npt.NDArray[np.intp]) -> BoolArray:
        """Which of ``rows`` have been deleted or overwritten (rows must not have been dropped)."""
        with self._lock:
            dead: BoolArray = ~self._alive[rows]
            return dead

    def drop_first(self, end: int) -> None:
        """Forget the first ``end`` rows (the indexer moved the live ones into a segment)."""
        with self._lock:
            for key in self._keys[:end]:
                row = self._row_of.get(key)
                if row is not None and row < end:
                    del self._row_of[key]
                    self._alive[row] = False
            self._compact()

    def _compact(self) -> None:
        keep = np.flatnonzero(self._alive[: self._rows])
        count = len(keep)
        capacity = max(count * 2, 1024)
        self._vectors = _taken(self._vectors, keep, capacity)
        self._norms = _taken(self._norms, keep, capacity)
        self._hash_high = _taken(self._hash_high, keep, capacity)
        self._hash_low = _taken(self._hash_low, keep, capacity)
        self._alive = np.zeros(capacity, dtype=np.bool_)
        self._alive[:count] = True
        self._keys = [self._keys[i] for i in keep]
        self._metadata = [self._metadata[i] for i in keep]
        self._columns = self._columns.take(keep)
        self._row_of = {key: row for row, key in enumerate(self._keys)}
        self._rows = count

    def get(self, keys: Iterable[str]) -> list[StoredVector]:
        """Live vectors among ``keys``, in request order; unknown keys are skipped."""
        with self._lock:
            found = []
            for key in keys:
                row = self._row_of.get(key)
                if row is not None:
                    found.append(StoredVector(key, self._vectors[row].copy(), self._metadata[row]))
            return found

    def list_page(
        self, segment_count: int, segment_index: int, after: tuple[int, int] | None, limit: int
    ) -> list[tuple[tuple[int, int], StoredVector]]:
        """Up to ``limit`` live vectors of one segment, in key-hash order, after ``after``."""
        with self._lock:
            rows = self._rows
            high, low = self._hash_high[:rows], self._hash_low[:rows]
            mask = self._alive[:rows].copy()
            if segment_count > 1:
                mask &= (high % np.uint64(segment_count)) == np.uint64(segment_index)
            if after is not None:
                after_high, after_low = np.uint64(after[0]), np.uint64(after[1])
                mask &= (high > after_high) | ((high == after_high) & (low > after_low))
            candidates = np.flatnonzero(mask)
            if len(candidates) > limit:
                # Order by the high word first; ties on it are resolved by the full sort below.
                cut = np.argpartition(high[candidates], limit - 1)[:limit]
                boundary = high[candidates[cut]].max()
                candidates = candidates[high[candidates] <= boundary]
            order = np.lexsort((low[candidates], high[candidates]))[:limit]
            page = []
            for row in candidates[order]:
                position = (int(high[row]), int(low[row]))
                page.append((position, StoredVector(self._keys[row], self._vectors[row].copy(), self._metadata[row])))
            return page

    def live_metadata(self) -> list[tuple[str, dict[str, Any] | None]]:
        """Each live row's key and metadata, in row order."""
        with self._lock:
            return [(self._keys[row], self._metadata[row]) for row in sorted(self._row_of.values())]

    def snapshot(self, row_filter: RowFilter | None) -> TableSnapshot:
        """The live rows (that match ``row_filter``) as of now, to search without the lock."""
        with self._lock:
            rows = self._rows
            live = self._alive[:rows].copy()
            if row_filter is not None:
                live &= row_filter(self._columns)
            return TableSnapshot(self.metric, rows, live, self._vectors, self._norms, self._keys, self._metadata)


@dataclass(frozen=True)
class TableSnapshot:
    """A table's rows as of one moment; arrays are shared, never written by the table again."""

    metric: str
    rows: int
    live: BoolArray
    vectors: FloatArray
    norms: FloatArray
    keys: list[str]
    metadata: list[dict[str, Any] | None]

    def nearest(self, vector: FloatArray, top: int, skip: int) -> list[Neighbour]:
        """The exact nearest live vectors ranked ``skip`` .. ``skip + top - 1``."""
        candidates = np.flatnonzero(self.live)
        if len(candidates) <= skip:
            return []
        rows, distances = nearest_exact(
            self.metric, vector, self.vectors, self.norms, candidates, self.rows, skip + top
        )
        return [
            Neighbour(self.keys[row], float(distance), self.metadata[row])
            for row, distance in zip(rows[skip:].tolist(), distances[skip:].tolist(), strict=True)
        ]


def _grown(array: npt.NDArray[Any], capacity: int) -> npt.NDArray[Any]:
    grown = np.zeros((capacity, *array.shape[1:]), dtype=array.dtype)
    grown[: len(array)] = array
    return grown


def _taken(array: npt.NDArray[Any], rows: npt.NDArray[np.intp], capacity: int) -> npt.NDArray[Any]:
    taken = np.zeros((capacity, *array.shape[1:]), dtype=array.dtype)
    taken[: len(rows)] = array[rows]
    return taken
