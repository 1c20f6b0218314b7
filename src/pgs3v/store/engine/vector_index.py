"""One index's data: its write-ahead log, its segments, and the unindexed tail of the log.

A write is appended to the log (fsynced, shared with concurrent writers by group commit), then
applied strictly in log order (so memory holds what a replay would rebuild), then acknowledged.
Applying means: kill the batch's keys in the segments (a put replaces, a delete removes), then
update the tail, an in-memory table searched exactly. So a query sees every acknowledged write.

The indexer (see :mod:`pgs3v.store.engine.indexer`) moves the tail into segments in the background and
merges segments; each such change commits a new manifest (the segments, their deleted rows, and
the watermark up to which the log is folded), after which the log below the watermark is purged.
Recovery opens the manifest's segments and replays the log after the watermark.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from pgs3v.durable_files import SyncedFile, fsync_directory
from pgs3v.store.engine.ann import ann_lists, layout_for
from pgs3v.store.engine.errors import IndexDeleted, IndexStale, IndexUnavailable
from pgs3v.store.engine.filters import CompiledFilter
from pgs3v.store.engine.index_settings import IndexSettings
from pgs3v.store.engine.indexer import Indexer, IndexerPool
from pgs3v.store.engine.merge_policy import merge_choice, optimize_plan
from pgs3v.store.engine.metadata_columns import MetadataColumns
from pgs3v.store.engine.mutations import DeleteBatch, Mutation, decode_mutation, encode_mutation
from pgs3v.store.engine.native_memory import release_free_memory
from pgs3v.store.engine.segment import Segment, SegmentBuild, write_segment
from pgs3v.store.engine.segment_rows import Blobs, GatheredVectors, SegmentRows
from pgs3v.store.engine.segment_search import SearchKnobs
from pgs3v.store.engine.segment_set import (
    LiveSegment,
    find_live,
    kill_keys,
    list_after,
    persisted,
    query_segments,
    replaced,
)
from pgs3v.store.engine.text_index import Allowed, SegmentSource, TextHit, TextIndex
from pgs3v.store.engine.text_segment import build_segment_text, is_built, searchable_text, text_directory
from pgs3v.store.engine.vector_table import Neighbour, StoredVector, VectorTable, key_order
from pgs3v.store.storage.errors import WalDeletedError, WalFencedError, WalGapError
from pgs3v.store.storage.manifest import Manifest, ManifestConflictError, SegmentEntry
from pgs3v.store.storage.store_storage import IndexStorage

_logger = logging.getLogger(__name__)

# A writer waits for earlier log records to be applied; they are always in flight in another
# thread, so this bound is only reached if that thread died, and then failing beats hanging.
_APPLY_WAIT_SECONDS = 60.0
# A write fenced by another server's append catches up and tries again, this many times in all.
_FENCED_RETRIES = 3
_DELETED_FILE = re.compile(r"deleted-\d{20}(-[0-9a-f]+)?\.npy")
# A training (lists and codebooks) is reused for segments whose ideal list count is at most this
# many times its own.
_RETRAIN_GROWTH = 4


def _hashes(keys: Sequence[str]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    pairs = [key_order(key) for key in keys]
    high = np.fromiter((h for h, _ in pairs), dtype=np.uint64, count=len(pairs))
    low = np.fromiter((low for _, low in pairs), dtype=np.uint64, count=len(pairs))
    return high, low


class VectorIndex:
    """Durable vectors of one index, searched through segments and the unindexed tail."""

    def __init__(
        self, storage: IndexStorage, dimension: int, metric: str, non_filterable_keys: frozenset[str],
        settings: IndexSettings | None = None, indexer_pool: IndexerPool | None = None,
        text_keys: Mapping[str, str | None] | None = None,
    ) -> None:
        """``text_keys``: the full-text searchable metadata keys, each with its language (None: standard)."""
        self.dimension, self.metric = dimension, metric
        self.settings = settings or IndexSettings()
        self._build = SegmentBuild(
            metric, self.settings.ann_min_floats, self.settings.build_threads,
            recall_target=self.settings.recall_target, rerank=self.settings.search.rerank,
        )
        self._files = storage.segments
        self._manifests = storage.manifests
        self._manifest = self._manifests.load()
        if not storage.shared:
            self._remove_unreferenced()
        self._segments: tuple[LiveSegment, ...] = tuple(self._open_segment(entry) for entry in self._manifest.segments)
        # The text indexes are derived from the segments and the log: a segment that lacks a key's
        # (written before the key was added, or fetched into a fresh cache without a backfill's
        # files) gets it built here, so a searchable key is never left half built by a restart.
        self._text = TextIndex(text_keys or {})
        for live in self._segments:
            for key, language in self._text.languages.items():
                if not _text_built(live.segment, key, language):
                    _build_text(live.segment, key, language)
            self._text.attach_segment(_text_source(live))
        self._next_segment = self._manifest.next_segment
        self._tail = VectorTable(dimension, metric, non_filterable_keys)
        self._lock = threading.Lock()
        self._applied = threading.Condition(self._lock)
        # Folds and merges run concurrently (a long merge must not let the tail grow), each
        # kind one at a time; commits are serialized. Lock order: merge, fold, commit, _lock.
        self._fold_lock = threading.RLock()
        self._merge_lock = threading.RLock()
        self._commit_lock = threading.Lock()
        self._catch_up_lock = threading.Lock()
        # Why this object no longer follows the index (another server committed first), or None.
        self._stale: str | None = None
        self._folded_lsn = self._manifest.watermark_lsn
        self._last_write = time.monotonic()
        self._writes_in_flight = 0
        self._log = storage.open_log()
        for _, record in self._log.replay(after_lsn=self._manifest.watermark_lsn):
            self._apply(decode_mutation(record))
        self._applied_lsn = self._log.last_lsn
        # An empty index trained by the latest build that trained (None until one did; not kept
        # across restarts): later folds and merges grow their index from it (see _write).
        self._trained: Any = None
        self._indexer: Any = None
        self._own_pool: Any = None
        if self.settings.background:
            if indexer_pool is None:  # an index on its own (tests, tools): its own two threads
                indexer_pool = self._own_pool = IndexerPool()
            self._indexer = Indexer(self, indexer_pool)

    # -- writes ---------------------------------------------------------------------------

    def write(self, mutation: Mutation) -> None:
        """Make a validated batch durable, then visible; returns once both are true."""
        with self._lock:
            self._writes_in_flight += 1
        try:
            lsn = self._append(encode_mutation(mutation))
            with self._applied:
                ready = self._applied.wait_for(lambda: self._applied_lsn >= lsn - 1, timeout=_APPLY_WAIT_SECONDS)
                if not ready:
                    raise IndexUnavailable("The index is not accepting writes; retry the request")
                try:
                    self._apply(mutation)
                finally:
                    # Later writers must not stall behind a batch that failed to apply.
                    self._applied_lsn = lsn
                    self._applied.notify_all()
        finally:
            with self._lock:
                self._writes_in_flight -= 1
                self._last_write = time.monotonic()
        if self._indexer is not None:
            self._indexer.wake()

    def _append(self, record: bytes) -> int:
        """Append to the log; fenced by another server's append, catch up with it and retry."""
        for attempt in range(_FENCED_RETRIES):
            try:
                return self._log.append(record)
            except WalFencedError:
                if attempt == _FENCED_RETRIES - 1:
                    raise
                self.catch_up()
        raise AssertionError("unreachable")

    def catch_up(self) -> None:
        """Apply what other servers appended to this index's log since this one last looked.

        Only a log on object storage can have other writers (a local log has none). IndexStale
        when records were purged before this server saw them: the index must be reopened.
        """
        with self._catch_up_lock:
            if self._stale is not None:
                raise IndexStale(self._stale)
            try:
                records = self._log.catch_up()
            except WalGapError as gap:
                raise IndexStale(str(gap)) from None
            except WalDeletedError as deleted:
                raise IndexDeleted(str(deleted)) from None
            if not records:
                return
            with self._applied:
                # This server's own writes before them are applied first, in log order.
                ready = self._applied.wait_for(lambda: self._applied_lsn >= records[0][0] - 1,
                                               timeout=_APPLY_WAIT_SECONDS)
                if not ready:
                    raise IndexUnavailable("The index is not accepting writes; retry the request")
                try:
                    for _, payload in records:
                        self._apply(decode_mutation(payload))
                finally:
                    self._applied_lsn = records[-1][0]
                    self._last_write = time.monotonic()
                    self._applied.notify_all()

    def _apply(self, mutation: Mutation) -> None:
        keys = mutation.keys if isinstance(mutation, DeleteBatch) else list(dict.fromkeys(mutation.keys))
        if self._segments:
            high, low = _hashes(keys)
            before = self._segments
            self._segments = kill_keys(self._segments, keys, high, low)
            for old, new in zip(before, self._segments, strict=True):
                if new is not old:
                    rows = np.flatnonzero(new.deleted & ~old.deleted).tolist()
                    self._text.delete_segment_rows(new.segment.name, rows)
        self._tail.apply(mutation)
        # The tail's text, in the same critical section as its vectors (a delete or overwrite
        # counts in the very next query, statistics included).
        if isinstance(mutation, DeleteBatch):
            for key in mutation.keys:
                self._text.remove(key)
        elif self._text.languages:
            last = {key: i for i, key in enumerate(mutation.keys)}
            for key, i in last.items():
                self._text.put(key, mutation.metadata[i])

    # -- reads ----------------------------------------------------------------------------

    def get(self, keys: Sequence[str]) -> list[StoredVector]:
        """Live vectors among ``keys``, in request order; unknown keys are skipped."""
        with self._lock:
            segments = self._segments
            in_tail = {vector.key: vector for vector in self._tail.get(keys)}
        rest = [key for key in keys if key not in in_tail]
        in_segments: dict[str, StoredVector] = {}
        if rest and segments:
            high, low = _hashes(rest)
            for vector in find_live(segments, rest, high, low):
                if vector is not None:
                    in_segments[vector.key] = vector
        found = []
        for key in keys:
            vector = in_tail.get(key) or in_segments.get(key)
            if vector is not None:
                found.append(vector)
        return found

    def list_page(
        self, segment_count: int, segment_index: int, after: tuple[int, int] | None, limit: int
    ) -> list[tuple[tuple[int, int], StoredVector]]:
        """Up to ``limit`` live vectors of one ListVectors segment, in key-hash order, after ``after``."""
        with self._lock:
            segments = self._segments
            page = self._tail.list_page(segment_count, segment_index, after, limit)
        page += list_after(segments, segment_count, segment_index, after, limit)
        page.sort(key=lambda item: item[0])
        return page[:limit]

    def query(
        self, vector: npt.NDArray[np.float32], top: int, skip: int, row_filter: CompiledFilter | None,
        knobs: SearchKnobs | None = None, after: tuple[float, str] | None = None,
    ) -> list[Neighbour]:
        """The nearest live vectors ranked ``skip`` .. ``skip + top - 1`` (approximate in segments).

        With ``after`` (the distance and key of the last result of the previous page; ``skip``
        is then how many were returned before), the ``top`` nearest beyond it. Paging by this
        cursor never returns a vector twice however the approximate candidates shift with depth;
        a vector the approximate search missed on an earlier page stays missed.
        """
        wanted = skip + top
        with self._lock:
            segments = self._segments
            tail = self._tail.snapshot(row_filter.evaluate if row_filter is not None else None)
        merged: list[tuple[float, str, Any]] = [(n.distance, n.key, n) for n in tail.nearest(vector, wanted, 0)]
        for hit in query_segments(segments, vector, wanted, row_filter, knobs or self.settings.search):
            merged.append((hit.distance, hit.key, hit))
        merged.sort(key=lambda item: (item[0], item[1]))
        results = []
        if after is None:
            page = merged[skip:wanted]
        else:
            page = [item for item in merged if _beyond(item[0], item[1], after)][:top]
        for distance, key, source in page:
            if isinstance(source, Neighbour):
                results.append(source)
            else:
                results.append(Neighbour(key, distance, source.live.segment.metadata(source.row)))
        return results

    def text_search(
        self, key: str, text: str, top: int, row_filter: CompiledFilter | None,
    ) -> list[TextHit]:
        """The ``top`` live rows that score best for ``text`` on searchable ``key`` (BM25, best first).

        ``row_filter`` narrows the rows before ranking (the statistics stay the index's). Raises
        :class:`pgs3v.store.engine.text_index.KeyBuilding` while the key is being backfilled, and
        KeyError for a key that is not searchable.
        """
        allowed = None
        if row_filter is not None:
            with self._lock:
                segments = self._segments
                tail = self._tail.snapshot(row_filter.evaluate)
            masks = {}
            for live in segments:
                mask = row_filter.evaluate(live.segment.columns)
                masks[live.segment.name] = mask & ~live.deleted if live.deleted_count else mask
            allowed = Allowed(masks, {tail.keys[row] for row in np.flatnonzero(tail.live).tolist()})
        return self._text.search(key, text, top, allowed)

    @property
    def text_keys(self) -> dict[str, str | None]:
        """The searchable keys and their languages (a copy)."""
        return dict(self._text.languages)

    def text_key_building(self, key: str) -> bool:
        """``key`` is searchable but some segment still lacks its text index."""
        return key not in self._text.languages or self._text.building(key)

    def add_text_key(self, key: str, language: str | None) -> None:
        """Make ``key`` full-text searchable: new writes at once, then every segment backfilled.

        Returns once every segment has the key's text index (it may take a while: call it in the
        background). Folds and merges wait meanwhile, so no segment appears without the key; writes
        and queries go on. A key already searchable is left as it is.
        """
        with self._merge_lock, self._fold_lock:
            with self._lock:
                if key in self._text.languages:
                    if not self._text.building(key):
                        return
                    language = self._text.languages[key]
                else:
                    self._text.add_key(key, language, self._tail.live_metadata())
                segments = self._segments
            for live in segments:
                if not _text_built(live.segment, key, language):
                    _build_text(live.segment, key, language)
                self._text.backfill(live.segment.name, key)

    def drop_text_key(self, key: str) -> None:
        """``key`` is no longer searchable (its files stay until the segments are rewritten)."""
        with self._merge_lock, self._fold_lock, self._lock:
            if key in self._text.languages:
                self._text.drop_key(key)

    # -- the indexer's steps ----------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counts that show how far indexing is behind the log."""
        with self._lock:
            segments = self._segments
            tail_rows, tail_live = self._tail.row_count, self._tail.live_count
            applied = self._applied_lsn
        return {
            "appliedLsn": applied, "indexedLsn": self._manifest.watermark_lsn,
            "unindexedRows": tail_rows, "unindexedLiveVectors": tail_live,
            "segments": [
                {"name": s.segment.name, "rows": s.segment.rows, "deletedRows": s.deleted_count,
                 "approximate": s.segment.ann is not None, "probes": s.segment.probes,
                 "rerank": s.segment.rerank}
                for s in segments
            ],
            "vectors": tail_live + sum(s.live_count for s in segments),
            # Nothing left to fold or merge: the layout the indexer reaches once writes pause.
            "settled": tail_rows == 0 and self._manifest.watermark_lsn == applied
                       and not merge_choice(segments, self.settings, settle=True),
            "indexerError": self._indexer.last_error if self._indexer is not None else None,
        }

    @property
    def unindexed_rows(self) -> int:
        """Rows of the log not yet in a segment: how far the indexer lags (cheap, unlike stats)."""
        with self._lock:
            return self._tail.row_count

    @property
    def seconds_since_write(self) -> float:
        """Time since the last write was applied (or since the index was opened); 0 while one is in flight."""
        # A write stalled on a slow fsync is not a pause: settling then would rebuild segments
        # in the middle of a bulk load.
        if self._writes_in_flight:
            return 0.0
        return time.monotonic() - self._last_write

    @property
    def tail_rows(self) -> int:
        """Rows (dead ones included) waiting to be folded into a segment."""
        return self._tail.row_count

    def segment_states(self) -> tuple[LiveSegment, ...]:
        """The live segments as of now."""
        return self._segments

    def fold(self) -> bool:
        """Move the unindexed tail into a new segment and commit; False if the tail was empty."""
        folded = self._fold()
        # Only now are the step's rows (arrays, keys, metadata objects) all freed.
        release_free_memory()
        return folded

    def merge(self, names: Sequence[str]) -> None:
        """Rewrite the named segments as one, without their deleted rows, and commit."""
        self._merge(names)
        release_free_memory()

    def _fold(self) -> bool:
        with self._fold_lock:
            with self._lock:
                end = self._tail.row_count
                if end == 0:
                    return False
                watermark = self._applied_lsn
                taken_rows, taken = self._tail.rows_before(end)
            # Indexed at once (a plain segment would be scanned whole by every query until a
            # merge indexed it), grown from the last trained lists and codebooks (see _write).
            # One build thread: a fold runs beside the requests at their priority, and OpenMP
            # threads that wait on each other while requests hold the cores made a 33k x 768
            # training take 16 s on two threads against 4 s on one.
            segment = self._write(taken, threads=1) if len(taken) else None
            keys = [segment.key(row) for row in range(segment.rows)] if segment is not None else []
            with self._lock:
                if segment is not None:
                    dead = self._tail.dead_among(taken_rows)
                    fresh = LiveSegment.fresh(segment, dead)
                    self._segments = (*self._segments, fresh)
                    # A row overwritten or deleted since it was taken is not the tail's text to drop:
                    # the tail holds its newer version, or nothing.
                    folded = [key for key, gone in zip(keys, dead.tolist(), strict=True) if not gone]
                    self._text.publish(added=[_text_source(fresh)], folded=folded)
                self._tail.drop_first(end)
                # Changed with the segments, so any commit sees a segment set and the log
                # position it covers together.
                self._folded_lsn = watermark
            self._commit()
            return True

    def _merge(self, names: Sequence[str]) -> None:
        with self._merge_lock:
            wanted = set(names)
            with self._lock:
                sources = [live for live in self._segments if live.segment.name in wanted]
            if not sources:
                return
            kept = [np.flatnonzero(~live.deleted) for live in sources]
            rows = _merged_rows(sources, kept)
            segment = self._write(rows, threads=self.settings.build_threads) if len(rows) else None
            del rows
            with self._lock:
                # Writes during the merge killed rows in the sources' current masks.
                current = {live.segment.name: live for live in self._segments}
                pairs = zip(sources, kept, strict=True)
                dead = np.concatenate([current[live.segment.name].deleted[rows_kept] for live, rows_kept in pairs])
                fresh = LiveSegment.fresh(segment, dead) if segment is not None else None
                self._segments = replaced(self._segments, sources, fresh)
                # Swapped with the segments: a text search sees the merged rows in one place only.
                self._text.publish(added=[_text_source(fresh)] if fresh is not None else [],
                                   removed=[live.segment.name for live in sources])
            self._commit()
            # Queries still running on the old segments keep their open files and mappings.
            for live in sources:
                self._files.remove(live.segment.name)

    def optimize(self) -> None:
        """Fold the tail and merge the segments into the settled layout now (for benchmarks and tests).

        That is the layout the merger reaches by itself once writes pause: the fewest segments
        that ``max_segment_rows`` allows, each with its index, without deleted rows.
        """
        # Both held throughout, so the background indexer can neither merge some of the
        # segments in between nor fold new ones beside the result.
        with self._merge_lock, self._fold_lock:
            self.fold()
            for names in optimize_plan(self._segments, self.settings):
                self.merge(names)

    def _write(self, rows: SegmentRows, *, threads: int) -> Segment:
        with self._lock:
            name = f"seg-{self._next_segment:08d}{self._files.name_suffix}"
            self._next_segment += 1
        directory = self._files.new_directory(name)
        # Training (k-means over a sample) is most of a build: 30-60 s of a core for a 528k x 768
        # merge. Rows of one index share their distribution, so the last training serves every
        # segment up to 16x the size it was made for (lists up to 4x longer than ideal, which
        # calibration answers with a few more probes); a larger one trains anew, so an index
        # trains a handful of times in its life, not at every merge.
        template = self._trained
        if template is not None and ann_lists(template) * _RETRAIN_GROWTH < layout_for(len(rows), self.dimension).lists:
            template = None
        try:
            trained = write_segment(directory, rows, replace(self._build, build_threads=threads), trained=template,
                                    before_descriptor=self._text_builder(rows))
            self._files.publish(name)  # stored where the index lives before a manifest names it
        except Exception:
            # The step is retried under a new name: do not leave this one's files (a full disk
            # would otherwise fill up further with every retry).
            self._files.remove(name)
            raise
        if trained is not None and template is None:
            self._trained = trained
        return Segment(directory)

    def _text_builder(self, rows: SegmentRows) -> Callable[[Path], None] | None:
        """Writes a new segment's text indexes (every searchable key's) into its directory."""
        if not self._text.languages:
            return None

        def build(directory: Path) -> None:
            metadata = rows.metadata
            decoded = [orjson.loads(metadata.data[metadata.offsets[i]:metadata.offsets[i + 1]].tobytes())
                       if metadata.offsets[i + 1] > metadata.offsets[i] else None for i in range(len(metadata))]
            self._text.build_segment(directory, decoded)

        return build

    def _commit(self) -> None:
        """Persist new deletion masks, then the manifest; then purge what it no longer needs."""
        with self._commit_lock:
            with self._lock:
                segments, watermark, next_segment = self._segments, self._folded_lsn, self._next_segment
            generation = self._manifest.generation + 1
            entries, newly_saved = [], []
            for live in segments:
                file = live.deleted_file
                if live.deleted_count and file is None:
                    file = f"deleted-{generation:020d}{self._files.name_suffix}.npy"
                    _save_mask(live.segment.directory / file, live.deleted)
                    self._files.publish_file(live.segment.name, file)
                    newly_saved.append((live, file))
                entries.append(SegmentEntry(live.segment.name, live.segment.rows,
                                            file if live.deleted_count else None, live.deleted_count))
            manifest = Manifest(generation, watermark, next_segment, tuple(entries))
            try:
                self._manifests.commit(manifest)
            except ManifestConflictError as conflict:
                # Another server folded or merged this index first: this view of its segments is
                # behind, and the next request reopens it (see catch_up).
                self._stale = str(conflict)
                raise
            previous, self._manifest = self._manifest, manifest
            if newly_saved:
                with self._lock:
                    marked = {id(live.deleted): file for live, file in newly_saved}
                    self._segments = tuple(
                        persisted(live, marked[id(live.deleted)]) if id(live.deleted) in marked else live
                        for live in self._segments
                    )
            self._log.truncate_before(watermark + 1)
            self._remove_replaced_masks(previous, manifest)

    # -- files ------------------------------------------------------------------------------

    def _open_segment(self, entry: SegmentEntry) -> LiveSegment:
        segment = Segment(self._files.local_directory(entry.name))
        if entry.deleted is None:
            return LiveSegment.fresh(segment)
        packed = np.load(self._files.local_file(entry.name, entry.deleted), allow_pickle=False)
        deleted = np.unpackbits(packed, count=segment.rows, bitorder="little").astype(np.bool_)
        return LiveSegment.fresh(segment, deleted, entry.deleted)

    def _remove_replaced_masks(self, previous: Manifest, manifest: Manifest) -> None:
        """Delete the deletion masks that ``manifest`` replaced by newer ones."""
        current = {entry.name: entry.deleted for entry in manifest.segments}
        for entry in previous.segments:
            if entry.deleted is not None and entry.name in current and current[entry.name] != entry.deleted:
                self._files.remove_file(entry.name, entry.deleted)

    def _remove_unreferenced(self) -> None:
        """At start: delete segments and deletion masks the manifest does not name (interrupted steps)."""
        named = {entry.name: entry.deleted for entry in self._manifest.segments}
        for name in self._files.names():
            if name not in named:
                self._files.remove(name)
        for name, mask in named.items():
            for file in self._files.file_names(name):
                if _DELETED_FILE.fullmatch(file) and file != mask:
                    self._files.remove_file(name, file)

    def close(self) -> None:
        """Stop the indexer and close the log; the index must not be used afterwards."""
        if self._indexer is not None:
            self._indexer.stop()
        if self._own_pool is not None:
            self._own_pool.stop()
        self._log.close()
        self._files.release()
        # Each memory-mapped array holds a file handle until it is freed: let them go now (a
        # query still running keeps the segments it captured until it ends).
        with self._lock:
            names = [live.segment.name for live in self._segments]
            self._segments = ()
        self._text.publish(removed=names)


def _text_source(live: LiveSegment) -> SegmentSource:
    segment = live.segment
    return SegmentSource(segment.name, segment.directory, segment.rows, segment.key, segment.metadata,
                         live.deleted if live.deleted_count else None)


def _text_built(segment: Segment, key: str, language: str | None) -> bool:
    """``segment`` holds ``key``'s text index, built with ``language``'s analyzer.

    A key deleted and added again with another language finds the old folder (files go with the
    segment's next rewrite): its terms are the old analyzer's, so it is rebuilt.
    """
    if not is_built(segment.directory, key):
        return False
    descriptor = orjson.loads((text_directory(segment.directory, key) / "text.json").read_bytes())
    return bool(descriptor.get("language") == language)


def _build_text(segment: Segment, key: str, language: str | None) -> None:
    build_segment_text(segment.directory, key, language,
                       [searchable_text(segment.metadata(row), key) for row in range(segment.rows)])


# Distances are recomputed on every page; a last-bit difference must not repeat the cursor's row.
_CURSOR_TOLERANCE = 1e-9


def _beyond(distance: float, key: str, after: tuple[float, str]) -> bool:
    if abs(distance - after[0]) <= _CURSOR_TOLERANCE:
        return key > after[1]
    return distance > after[0]


def _save_mask(path: Path, deleted: npt.NDArray[np.bool_]) -> None:
    with SyncedFile(path) as file:
        np.save(file, np.packbits(deleted, bitorder="little"), allow_pickle=False)
    fsync_directory(path.parent)


def _merged_rows(sources: Sequence[LiveSegment], kept: Sequence[npt.NDArray[np.int64]]) -> SegmentRows:
    """The kept rows of ``sources``, one after the other, gathered without decoding any row."""
    key_sources, metadata_sources, highs, lows = [], [], [], []
    for live, rows in zip(sources, kept, strict=True):
        segment = live.segment
        keys, metadata = segment.blobs(rows)
        key_sources.append(keys)
        metadata_sources.append(metadata)
        high = np.empty(segment.rows, dtype=np.uint64)
        low = np.empty(segment.rows, dtype=np.uint64)
        high[segment.hash_rows] = segment.hash_high
        low[segment.hash_rows] = segment.hash_low
        highs.append(high[rows])
        lows.append(low[rows])
    columns = MetadataColumns.concatenated([live.segment.columns.take(rows) for live, rows in zip(sources, kept,
                                                                                                 strict=True)])
    vectors = GatheredVectors([live.segment.vectors for live in sources], kept, sources[0].segment.dimension)
    return SegmentRows(Blobs.gathered(key_sources), Blobs.gathered(metadata_sources), columns, vectors,
                       np.concatenate(highs), np.concatenate(lows))
