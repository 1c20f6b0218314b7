"""Distances between a query and stored vectors: the one implementation every search path uses.

Two precisions, for two jobs:

- :func:`exact_distances` (float64) is what a result carries: 1 − cosine similarity, or plain
  L2. Every answer is ranked by it, so results from the tail and from any segment compare.
- :func:`nearest_exact` scans many rows in float32 (one matrix-vector product over the rows as
  they lie, with their norms computed once when the rows were stored) to pick a small pool,
  then ranks only the pool in float64. Float32 can misorder near-ties, and for euclidean loses
  precision by cancellation, which is why the pool is a little larger than the answer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
RowArray = npt.NDArray[np.int64]
DistanceArray = npt.NDArray[np.float64]

# Gathering candidate rows costs a copy of each; scoring every row costs a pass over all of
# them. Below this share of candidates the gather is cheaper.
_GATHER_SHARE = 0.25


def exact_distances(metric: str, query: FloatArray, vectors: Any) -> DistanceArray:
    """Distances computed in float64: 1 − cosine similarity, or plain L2."""
    block = np.asarray(vectors, dtype=np.float64)
    point = query.astype(np.float64)
    if metric == "cosine":
        norms = np.linalg.norm(block, axis=1) * np.linalg.norm(point)
        norms[norms == 0] = 1.0
        result: DistanceArray = 1.0 - (block @ point) / norms
        return result
    distances: DistanceArray = np.linalg.norm(block - point, axis=1)
    return distances


def row_norms(vectors: Any) -> FloatArray:
    """The L2 norm of every row (read a chunk at a time, so a memory-mapped file stays out of RAM)."""
    rows = len(vectors)
    norms = np.empty(rows, dtype=np.float32)
    chunk = 65536
    for start in range(0, rows, chunk):
        block = np.asarray(vectors[start : start + chunk], dtype=np.float32)
        norms[start : start + len(block)] = np.sqrt(np.einsum("ij,ij->i", block, block))
    return norms


def unit_rows(vectors: FloatArray) -> FloatArray:
    """Rows scaled to unit length (zero rows unchanged): how a cosine index sees them."""
    block = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(block, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    unit: FloatArray = (block / norms).astype(np.float32)
    return unit


def _approximate(
    metric: str, query: FloatArray, vectors: Any, norms: FloatArray, candidates: RowArray | None, rows: int
) -> FloatArray:
    """Float32 distances of ``candidates`` (None: rows 0 .. rows-1), in candidate order."""
    if candidates is None:
        dots = vectors[:rows] @ query
        block_norms = norms[:rows]
    elif len(candidates) < _GATHER_SHARE * rows:
        dots = vectors[candidates] @ query
        block_norms = norms[candidates]
    else:
        dots = (vectors[:rows] @ query)[candidates]
        block_norms = norms[candidates]
    query_norm = np.float32(np.linalg.norm(query))
    if metric == "cosine":
        scale = block_norms * query_norm
        scale[scale == 0] = 1.0
        result: FloatArray = (np.float32(1.0) - dots / scale).astype(np.float32)
        return result
    # Squared L2 up to the query's constant term orders rows the same as L2.
    squared: FloatArray = (block_norms * block_norms - np.float32(2.0) * dots).astype(np.float32)
    return squared


def nearest_exact(
    metric: str, query: FloatArray, vectors: Any, norms: FloatArray, candidates: RowArray | None, rows: int,
    wanted: int,
) -> tuple[RowArray, DistanceArray]:
    """The ``wanted`` nearest of ``candidates`` (None: the first ``rows`` rows), nearest first.

    ``vectors`` may be an array in RAM or a memory-mapped file; ``norms`` are its rows' norms.
    Ties are broken by row number, so the order is deterministic.
    """
    count = rows if candidates is None else len(candidates)
    if count == 0 or wanted <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    approximate = _approximate(metric, query, vectors, norms, candidates, rows)
    pool_size = min(count, 2 * wanted + 16)
    pool = np.argpartition(approximate, pool_size - 1)[:pool_size] if pool_size < count else np.arange(count)
    pool_rows = np.sort(pool if candidates is None else candidates[pool]).astype(np.int64)
    distances = exact_distances(metric, query, vectors[pool_rows])
    order = np.lexsort((pool_rows, distances))[:wanted]
    return pool_rows[order], distances[order]
