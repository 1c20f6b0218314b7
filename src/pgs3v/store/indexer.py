"""The background indexer of one index: folds the log's tail into segments and merges segments.

Two daemon threads, so that a long merge never holds up the folds that keep the tail small:

- the *folder* writes the tail out as a new segment when it holds ``fold_rows`` rows, or when
  no write has come for ``fold_idle_seconds`` (so a quiet index ends up folded and its log
  purged). A fold large enough for an approximate index gets one at once, grown from the last
  trained lists and codebooks (no training of its own), so no query ever scans a large
  segment exactly;
- the *merger*, at a lower CPU priority than requests so that ingest and queries come first,
  keeps the number of segments down, never building one above ``max_segment_rows``:
  it merges ``merge_width`` segments of the same size tier (tiers grow by that factor),
  smallest tier first, so there are O(log n) segments and each row is rewritten O(log n)
  times; rewrites a segment whose deleted share passes ``max_deleted_share``; and *settles*:
  once writes pause for ``settle_seconds``, it packs every segment below the cap into as few
  as the cap allows, which is the layout an explicit optimize gives. Under a steady trickle,
  where writes never pause, a fold also runs once the tail is ``fold_max_age_seconds`` old,
  and a partial settle (the small segments into one, the large one only once they amount to a
  quarter of it) runs once the last settle is long enough ago.

A step that fails is logged and retried later; queries and writes never depend on it.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pgs3v.store.errors import unavailable_for
from pgs3v.store.merge_policy import merge_choice, settle_choice

if TYPE_CHECKING:
    from pgs3v.store.vector_index import VectorIndex

_logger = logging.getLogger(__name__)
_POLL_SECONDS = 1.0
_RETRY_SECONDS = 5.0
# A stop waits this long for a step in progress; a step cut short leaves only files that the
# next start removes (nothing is committed without its manifest).
_STOP_WAIT_SECONDS = 10.0
# Under a steady trickle of writes they never pause, so a settle also runs when the last one
# ended this long ago, and at least this many times its own duration ago: settling then costs
# at most a fifth of one core, however large the index.
_SETTLE_PATIENCE_SECONDS = 60.0
_SETTLE_COST_FACTOR = 4.0
# Nice value of the merger thread (and of the build threads it starts): on a busy machine it
# gets about a tenth of a core's share against a request thread, all of an idle one.
_MERGER_NICENESS = 10


class Indexer:
    """The folder and merger threads that keep one index's segments up to date."""

    def __init__(self, index: VectorIndex) -> None:
        self._index = index
        self._settings = index.settings
        self._fold_wake = threading.Event()
        self._merge_wake = threading.Event()
        self._stopping = threading.Event()
        self._errors: dict[str, str | None] = {"fold": None, "merge": None}
        # When the last settle ended and how long it took (a start counts as one that took 0 s).
        self._last_settle = (time.monotonic(), 0.0)
        self._last_full_fold = -math.inf  # when a fold last found the tail full (a bulk load)
        self._tail_seen: float | None = None  # when the folder first saw the current tail
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
                if isinstance(problem, OSError) and unavailable_for(problem) is not None:
                    # A full disk or no file handles: expected to pass, one line per attempt.
                    _logger.warning("indexing (%s) paused: %s; retrying in %s s", kind, problem, _RETRY_SECONDS)
                else:
                    _logger.exception("indexing (%s) failed; retrying in %s s", kind, _RETRY_SECONDS)
                self._stopping.wait(_RETRY_SECONDS)

    def _fold_step(self) -> bool:
        rows = self._index.tail_rows
        now = time.monotonic()
        if not rows:
            self._tail_seen = None
            return False
        if self._tail_seen is None:
            self._tail_seen = now
        full = rows >= self._settings.fold_rows
        idle = self._index.seconds_since_write >= self._settings.fold_idle_seconds
        # Under a trickle that never pauses, the exactly scanned tail would otherwise grow
        # until it is full, slowing every query a little more.
        aged = now - self._tail_seen >= self._settings.fold_max_age_seconds
        if not (full or idle or aged):
            return False
        self._index.fold()
        self._tail_seen = None
        if full:
            self._last_full_fold = now
        self._merge_wake.set()
        return True

    def _merge_step(self) -> bool:
        segments = self._index.segment_states()
        names = merge_choice(segments, self._settings, settle=False)
        settling = False
        if not names and self._index.seconds_since_write >= self._settings.settle_seconds:
            names, settling = settle_choice(segments, self._settings), True
        elif not names and self._trickle_settle_due():
            names, settling = settle_choice(segments, self._settings, partial=True), True
        if not names:
            return False
        began = time.monotonic()
        self._index.merge(names)
        if settling:
            ended = time.monotonic()
            self._last_settle = (ended, ended - began)
        return True

    def _trickle_settle_due(self) -> bool:
        """Writes keep coming, but slowly (no fold of a full tail lately), and settling is cheap enough."""
        now = time.monotonic()
        ended, took = self._last_settle
        patient = now - ended >= max(_SETTLE_PATIENCE_SECONDS, _SETTLE_COST_FACTOR * took)
        # A bulk load fills the tail every few seconds: its tier merges do the work, and a
        # settle would only take CPU from the ingest.
        return patient and now - self._last_full_fold >= _SETTLE_PATIENCE_SECONDS


def _lower_priority(niceness: int) -> None:
    """Raise the calling thread's nice value (Linux: per thread; threads it starts inherit it)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except (AttributeError, OSError) as problem:  # not Linux, or not permitted: run at normal priority
        _logger.debug("cannot lower the merger's priority: %s", problem)
