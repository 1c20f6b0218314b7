"""Exact top-k of every query, unfiltered and at each selectivity, computed in chunks and cached.

One pass over the rows, a chunk at a time: float32 scores of all queries against the chunk (one
matrix product), and per query and filter a pool of the ``2k + 16`` best rows so far by those
scores. The pools are then re-scored in float64 and ordered by (distance, row), the definition the
store uses. The answer is exact, not merely very likely: float32 rounding moves a score by at most
``margin`` (a bound on the rounding error of a dot product of this dimension), so a pool is
certain to hold the true top k once its worst float32 score plus the margin is below the k-th
exact score; the rare pools that are not (many near-ties) are settled by a second pass that
re-scores every row within the margin. A filter that matches fewer than k rows gives fewer than
k answers, padded with row -1 and distance +inf. Rows are only ever read a chunk at a time, in
order (the re-scoring too reads the pools' rows chunk by chunk for all queries together), so
rows generated on demand are generated once per pass and never held all at once.

The result is cached next to the data set, named by (data set, N, Q, k, seed) and a fingerprint of
the data, so a changed generator or data file never reuses stale answers; a cached result for a
larger k serves a smaller one (its first k columns). The fingerprint of generated rows samples a
few chunks rather than rows across all of them (which would cost a whole generation pass), so
the same rows cached and generated have different fingerprints, and their answers are computed
once each.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pgs3v.bench.ann_data.cache import Cache
from pgs3v.bench.ann_data.dataset import SELECTIVITIES, AnnDataset, FloatMatrix, band_limit
from pgs3v.bench.ann_data.generated import GeneratedMatrix
from pgs3v.store.engine.distances import exact_distances, row_norms, unit_rows

Selectivity = float | None  # None: unfiltered
IntMatrix = npt.NDArray[np.int64]
Float64Matrix = npt.NDArray[np.float64]
Progress = Callable[[int, int], None]

_CHUNK_ROWS = 1 << 14
_UNIT_ROUNDING = 2.0**-24  # float32 unit roundoff


@dataclass(frozen=True)
class GroundTruth:
    """Per workload (``None`` unfiltered, else a selectivity): the true rows and distances, (Q, k)."""

    k: int
    rows: dict[Selectivity, IntMatrix]
    distances: dict[Selectivity, Float64Matrix]
    matching_rows: dict[Selectivity, int]

    def truncated(self, k: int) -> GroundTruth:
        """The same answers cut to the first ``k`` (k ≤ self.k)."""
        if k > self.k:
            raise ValueError(f"ground truth for k={self.k} cannot answer k={k}")
        return GroundTruth(
            k, {s: r[:, :k].copy() for s, r in self.rows.items()},
            {s: d[:, :k].copy() for s, d in self.distances.items()}, dict(self.matching_rows),
        )

    def recall(self, selectivity: Selectivity, found: Sequence[Sequence[int]], k: int | None = None) -> float:
        """Mean share of the true top ``k`` rows that ``found`` (one row list per query) contains."""
        k = self.k if k is None else k
        truth = self.rows[selectivity][:, :k]
        if len(found) != len(truth):
            raise ValueError(f"{len(found)} answers for {len(truth)} queries")
        shares = []
        for answer, expected in zip(found, truth, strict=True):
            wanted = {int(row) for row in expected if row >= 0}
            got = {int(row) for row in list(answer)[:k]}
            shares.append(len(wanted & got) / len(wanted) if wanted else float(not got))
        return float(np.mean(shares)) if shares else 1.0


def load_ground_truth(
    dataset: AnnDataset,
    k: int = 100,
    selectivities: Sequence[float] = SELECTIVITIES,
    cache: Cache | None = None,
    progress: Progress | None = None,
) -> GroundTruth:
    """The exact top ``k`` of every query of the data set, from the cache or computed (and cached)."""
    cache = cache or Cache.default()
    fingerprint = dataset_fingerprint(dataset)
    stem = f"ground-truth-n{len(dataset)}-q{len(dataset.queries)}"
    suffix = f"seed{dataset.seed}-{fingerprint}.npz"
    wanted: list[Selectivity] = [None, *selectivities]
    for path in cache.find(dataset.name, f"{stem}-k*-{suffix}"):
        match = re.fullmatch(rf"{re.escape(stem)}-k(\d+)-{re.escape(suffix)}", path.name)
        arrays = cache.load_arrays(dataset.name, path.name) if match and int(match[1]) >= k else None
        if arrays is not None:
            cached = _from_arrays(arrays)
            if all(s in cached.rows for s in wanted):
                return cached.truncated(k)
    truth = exact_ground_truth(dataset, k, selectivities, progress)
    cache.save_arrays(dataset.name, f"{stem}-k{k}-{suffix}", _to_arrays(truth))
    return truth


def exact_ground_truth(
    dataset: AnnDataset, k: int, selectivities: Sequence[float] = SELECTIVITIES, progress: Progress | None = None
) -> GroundTruth:
    """The exact top ``k`` of every query, unfiltered and at each selectivity (no cache)."""
    if k < 1:
        raise ValueError("k must be at least 1")
    workloads: list[Selectivity] = [None, *selectivities]
    limits = [None if s is None else band_limit(s) for s in workloads]
    scorer = _Scorer(dataset)
    pool_size = 2 * k + 16
    pools = [_Pool(len(dataset.queries), pool_size) for _ in workloads]
    total = len(dataset)
    for start in range(0, total, _CHUNK_ROWS):
        stop = min(total, start + _CHUNK_ROWS)
        scores = scorer.scores(start, stop)  # (Q, rows)
        bands = dataset.bands[start:stop]
        for pool, limit in zip(pools, limits, strict=True):
            allowed = None if limit is None else np.flatnonzero(bands < limit)
            pool.add(scores, start, allowed)
        if progress is not None:
            progress(stop, total)
    margins = scorer.margins()
    rows, distances, unsure = _rescore(dataset, scorer, pools, k, margins)
    if unsure:
        _settle(dataset, scorer, limits, unsure, rows, distances, k)
    return GroundTruth(
        k,
        dict(zip(workloads, rows, strict=True)),
        dict(zip(workloads, distances, strict=True)),
        {s: pool.matching for s, pool in zip(workloads, pools, strict=True)},
    )


def dataset_fingerprint(dataset: AnnDataset) -> str:
    """A short digest of the data: metric, shape, every query and band, and a sample of the rows."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(f"{dataset.metric}:{dataset.vectors.shape}:{dataset.queries.shape}".encode())
    digest.update(np.ascontiguousarray(dataset.queries, dtype=np.float32).tobytes())
    digest.update(np.ascontiguousarray(dataset.bands, dtype=np.int32).tobytes())
    if isinstance(dataset.vectors, GeneratedMatrix):
        # What generates the rows, and rows of 16 chunks (5 s at 768-d, not a 3-minute pass at 10M).
        digest.update(f"generated:{dataset.vectors.identity}".encode())
        digest.update(dataset.vectors.sample().tobytes())
        return digest.hexdigest()
    step = max(1, len(dataset) // 1024)
    digest.update(np.ascontiguousarray(dataset.vectors[::step], dtype=np.float32).tobytes())
    digest.update(np.ascontiguousarray(dataset.vectors[-1:], dtype=np.float32).tobytes())
    return digest.hexdigest()


class _Scorer:
    """Float32 scores (higher is nearer) and the bound on their rounding error, per query.

    Cosine: the dot product of unit vectors. Euclidean: ``2 x·q − ‖x‖²``, which is ``‖q‖² − d²``.
    """

    def __init__(self, dataset: AnnDataset) -> None:
        self.metric = dataset.metric
        self.vectors = dataset.vectors
        queries = np.ascontiguousarray(dataset.queries, dtype=np.float32)
        if self.metric == "cosine":
            queries = unit_rows(queries)
        self.queries: FloatMatrix = queries
        self.query_norms = row_norms(dataset.queries, np.float64)
        self.largest_norm = 0.0
        # A dot product of length d in float32 errs by at most about d·u·Σ|xᵢqᵢ|; twice that, with
        # room for the normalisation's rounding, bounds the error of any score.
        self._relative_error = 2.0 * (dataset.dimension + 8) * _UNIT_ROUNDING

    def scores(self, start: int, stop: int) -> FloatMatrix:
        chunk = np.asarray(self.vectors[start:stop], dtype=np.float32)
        norms = row_norms(chunk, np.float64)
        self.largest_norm = max(self.largest_norm, float(norms.max(initial=0.0)))
        if self.metric == "cosine":
            unit = chunk / norms.astype(np.float32)[:, None]
            cosine: FloatMatrix = self.queries @ unit.T
            return cosine
        scores: FloatMatrix = np.float32(2.0) * (self.queries @ chunk.T) - (norms * norms).astype(np.float32)
        return scores

    def margins(self) -> Float64Matrix:
        if self.metric == "cosine":
            return np.full(len(self.queries), self._relative_error)
        largest = self.largest_norm
        scale = 2.0 * largest * self.query_norms + largest * largest + self.query_norms**2
        margins: Float64Matrix = self._relative_error * scale
        return margins

    def exact_scores(self, query: int, distances: Float64Matrix) -> Float64Matrix:
        """Exact distances turned into the score scale."""
        if self.metric == "cosine":
            return 1.0 - distances
        converted: Float64Matrix = self.query_norms[query] ** 2 - distances**2
        return converted


class _Pool:
    """For every query, the ``size`` best rows so far by float32 score (row -1 marks an empty slot)."""

    def __init__(self, queries: int, size: int) -> None:
        self.size = size
        self.scores = np.full((queries, 0), -np.inf, dtype=np.float32)
        self.rows = np.full((queries, 0), -1, dtype=np.int64)
        self.matching = 0

    def add(self, scores: FloatMatrix, start: int, allowed: npt.NDArray[np.intp] | None) -> None:
        if allowed is not None:
            scores = scores[:, allowed]
            offsets = allowed
        else:
            offsets = np.arange(scores.shape[1])
        self.matching += len(offsets)
        if len(offsets) == 0:
            return
        if len(offsets) > self.size:
            cut = len(offsets) - self.size
            best = np.argpartition(scores, cut, axis=1)[:, cut:]
            scores = np.take_along_axis(scores, best, axis=1)
            rows = offsets[best] + start
        else:
            rows = np.broadcast_to(offsets + start, scores.shape)
        merged_scores = np.concatenate([self.scores, scores], axis=1)
        merged_rows = np.concatenate([self.rows, rows], axis=1)
        if merged_scores.shape[1] > self.size:
            cut = merged_scores.shape[1] - self.size
            keep = np.argpartition(merged_scores, cut, axis=1)[:, cut:]
            merged_scores = np.take_along_axis(merged_scores, keep, axis=1)
            merged_rows = np.take_along_axis(merged_rows, keep, axis=1)
        self.scores, self.rows = merged_scores, merged_rows


def _rescore(
    dataset: AnnDataset, scorer: _Scorer, pools: list[_Pool], k: int, margins: Float64Matrix
) -> tuple[list[IntMatrix], list[Float64Matrix], list[tuple[int, int, float]]]:
    """Exact top k from each pool, and the (query, workload, score threshold) pools that may miss one."""
    count = len(dataset.queries)
    rows = [np.full((count, k), -1, dtype=np.int64) for _ in pools]
    distances = [np.full((count, k), np.inf) for _ in pools]
    unsure: list[tuple[int, int, float]] = []
    # Per query the rows of all its pools, re-scored in one pass over the rows for all queries.
    unions = [np.unique(np.concatenate([pool.rows[query] for pool in pools])) for query in range(count)]
    unions = [union[union >= 0] for union in unions]
    exacts = _exact_distances_to(dataset, list(range(count)), unions)
    for query, union, exact in zip(range(count), unions, exacts, strict=True):
        for w, pool in enumerate(pools):
            members = pool.rows[query][pool.rows[query] >= 0]
            member_distances = exact[np.searchsorted(union, members)]
            order = np.lexsort((members, member_distances))[:k]
            found = len(order)
            rows[w][query, :found] = members[order]
            distances[w][query, :found] = member_distances[order]
            if pool.matching > pool.size and found == k:
                kth_score = float(scorer.exact_scores(query, distances[w][query, k - 1 : k])[0])
                worst_kept = float(pool.scores[query].min())
                if worst_kept + margins[query] >= kth_score:
                    unsure.append((query, w, kth_score - margins[query]))
    return rows, distances, unsure


def _settle(
    dataset: AnnDataset,
    scorer: _Scorer,
    limits: list[int | None],
    unsure: list[tuple[int, int, float]],
    rows: list[IntMatrix],
    distances: list[Float64Matrix],
    k: int,
) -> None:
    """Second pass for the unsure pools: every allowed row within the margin of the k-th score."""
    found: list[list[npt.NDArray[np.int64]]] = [[] for _ in unsure]
    for start in range(0, len(dataset), _CHUNK_ROWS):
        stop = min(len(dataset), start + _CHUNK_ROWS)
        scores = scorer.scores(start, stop)
        bands = dataset.bands[start:stop]
        for i, (query, w, threshold) in enumerate(unsure):
            near = scores[query] >= threshold
            limit = limits[w]
            if limit is not None:
                near &= bands < limit
            found[i].append(np.flatnonzero(near).astype(np.int64) + start)
    candidates = [np.unique(np.concatenate([rows[w][query][rows[w][query] >= 0], *parts]))
                  for (query, w, _), parts in zip(unsure, found, strict=True)]
    exacts = _exact_distances_to(dataset, [query for query, _, _ in unsure], candidates)
    for (query, w, _), rows_of, exact in zip(unsure, candidates, exacts, strict=True):
        order = np.lexsort((rows_of, exact))[:k]
        rows[w][query, : len(order)] = rows_of[order]
        distances[w][query, : len(order)] = exact[order]


def _exact_distances_to(
    dataset: AnnDataset, queries: Sequence[int], wanted: Sequence[npt.NDArray[np.int64]]
) -> list[npt.NDArray[np.float64]]:
    """Float64 distances of query ``queries[i]`` to the rows ``wanted[i]``, reading each chunk of rows once.

    A gather per query would touch a chunk per row: at 10M generated rows, hours of regenerating.
    """
    out = [np.empty(len(rows_of)) for rows_of in wanted]
    counts = np.array([len(rows_of) for rows_of in wanted], dtype=np.int64)
    if not counts.sum():
        return out
    # Every (row, request, position) triple, ordered by row, so a chunk's triples are one run.
    rows = np.concatenate(wanted).astype(np.int64)
    requests = np.repeat(np.arange(len(wanted)), counts)
    positions = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    order = np.argsort(rows, kind="stable")
    rows, requests, positions = rows[order], requests[order], positions[order]
    edges = np.searchsorted(rows, np.arange(0, len(dataset) + _CHUNK_ROWS, _CHUNK_ROWS))
    for low, high in itertools.pairwise(edges):
        if low == high:
            continue
        unique, inverse = np.unique(rows[low:high], return_inverse=True)
        block = np.asarray(dataset.vectors[unique], dtype=np.float32)
        by_request = low + np.argsort(requests[low:high], kind="stable")
        starts = np.flatnonzero(np.diff(requests[by_request])) + 1
        for group in np.split(by_request, starts):
            request = int(requests[group[0]])
            out[request][positions[group]] = exact_distances(
                dataset.metric, dataset.queries[queries[request]], block[inverse[group - low]]
            )
    return out


def _label(selectivity: Selectivity) -> str:
    return "all" if selectivity is None else f"s{selectivity!r}"


def _to_arrays(truth: GroundTruth) -> dict[str, npt.NDArray[Any]]:
    workloads = list(truth.rows)
    arrays: dict[str, npt.NDArray[Any]] = {
        "k": np.array(truth.k),
        "selectivities": np.array([s for s in workloads if s is not None], dtype=np.float64),
    }
    for s in workloads:
        arrays[f"rows-{_label(s)}"] = truth.rows[s]
        arrays[f"distances-{_label(s)}"] = truth.distances[s]
        arrays[f"matching-{_label(s)}"] = np.array(truth.matching_rows[s])
    return arrays


def _from_arrays(arrays: dict[str, npt.NDArray[Any]]) -> GroundTruth:
    workloads: list[Selectivity] = [None, *(float(s) for s in arrays["selectivities"])]
    return GroundTruth(
        int(arrays["k"]),
        {s: arrays[f"rows-{_label(s)}"] for s in workloads},
        {s: arrays[f"distances-{_label(s)}"] for s in workloads},
        {s: int(arrays[f"matching-{_label(s)}"]) for s in workloads},
    )
