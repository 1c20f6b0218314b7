"""The background indexer of one index: folds the log's tail into segments and merges segments.

Policy, checked whenever a write arrives and at least every second:

- fold the tail when it holds ``fold_rows`` rows, or when it has stopped growing for
  ``fold_idle_seconds`` (so a quiet index ends up fully indexed and its log purged);
- merge ``merge_width`` segments of the same size tier (tiers grow by that factor), smallest
  tier first, so there are O(log n) segments and each row is rewritten O(log n) times;
- rewrite a segment whose deleted share passes ``max_deleted_share``.

A step that fails is logged and retried later; queries and writes never depend on it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pgs3v.store.index_settings import IndexSettings
from pgs3v.store.segment_set import LiveSegment

if TYPE_CHECKING:
    from pgs3v.store.vector_index import VectorIndex

_logger = logging.getLogger(__name__)
_POLL_SECONDS = 1.0
_RETRY_SECONDS = 5.0
# A stop waits this long for a step in progress; a step cut short leaves only files that the
# next start removes (nothing is committed without its manifest).
_STOP_WAIT_SECONDS = 10.0


def merge_choice(segments: Sequence[LiveSegment], settings: IndexSettings) -> list[str]:
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
    return []


class Indexer:
    """A daemon thread that keeps one index's segments up to date."""

    def __init__(self, index: VectorIndex) -> None:
        self._index = index
        self._settings = index.settings
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._last_growth = time.monotonic()
        self._seen_rows = 0
        self._folded_last = False
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name="pgs3v-indexer", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """A write arrived: reconsider the policy now."""
        self._wake.set()

    def stop(self) -> None:
        """Stop after the current step (waiting a bounded time for it)."""
        self._stopping.set()
        self._wake.set()
        self._thread.join(_STOP_WAIT_SECONDS)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(_POLL_SECONDS)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                while not self._stopping.is_set() and self._step():
                    pass
                self.last_error = None
            except Exception as problem:  # the thread must survive any failure
                self.last_error = f"{type(problem).__name__}: {problem}"
                _logger.exception("indexing failed; retrying in %s s", _RETRY_SECONDS)
                self._stopping.wait(_RETRY_SECONDS)

    def _step(self) -> bool:
        """Do one unit of work; False when there is nothing to do now."""
        rows = self._index.tail_rows
        now = time.monotonic()
        if rows != self._seen_rows:
            self._seen_rows, self._last_growth = rows, now
        idle = now - self._last_growth >= self._settings.fold_idle_seconds
        fold_due = rows >= self._settings.fold_rows or bool(rows and idle)
        names = merge_choice(self._index.segment_states(), self._settings)
        # When both are due, take turns: under a steady write load the tail is always full
        # again by the time a fold ends, and merges must not starve (every segment costs each
        # write a key lookup and each query a search).
        if names and (not fold_due or self._folded_last):
            self._index.merge(names)
            self._folded_last = False
            return True
        if fold_due:
            self._index.fold()
            self._seen_rows = self._index.tail_rows
            self._folded_last = True
            return True
        return False
