"""How an index folds its write-ahead log into segments and searches them (defaults need no tuning)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from pgs3v.store.segment_search import SearchKnobs


@dataclass(frozen=True)
class IndexSettings:
    """The indexer's policy and the search trade-offs of one index."""

    # Rows (dead ones included) in the unindexed tail that start a fold into a new segment.
    # The tail is searched exactly with its vectors in RAM, so it must stay small.
    fold_rows: int = 32_768
    # A tail that has not grown for this long is folded even if small.
    fold_idle_seconds: float = 2.0
    # Segments with fewer rows get no approximate index: an exact scan is as fast.
    ann_min_rows: int = 4096
    # This many segments of a similar size are merged into one (a tiered merge policy).
    merge_width: int = 4
    # A segment whose deleted share passes this is rewritten without its deleted rows.
    max_deleted_share: float = 0.3
    # Run the indexer in a background thread (tests drive it step by step instead).
    background: bool = True
    # Threads used to build a segment's index (queries always use one thread each).
    build_threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    search: SearchKnobs = field(default_factory=SearchKnobs)
