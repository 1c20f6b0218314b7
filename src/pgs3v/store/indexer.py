"""The background indexer of one index: folds the log's tail into segments and merges segments.

Two daemon threads, so that a long merge never holds up the folds that keep the tail small:

- the *folder* writes the tail out as a new segment when it holds ``fold_rows`` rows, or when
  no write has come for ``fold_idle_seconds`` (so a quiet index ends up folded and its log
  purged). A fold builds no approximate index: it must keep pace with ingest, and writing the
  rows out costs about a tenth of indexing them;
- the *merger*, at a lower CPU priority than requests so that ingest and queries come first,
  builds the approximate indexes. It merges ``merge_width`` segments of the same size tier
  (tiers grow by that factor), smallest tier first, so there are O(log n) segments and each
  row is rewritten O(log n) times; rewrites a segment whose deleted share passes
  ``max_deleted_share``; and once writes pause (or a plain segment has waited 30 s for that),
  merges the segments still without an index into one that has it.

A step that fails is logged and retried later; queries and writes never depend on it.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pgs3v.store.index_settings import IndexSettings
from pgs3v.store.segment import wants_ann
from pgs3v.store.segment_set import LiveSegment

if TYPE_CHECKING:
    from pgs3v.store.vector_index import VectorIndex

_logger = logging.getLogger(__name__)
_POLL_SECONDS = 1.0
_RETRY_SECONDS = 5.0
# A stop waits this long for a step in progress; a step cut short leaves only files that the
# next start removes (nothing is committed without its manifest).
_STOP_WAIT_SECONDS = 10.0
# A plain segment large enough for an index waits for writes to pause, but no longer than this:
# under a steady trickle of writes they never pause, and queries would scan it exactly for good.
_PLAIN_PATIENCE_SECONDS = 30.0
# Nice value of the merger thread (and of the build threads it starts): on a busy machine it
# gets about a tenth of a core's share against a request thread, all of an idle one.
_MERGER_NICENESS = 10


def merge_choice(segments: Sequence[LiveSegment], settings: IndexSettings, *, writes_paused: bool) -> list[str]:
    """The names of segments to merge now, or [] (see the module docstring)."""
    for live in segments:
        if live.deleted_count and live.deleted_count > settings.max_deleted_share * live.segment.rows:
            return [live.segment.name]
    tiers: dict[int, list[LiveSegment]] = {}
    base = max(settings.fold_rows, 1)
    for live in segments:
        size = max(live.live_count, 1)
        tier = 0 if size <= base else int(math.log(size / base, settings.merge_width)) + 1
        tiers.setdefault(tier, []).append(live)
    for tier in sorted(tiers):
        group = tiers[tier]
        if len(group) >= settings.merge_width:
            group.sort(key=lambda live: live.live_count)
            return [live.segment.name for live in group[: settings.merge_width]]
    if writes_paused:
        # Folds leave segments without an index; once the tiers are settled, index what is left.
        plain = [live for live in segments if live.segment.ann is None]
        rows = sum(live.live_count for live in plain)
        if plain and wants_ann(rows, plain[0].segment.dimension, settings.ann_min_floats):
            return [live.segment.name for live in plain]
    return []


class Indexer:
    """The folder and merger threads that keep one index's segments up to date."""

    def __init__(self, index: VectorIndex) -> None:
        self._index = index
        self._settings = index.settings
        self._fold_wake = threading.Event()
        self._merge_wake = threading.Event()
        self._stopping = threading.Event()
        self._errors: dict[str, str | None] = {"fold": None, "merge": None}
        self._plain_since: dict[str, float] = {}  # plain segments: when the merger first saw them
        self._threads = [
            threading.Thread(target=self._loop, args=("fold", self._fold_wake, self._fold_step, 0),
                             name="pgs3v-folder", daemon=True),
            threading.Thread(target=self._loop, args=("merge", self._merge_wake, self._merge_step, _MERGER_NICENESS),
                             name="pgs3v-merger", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    @property
    def last_error(self) -> str | None:
        """The last failure of a step that has not succeeded since, if any."""
        return self._errors["fold"] or self._errors["merge"]

    def wake(self) -> None:
        """A write arrived: reconsider folding now."""
        self._fold_wake.set()

    def stop(self) -> None:
        """Stop after the current steps (waiting a bounded time for them)."""
        self._stopping.set()
        self._fold_wake.set()
        self._merge_wake.set()
        for thread in self._threads:
            thread.join(_STOP_WAIT_SECONDS)

    def _loop(self, kind: str, wake: threading.Event, step: Callable[[], bool], niceness: int) -> None:
        if niceness:
            _lower_priority(niceness)
        while not self._stopping.is_set():
            wake.wait(_POLL_SECONDS)
            wake.clear()
            try:
                while not self._stopping.is_set() and step():
                    pass
                self._errors[kind] = None
            except Exception as problem:  # the thread must survive any failure
                if self._stopping.is_set():
                    # The index is closing (or being deleted under a step that outlived the
                    # stop's wait): its files may be gone, and nothing will be committed.
                    return
                self._errors[kind] = f"{type(problem).__name__}: {problem}"
                _logger.exception("indexing (%s) failed; retrying in %s s", kind, _RETRY_SECONDS)
                self._stopping.wait(_RETRY_SECONDS)

    def _fold_step(self) -> bool:
        rows = self._index.tail_rows
        idle = self._index.seconds_since_write >= self._settings.fold_idle_seconds
        if rows >= self._settings.fold_rows or (rows and idle):
            self._index.fold()
            self._merge_wake.set()
            return True
        return False

    def _merge_step(self) -> bool:
        segments = self._index.segment_states()
        now = time.monotonic()
        self._plain_since = {
            live.segment.name: self._plain_since.get(live.segment.name, now)
            for live in segments if live.segment.ann is None
        }
        waited = any(now - since >= _PLAIN_PATIENCE_SECONDS for since in self._plain_since.values())
        paused = waited or self._index.seconds_since_write >= self._settings.fold_idle_seconds
        names = merge_choice(segments, self._settings, writes_paused=paused)
        if names:
            self._index.merge(names)
            return True
        return False


def _lower_priority(niceness: int) -> None:
    """Raise the calling thread's nice value (Linux: per thread; threads it starts inherit it)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except (AttributeError, OSError) as problem:  # not Linux, or not permitted: run at normal priority
        _logger.debug("cannot lower the merger's priority: %s", problem)
