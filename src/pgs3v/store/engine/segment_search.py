"""Nearest neighbours inside one segment, planned by how many rows the filter leaves.

- Few candidate rows (a selective filter, or a small segment without an approximate index):
  score exactly the rows that match. This is what makes a one-in-a-million filter return its
  match; an approximate index probed the usual way would most likely never reach it.
- Otherwise: probe the approximate index with the allowed rows as a bitmap, so only matching
  codes compete for the candidate pool. A filter that keeps a share ``s`` of the rows pushes its
  nearest matches about ``1/s`` times deeper into the ranking, but the bitmap keeps the other
  codes out of the pool, so a slowly growing probe count suffices (``s ** -0.15``, measured; see
  :class:`SearchKnobs`); if the pool still holds fewer rows than wanted, the probe widens until
  it does or every list was read. Either way the candidates are re-ranked on the full-precision vectors.

The result is exact distances (float64), so merging segments and the unindexed tail is exact
ranking over an approximate candidate set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pgs3v.store.engine.ann import ann_candidates, ann_lists, default_probes, probes_for_top
from pgs3v.store.engine.distances import nearest_exact
from pgs3v.store.engine.segment import Segment

FloatArray = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]
RowArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class SearchKnobs:
    """Per-index (or per-query) trade-offs between recall and speed; None = the default."""

    # Lists probed per segment; None: the count calibrated when the segment was built.
    probes: int | None = None
    # Candidates re-ranked exactly; more costs reads of full vectors but lifts recall.
    rerank: int = 256
    # Below this many candidate rows an exact scan is cheaper than the index and always exact.
    exact_scan_floats: int = 1_500_000
    # A filter keeping a share s of the rows multiplies the probes by s ** -widening. Measured
    # on 1M x 768 (300 queries): 0.25 gave recall 0.992-1.0 at 50%-1% for 3.2x the probes at 1%
    # (a faiss scan costs about 1 ms per 100 lists there); 0.15 gives 0.992-0.998 for 2.0x.
    widening: float = 0.15


@dataclass(frozen=True)
class SegmentHits:
    """Rows of one segment with their exact distances, nearest first."""

    rows: RowArray
    distances: npt.NDArray[np.float64]


@dataclass(frozen=True)
class SegmentCandidates:
    """Rows a segment's approximate index proposed, with code-estimated distances, not yet re-ranked."""

    rows: RowArray
    estimated: FloatArray
    # How many candidates this segment's calibration re-ranks to reach its recall target.
    pool: int


def plan_segment(
    segment: Segment, allowed: BoolArray | None, allowed_count: int, query: FloatArray, wanted: int,
    knobs: SearchKnobs, expected: int | None = None,
) -> SegmentHits | SegmentCandidates:
    """Exact hits (a scan) or approximate candidates for the ``wanted`` nearest rows among ``allowed``.

    ``expected``: how many of the query's results this segment is likely to hold when it is one
    of several (None: all ``wanted``); its calibrated probes for that many are enough.
    """
    if allowed_count == 0 or wanted == 0:
        return SegmentHits(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))
    exact_rows = knobs.exact_scan_floats // max(segment.dimension, 1)
    if segment.ann is None or allowed_count <= max(exact_rows, wanted):
        return _scanned(segment, allowed, query, wanted)
    lists = ann_lists(segment.ann)
    probes = knobs.probes or default_probes(lists)
    if not knobs.probes and segment.probes:
        probes = probes_for_top(segment.probes, segment.probes_by_top, wanted if expected is None else expected)
    share = allowed_count / segment.rows
    if share < 1.0:
        probes = math.ceil(probes * share ** -knobs.widening)
    pool = max(knobs.rerank, segment.rerank or 0, wanted)
    bitmap = None if allowed is None else np.packbits(allowed, bitorder="little")
    needed = min(wanted, allowed_count)
    while True:
        probes = min(probes, lists)
        rows, estimated = ann_candidates(segment.ann, query, segment.metric, pool, probes, bitmap)
        # Every list read: the pool holds all allowed rows it can, however few.
        if len(rows) >= needed or probes >= lists:
            break
        probes *= 4
    return SegmentCandidates(rows, estimated, pool)


def search_segment(
    segment: Segment, allowed: BoolArray | None, allowed_count: int, query: FloatArray, wanted: int,
    knobs: SearchKnobs,
) -> SegmentHits:
    """The ``wanted`` nearest rows among ``allowed`` (None: every row) of one segment, nearest first."""
    planned = plan_segment(segment, allowed, allowed_count, query, wanted, knobs)
    if isinstance(planned, SegmentCandidates):
        return reranked(segment, planned.rows, query, wanted)
    return planned


def reranked(segment: Segment, rows: RowArray, query: FloatArray, wanted: int) -> SegmentHits:
    """Candidates from the approximate index, ranked on their full vectors.

    As an exact scan does (:func:`nearest_exact`): one float32 product over the candidates with
    the norms stored at build time picks a pool a little larger than ``wanted``, and only that
    pool is ranked in float64. Converting and normalising every candidate in float64 instead
    took 1.3 ms for 256 candidates of 768 dimensions against 0.06 ms, most of a query's time.
    """
    if len(rows) == 0:
        return SegmentHits(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))
    rows = np.sort(rows)  # sequential reads of the memory-mapped file
    block = segment.read_rows(rows)
    positions, distances = nearest_exact(segment.metric, query, block, segment.norms[rows], None, len(rows), wanted)
    return SegmentHits(rows[positions], distances)


def _scanned(segment: Segment, allowed: BoolArray | None, query: FloatArray, wanted: int) -> SegmentHits:
    """Every allowed row scored exactly (no approximate index, or few rows left by a filter)."""
    candidates = None if allowed is None else np.flatnonzero(allowed).astype(np.int64)
    rows, distances = nearest_exact(
        segment.metric, query, segment.vectors, segment.norms, candidates, segment.rows, wanted
    )
    return SegmentHits(rows, distances)
