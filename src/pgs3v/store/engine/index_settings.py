"""How an index folds its write-ahead log into segments and searches them (defaults need no tuning)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from pgs3v.store.engine.segment_search import SearchKnobs


@dataclass(frozen=True)
class IndexSettings:
    """The indexer's policy and the search trade-offs of one index."""

    # Rows (dead ones included) in the unindexed tail that start a fold into a new segment.
    # The tail is searched exactly with its vectors in RAM, so it must stay small.
    fold_rows: int = 32_768
    # A tail that has not grown for this long is folded even if small.
    fold_idle_seconds: float = 2.0
    # A tail this old is folded even if writes keep coming (a trickle that never pauses).
    fold_max_age_seconds: float = 10.0
    # Segments with fewer floats (rows × dimension) get no approximate index: scanning 16 MB
    # exactly takes about a millisecond, and small indexes then answer exactly.
    ann_min_floats: int = 4_000_000
    # This many segments of a similar size are merged into one (a tiered merge policy).
    merge_width: int = 4
    # No merge builds a segment larger than this: it bounds a build's time and memory, and the
    # filtered path's per-segment work, as an index grows. 2M x 768 builds in about 2.5 minutes.
    max_segment_rows: int = 2_000_000
    # Writes paused this long: the merger settles the segments into the fewest the cap allows.
    settle_seconds: float = 5.0
    # A segment whose deleted share passes this is rewritten without its deleted rows.
    max_deleted_share: float = 0.3
    # Recall@10 that each segment's calibrated probe count reaches on its own sample rows.
    recall_target: float = 0.985
    # Run the indexer in a background thread (tests drive it step by step instead).
    background: bool = True
    # Threads used to build a segment's index (queries always use one thread each).
    build_threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    search: SearchKnobs = field(default_factory=SearchKnobs)
