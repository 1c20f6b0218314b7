"""Exact search in numpy, one query at a time: the "exact numpy" baseline of the ANN benchmark.

It is the store's own exact scan (:func:`pgs3v.store.engine.distances.nearest_exact`): float32
distances to every allowed row (one matrix-vector product), a pool of ``2k + 16`` nearest by
those, re-scored in float64 and ordered by (distance, row). A filter is a boolean mask over the
rows, turned into row numbers per query. It runs with numpy's default BLAS threads in the
benchmark process.

Rows generated on demand are never all in memory, so :class:`BlockExactSearch` runs the same scan
on one block of rows at a time (:data:`BLOCK_BYTES`, a whole number of generator chunks) and
keeps each query's k best across blocks: a block is generated once, untimed, then every query of
every workload is timed on it; a query's time is the sum of its scans over the blocks and of the
merges. A 2 GB block is far larger than the CPU's caches, so each scan streams it from RAM as a
scan of all rows in memory would; what it adds is a fixed cost per block (a re-ranked pool and a
merge, tens of microseconds), visible only beside the sub-millisecond times of the most selective
filters.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from pgs3v.bench.ann_data.dataset import AnnDataset, FloatMatrix, Mask, Metric
from pgs3v.bench.ann_data.generated import GeneratedMatrix
from pgs3v.store.engine.distances import nearest_exact, row_norms

FloatVector = npt.NDArray[np.float32]


class Neighbours(NamedTuple):
    """Rows nearest first, and their exact distances (1 − cosine similarity, or plain L2)."""

    rows: npt.NDArray[np.int64]
    distances: npt.NDArray[np.float64]


# Rows held at once by the blockwise scan: it runs while the store under test is stopped.
BLOCK_BYTES = 2 << 30


class ExactIndex:
    """Brute-force k-nearest rows of one data set."""

    def __init__(self, dataset: AnnDataset) -> None:
        self.metric: Metric = dataset.metric
        # Each query reads every row: generated rows are made once here (np.asarray refuses a huge
        # set with a clear error; BlockExactSearch is for those).
        self._vectors = np.asarray(dataset.vectors) if isinstance(dataset.vectors, GeneratedMatrix) else dataset.vectors
        self._norms = row_norms(self._vectors)

    def search(self, query: FloatVector, k: int, mask: Mask | None = None) -> Neighbours:
        """The ``k`` rows nearest to ``query`` (among the rows ``mask`` allows), nearest first."""
        candidates = None if mask is None else np.flatnonzero(mask).astype(np.int64)
        rows, distances = nearest_exact(
            self.metric, query, self._vectors, self._norms, candidates, len(self._vectors), k
        )
        return Neighbours(rows, distances)


class BlockExactSearch:
    """The exact scan of :class:`ExactIndex` over a block of rows at a time, timed per query and workload."""

    def __init__(self, dataset: AnnDataset, block_bytes: int = BLOCK_BYTES) -> None:
        self.metric: Metric = dataset.metric
        self._vectors = dataset.vectors
        # Whole generator chunks per block, so each chunk is generated once.
        unit = dataset.vectors.chunk_rows if isinstance(dataset.vectors, GeneratedMatrix) else 1
        self.block_rows = max(unit, block_bytes // (4 * dataset.dimension) // unit * unit)

    @property
    def blocks(self) -> int:
        """How many blocks a pass over the rows reads."""
        return -(-len(self._vectors) // self.block_rows)

    def search(
        self, queries: FloatMatrix, k: int, masks: Sequence[Mask | None],
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[list[list[Neighbours]], list[list[int]]]:
        """Per mask, every query's ``k`` nearest allowed rows and the nanoseconds its search took."""
        total = len(self._vectors)
        best = [[Neighbours(np.empty(0, dtype=np.int64), np.empty(0)) for _ in queries] for _ in masks]
        durations = [[0] * len(queries) for _ in masks]
        for number, start in enumerate(range(0, total, self.block_rows)):
            stop = min(total, start + self.block_rows)
            block = np.ascontiguousarray(self._vectors[start:stop], dtype=np.float32)
            norms = row_norms(block)  # untimed, as ExactIndex computes its norms before any query
            for w, mask in enumerate(masks):
                allowed = None if mask is None else mask[start:stop]
                for q, query in enumerate(queries):
                    began = time.perf_counter_ns()
                    candidates = None if allowed is None else np.flatnonzero(allowed).astype(np.int64)
                    rows, distances = nearest_exact(self.metric, query, block, norms, candidates, len(block), k)
                    best[w][q] = _merged(best[w][q], Neighbours(rows + start, distances), k)
                    durations[w][q] += time.perf_counter_ns() - began
            del block
            if progress is not None:
                progress(number + 1, self.blocks)
        return best, durations


def _merged(kept: Neighbours, found: Neighbours, k: int) -> Neighbours:
    """The ``k`` nearest of two answers, ties by row."""
    if not len(kept.rows):
        return found
    rows = np.concatenate([kept.rows, found.rows])
    distances = np.concatenate([kept.distances, found.distances])
    order = np.lexsort((rows, distances))[:k]
    return Neighbours(rows[order], distances[order])
