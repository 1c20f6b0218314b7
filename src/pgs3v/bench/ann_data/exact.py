"""Exact search in numpy, one query at a time: the "exact numpy" baseline of the ANN benchmark.

It is the store's own exact scan (:func:`pgs3v.store.distances.nearest_exact`): float32
distances to every allowed row (one matrix-vector product), a pool of ``2k + 16`` nearest by
those, re-scored in float64 and ordered by (distance, row). A filter is a boolean mask over the
rows, turned into row numbers per query. It runs with numpy's default BLAS threads in the
benchmark process.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from pgs3v.bench.ann_data.dataset import AnnDataset, Mask, Metric
from pgs3v.store.distances import nearest_exact, row_norms

FloatVector = npt.NDArray[np.float32]


class Neighbours(NamedTuple):
    """Rows nearest first, and their exact distances (1 − cosine similarity, or plain L2)."""

    rows: npt.NDArray[np.int64]
    distances: npt.NDArray[np.float64]


class ExactIndex:
    """Brute-force k-nearest rows of one data set."""

    def __init__(self, dataset: AnnDataset) -> None:
        self.metric: Metric = dataset.metric
        self._vectors = dataset.vectors
        self._norms = row_norms(dataset.vectors)

    def search(self, query: FloatVector, k: int, mask: Mask | None = None) -> Neighbours:
        """The ``k`` rows nearest to ``query`` (among the rows ``mask`` allows), nearest first."""
        candidates = None if mask is None else np.flatnonzero(mask).astype(np.int64)
        rows, distances = nearest_exact(
            self.metric, query, self._vectors, self._norms, candidates, len(self._vectors), k
        )
        return Neighbours(rows, distances)
