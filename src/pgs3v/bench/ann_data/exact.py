"""Exact search in numpy, one query at a time: the "exact numpy" baseline of the ANN benchmark.

It does what the store's exact path does (``VectorTable.query``): float32 distances to every
allowed row, a pool of ``2k + 16`` nearest by those, re-scored in float64 and ordered by
(distance, row), so float32 rounding never misorders near-ties. A filter is a boolean mask over
the rows, turned into row numbers per query; when few rows qualify only those rows are scored,
otherwise every row is scored and the rest dropped (gathering most of the matrix costs more than
scoring all of it). The caller sets the BLAS thread count: one query is a matrix-vector product.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from pgs3v.bench.ann_data.dataset import AnnDataset, FloatMatrix, Mask, Metric
from pgs3v.store.distances import exact_distances

FloatVector = npt.NDArray[np.float32]
_NORM_CHUNK_ROWS = 1 << 16
# Below this share of allowed rows, gathering them beats scoring every row.
_GATHER_SHARE = 0.25


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
        vectors, norms = self._vectors, self._norms
        rows = len(vectors)
        candidates = None if mask is None else np.flatnonzero(mask)
        if candidates is None:
            dots = vectors @ query
        elif len(candidates) < _GATHER_SHARE * rows:
            dots = vectors[candidates] @ query
            norms = norms[candidates]
        else:
            dots = (vectors @ query)[candidates]
            norms = norms[candidates]
        count = len(dots)
        if count == 0 or k <= 0:
            return Neighbours(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))
        # Orders like the distance; the query's norm does not change the order.
        approximate = -(dots / norms) if self.metric == "cosine" else norms * norms - np.float32(2.0) * dots
        pool_size = min(count, 2 * k + 16)
        pool = np.argpartition(approximate, pool_size - 1)[:pool_size] if pool_size < count else np.arange(count)
        pool_rows = pool if candidates is None else candidates[pool]
        exact = exact_distances(self.metric, query, vectors[pool_rows])
        order = np.lexsort((pool_rows, exact))[:k]
        return Neighbours(pool_rows[order].astype(np.int64), exact[order])


def row_norms(vectors: FloatMatrix) -> FloatVector:
    """The float32 norm of every row, computed in chunks (the matrix may be a memory map)."""
    norms = np.empty(len(vectors), dtype=np.float32)
    for start in range(0, len(vectors), _NORM_CHUNK_ROWS):
        chunk = vectors[start : start + _NORM_CHUNK_ROWS]
        norms[start : start + len(chunk)] = np.sqrt(np.einsum("ij,ij->i", chunk, chunk))
    return norms
