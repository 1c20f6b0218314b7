"""What users get right after a load: query latency every few seconds until the indexer settles.

No optimize call and no warm-up: the load ends, and from that moment a small batch of queries
is timed over HTTP at a fixed interval while the background indexer folds, merges and settles,
together with the segment layout it reports, until it reports ``settled`` (nothing left to fold
or merge) or the time limit passes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Query = Callable[[npt.NDArray[np.float32]], object]
Describe = Callable[[], dict[str, Any]]
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class SettlingPoint:
    """One sample of the timeline."""

    seconds: float  # since the load ended
    p50_ms: float
    max_ms: float
    segments: int
    indexed_segments: int
    unindexed_rows: int
    settled: bool

    def as_dict(self) -> dict[str, Any]:
        """The point as JSON-ready values."""
        return asdict(self)


def watch_settling(
    queries: npt.NDArray[np.float32], query: Query, describe: Describe, progress: Progress, *,
    interval_s: float = 10.0, sample: int = 20, limit_s: float = 3600.0,
) -> list[SettlingPoint]:
    """Samples every ``interval_s`` from now until the index is settled (the last point) or ``limit_s``."""
    began = time.monotonic()
    points: list[SettlingPoint] = []
    next_query = 0
    while True:
        at = time.monotonic() - began
        durations = []
        for _ in range(sample):
            vector = queries[next_query % len(queries)]
            next_query += 1
            started = time.perf_counter()
            query(vector)
            durations.append((time.perf_counter() - started) * 1000)
        engine = describe()
        segments = engine["segments"]
        point = SettlingPoint(
            seconds=round(at, 1), p50_ms=float(np.percentile(durations, 50)), max_ms=max(durations),
            segments=len(segments), indexed_segments=sum(1 for s in segments if s["approximate"]),
            unindexed_rows=int(engine["unindexedRows"]), settled=bool(engine["settled"]),
        )
        points.append(point)
        progress(f"settling: {point.segments} segments, p50 {point.p50_ms:.1f} ms", int(at), int(limit_s))
        if point.settled or at >= limit_s:
            return points
        time.sleep(max(0.0, began + (len(points)) * interval_s - time.monotonic()))
