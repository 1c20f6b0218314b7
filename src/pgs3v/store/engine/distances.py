"""Distances between a query and stored vectors: the one implementation every search path uses.

Two precisions, for two jobs:

- :func:`exact_distances` (float64) is what a result carries: 1 − cosine similarity, or plain
  L2. Every answer is ranked by it, so results from the tail and from any segment compare.
- :func:`nearest_exact` scans many rows in float32 (one matrix-vector product over the rows as
  they lie, with their norms computed once when the rows were stored) to pick a small pool,
  then ranks only the pool in float64. Float32 can misorder near-ties, and for euclidean loses
  precision by cancellation, which is why the pool is a little larger than the answer.

The helpers (:func:`row_norms`, :func:`row_squared_norms`, :func:`unit_rows`,
:func:`unit_cosine_distances`) are float32 by default, as the store holds its rows; ground truth
outside the store asks for float64 with ``dtype=np.float64``.
"""

from __future__ import annotations

from typing import Any, TypeVar, overload

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
RowArray = npt.NDArray[np.int64]
DistanceArray = npt.NDArray[np.float64]
Precision = type[np.float32] | type[np.float64]
Floating = TypeVar("Floating", np.float32, np.float64)

# Gathering candidate rows costs a copy of each; scoring every row costs a pass over all of
# them. Below this share of candidates the gather is cheaper.
_GATHER_SHARE = 0.25

# Rows read at once when computing norms, so a memory-mapped file stays out of RAM.
_NORM_CHUNK_ROWS = 65536


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


@overload
def row_squared_norms(vectors: Any, dtype: type[np.float32] = ...) -> FloatArray: ...
@overload
def row_squared_norms(vectors: Any, dtype: type[np.float64]) -> DistanceArray: ...
def row_squared_norms(vectors: Any, dtype: Precision = np.float32) -> npt.NDArray[np.floating[Any]]:
    """The squared L2 norm of every row, computed in ``dtype`` (read a chunk at a time)."""
    rows = len(vectors)
    squared: npt.NDArray[np.floating[Any]] = np.empty(rows, dtype=dtype)
    for start in range(0, rows, _NORM_CHUNK_ROWS):
        block: npt.NDArray[np.floating[Any]] = np.asarray(vectors[start : start + _NORM_CHUNK_ROWS], dtype=dtype)
        squared[start : start + len(block)] = np.einsum("ij,ij->i", block, block)
    return squared


@overload
def row_norms(vectors: Any, dtype: type[np.float32] = ...) -> FloatArray: ...
@overload
def row_norms(vectors: Any, dtype: type[np.float64]) -> DistanceArray: ...
def row_norms(vectors: Any, dtype: Precision = np.float32) -> npt.NDArray[np.floating[Any]]:
    """The L2 norm of every row (read a chunk at a time, so a memory-mapped file stays out of RAM)."""
    norms = row_squared_norms(vectors, dtype)
    return np.sqrt(norms, out=norms)


@overload
def unit_rows(vectors: Any, dtype: type[np.float32] = ...) -> FloatArray: ...
@overload
def unit_rows(vectors: Any, dtype: type[np.float64]) -> DistanceArray: ...
def unit_rows(vectors: Any, dtype: Precision = np.float32) -> npt.NDArray[np.floating[Any]]:
    """Rows scaled to unit length in ``dtype`` (zero rows unchanged): how a cosine index sees them."""
    block = np.ascontiguousarray(vectors, dtype=dtype)
    norms = np.linalg.norm(block, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    unit: npt.NDArray[np.floating[Any]] = (block / norms).astype(dtype, copy=False)
    return unit


def unit_cosine_distances(unit: npt.NDArray[Floating], queries: npt.NDArray[Floating]) -> npt.NDArray[Floating]:
    """1 − cosine similarity of unit-length ``queries`` with every unit-length row of ``unit``.

    Both already scaled by :func:`unit_rows`, so the distance is one product, in their precision.
    One query (1-d) gives a distance per row; a matrix of queries gives one row of distances each.
    """
    dots = unit @ queries if queries.ndim == 1 else queries @ unit.T
    distances: npt.NDArray[Floating] = 1.0 - dots
    return distances


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
