"""The background indexer: folds each index's log tail into segments and merges segments.

One :class:`IndexerPool` per store runs every index's steps on two shared daemon threads (so
10,000 indexes cost two threads, not 20,000, and an idle store sleeps: each index asks to be
looked at again only at the moment a rule could next fire), one lane per kind of step, so that a
long merge never holds up the folds that keep the tails small:

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

import heapq
import itertools
import logging
import math
import os
import threading
import time
from collections.abc import Sequence
from typing import Protocol

from pgs3v.store.engine.index_settings import IndexSettings
from pgs3v.store.engine.merge_policy import merge_choice, settle_choice
from pgs3v.store.engine.segment_set import LiveSegment
from pgs3v.store.storage.errors import is_exhaustion

_logger = logging.getLogger(__name__)
_RETRY_SECONDS = 5.0
# A timer never fires sooner than this after the step that set it (clock granularity, and a
# write in flight that makes "seconds since the last write" read 0).
_MIN_RECHECK_SECONDS = 0.05
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


class Indexable(Protocol):
    """What the indexer needs of an index (a ``VectorIndex``): its tail, its segments, two steps."""

    settings: IndexSettings

    @property
    def tail_rows(self) -> int: ...

    @property
    def seconds_since_write(self) -> float: ...

    def segment_states(self) -> tuple[LiveSegment, ...]: ...

    def fold(self) -> bool: ...

    def merge(self, names: Sequence[str]) -> None: ...


class Indexer:
    """When and what to fold and merge for one index; its steps run on an :class:`IndexerPool`."""

    def __init__(self, index: Indexable, pool: IndexerPool) -> None:
        self._index = index
        self._settings = index.settings
        self._pool = pool
        self._errors: dict[str, str | None] = {"fold": None, "merge": None}
        # When the last settle ended and how long it took (a start counts as one that took 0 s).
        self._last_settle = (time.monotonic(), 0.0)
        self._last_full_fold = -math.inf  # when a fold last found the tail full (a bulk load)
        self._tail_seen: float | None = None  # when the folder first saw the current tail
        # Held while one of this index's steps of that kind runs (a fold and a merge may run at
        # once, as before the pool): stop() waits on them (bounded).
        self.step_locks = {"fold": threading.Lock(), "merge": threading.Lock()}
        self.stopped = False
        pool.wake(self, "fold")
        pool.wake(self, "merge")

    @property
    def last_error(self) -> str | None:
        """The last failure of a step that has not succeeded since, if any."""
        return self._errors["fold"] or self._errors["merge"]

    def wake(self) -> None:
        """A write arrived: reconsider folding now."""
        self._pool.wake(self, "fold")

    def stop(self) -> None:
        """No more steps; wait (a bounded time) for one in progress."""
        self.stopped = True
        self._pool.forget(self)  # its timers must not keep the closed index (and its files) alive
        deadline = time.monotonic() + _STOP_WAIT_SECONDS
        for lock in self.step_locks.values():
            if lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
                lock.release()

    def run(self, kind: str) -> float | None:
        """Run ``kind``'s steps while there is work; when to look again (monotonic), or None: on a wake only."""
        step = self._fold_step if kind == "fold" else self._merge_step
        try:
            while not self.stopped and step():
                pass
            self._errors[kind] = None
        except Exception as problem:  # the pool's thread must survive any failure
            if self.stopped:
                # The index is closing (or being deleted under a step that outlived the stop's
                # wait): its files may be gone, and nothing will be committed.
                return None
            self._errors[kind] = f"{type(problem).__name__}: {problem}"
            if isinstance(problem, OSError) and is_exhaustion(problem):
                # A full disk or no file handles: expected to pass, one line per attempt.
                _logger.warning("indexing (%s) paused: %s; retrying in %s s", kind, problem, _RETRY_SECONDS)
            else:
                _logger.exception("indexing (%s) failed; retrying in %s s", kind, _RETRY_SECONDS)
            return time.monotonic() + _RETRY_SECONDS
        try:
            return self._fold_due() if kind == "fold" else self._merge_due()
        except Exception:  # never take the pool's thread down; look again later
            _logger.exception("indexing (%s): could not tell when to look again", kind)
            return time.monotonic() + _RETRY_SECONDS

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
        self._pool.wake(self, "merge")
        return True

    def _fold_due(self) -> float | None:
        """When a tail left unfolded becomes idle or old enough to fold (None: no tail)."""
        if self._tail_seen is None or not self._index.tail_rows:
            return None
        now = time.monotonic()
        idle = self._settings.fold_idle_seconds - self._index.seconds_since_write
        aged = self._settings.fold_max_age_seconds - (now - self._tail_seen)
        return now + max(_MIN_RECHECK_SECONDS, min(idle, aged))

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

    def _merge_due(self) -> float | None:
        """When a pause in writes, or the trickle rule, could next call for a settle (None: settled)."""
        segments = self._index.segment_states()
        if not settle_choice(segments, self._settings):
            return None
        now = time.monotonic()
        paused = self._settings.settle_seconds - self._index.seconds_since_write
        ended, took = self._last_settle
        trickle = max(ended + max(_SETTLE_PATIENCE_SECONDS, _SETTLE_COST_FACTOR * took),
                      self._last_full_fold + _SETTLE_PATIENCE_SECONDS) - now
        return now + max(_MIN_RECHECK_SECONDS, min(paused, trickle))


class IndexerPool:
    """The threads that run every index's indexer steps: one lane for folds, one for merges."""

    def __init__(self) -> None:
        self._lanes = {"fold": _Lane("fold", 0), "merge": _Lane("merge", _MERGER_NICENESS)}

    def wake(self, indexer: Indexer, kind: str) -> None:
        """Run ``indexer``'s ``kind`` steps soon."""
        self._lanes[kind].wake(indexer)

    def forget(self, indexer: Indexer) -> None:
        """Drop ``indexer``'s pending wakes and timers (it stopped)."""
        for lane in self._lanes.values():
            lane.forget(indexer)

    def stop(self) -> None:
        """Stop the threads after their current steps (waiting a bounded time)."""
        for lane in self._lanes.values():
            lane.stop()


class _Lane:
    """One thread running one kind of step for any index: woken ones first, then timers as they fall due."""

    def __init__(self, kind: str, niceness: int) -> None:
        self._kind = kind
        self._niceness = niceness
        self._cond = threading.Condition()
        self._ready: dict[Indexer, None] = {}  # an ordered set: first woken, first run
        self._timers: list[tuple[float, int, Indexer]] = []
        self._due: dict[Indexer, float] = {}  # each indexer's one live timer (older heap entries are stale)
        self._order = itertools.count()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=f"pgs3v-{kind}", daemon=True)
        self._thread.start()

    def wake(self, indexer: Indexer) -> None:
        with self._cond:
            self._ready[indexer] = None
            self._cond.notify()

    def forget(self, indexer: Indexer) -> None:
        with self._cond:
            self._ready.pop(indexer, None)
            if self._due.pop(indexer, None) is not None:
                self._timers = [timer for timer in self._timers if timer[2] is not indexer]
                heapq.heapify(self._timers)

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join(_STOP_WAIT_SECONDS)

    def _next(self) -> Indexer | None:
        """The next indexer to run, waiting as long as nothing is due; None once stopping."""
        with self._cond:
            while not self._stopping:
                while self._ready:
                    indexer = next(iter(self._ready))
                    del self._ready[indexer]
                    if not indexer.stopped:
                        return indexer
                now = time.monotonic()
                while self._timers and self._timers[0][0] <= now:
                    due, _, indexer = heapq.heappop(self._timers)
                    if self._due.get(indexer) == due:
                        del self._due[indexer]
                        if not indexer.stopped:
                            return indexer
                self._cond.wait(self._timers[0][0] - now if self._timers else None)
            return None

    def _schedule(self, indexer: Indexer, due: float | None) -> None:
        with self._cond:
            if due is None or indexer.stopped:
                self._due.pop(indexer, None)
                return
            self._due[indexer] = due
            heapq.heappush(self._timers, (due, next(self._order), indexer))

    def _run(self) -> None:
        if self._niceness:
            _lower_priority(self._niceness)
        while (indexer := self._next()) is not None:
            with indexer.step_locks[self._kind]:
                if indexer.stopped:
                    continue
                due = indexer.run(self._kind)
            self._schedule(indexer, due)


def _lower_priority(niceness: int) -> None:
    """Raise the calling thread's nice value (Linux: per thread; threads it starts inherit it)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except (AttributeError, OSError) as problem:  # not Linux, or not permitted: run at normal priority
        _logger.debug("cannot lower the merger's priority: %s", problem)
