"""Exact cosine search with numpy: the in-process baseline, and the oracle answers are checked against.

The baseline is what a careful user would write: float32 dot products with the normalised
query over a normalised matrix, then ``argpartition``. The oracle is slower and stricter: it
re-scores a generous float32 shortlist in float64 with the stored vectors' own norms, exactly as
S3 Vectors defines cosine distance, so it settles near-ties that float32 rounding could flip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pgs3v.bench.dataset import FloatMatrix, IntArray

# float32 dot products of unit vectors err by well under 1e-4 at dimension 4096; rows this close
# to the k-th best float32 score are re-scored in float64 so none of the true top k is missed.
_SHORTLIST_MARGIN = 1e-3
_ORACLE_QUERY_BLOCK = 64  # queries scored per matrix product, bounding the score block's memory
_NORM_CHUNK_ROWS = 8192


@dataclass(frozen=True)
class Answer:
    """One system's answer to one query: rows nearest first, with their cosine distances."""

    rows: list[int]
    distances: list[float]


class ExactSearch:
    """Brute-force top-k by normalised float32 dot product, optionally among one category."""

    def __init__(self, vectors: FloatMatrix, categories: IntArray) -> None:
        self._matrix = _unit_rows(vectors)
        self._categories = categories

    def query(self, vector: FloatMatrix, top_k: int, category: int | None = None) -> Answer:
        """The ``top_k`` rows most similar to ``vector`` (among ``category`` when given)."""
        unit = vector / np.float32(np.linalg.norm(vector))
        if category is None:
            rows = None
            scores = self._matrix @ unit
        else:
            # The filter is evaluated per query, as the store has to.
            rows = np.flatnonzero(self._categories == category)
            scores = self._matrix[rows] @ unit
        best = _top_indices(scores, top_k)
        chosen = best if rows is None else rows[best]
        return Answer([int(r) for r in chosen], [float(1.0 - s) for s in scores[best]])


def oracle_answers(
    vectors: FloatMatrix, queries: FloatMatrix, top_k: int, categories: IntArray, query_categories: IntArray | None
) -> list[Answer]:
    """The true top-k per query in float64 (among the query's category when given), ties by row."""
    answers: list[Answer] = []
    norms = _norms64(vectors)
    for start in range(0, len(queries), _ORACLE_QUERY_BLOCK):
        block = queries[start : start + _ORACLE_QUERY_BLOCK]
        scores = (vectors @ block.T).T / np.linalg.norm(block, axis=1, keepdims=True)
        for offset, query_scores in enumerate(scores):
            allowed = None if query_categories is None else categories == query_categories[start + offset]
            answers.append(_oracle_one(vectors, norms, block[offset], query_scores, allowed, top_k))
    return answers


def _oracle_one(
    vectors: FloatMatrix,
    norms: npt.NDArray[np.float64],
    query: FloatMatrix,
    scores: npt.NDArray[np.float32],
    allowed: npt.NDArray[np.bool_] | None,
    top_k: int,
) -> Answer:
    candidates = np.arange(len(vectors)) if allowed is None else np.flatnonzero(allowed)
    if len(candidates) == 0:
        return Answer([], [])
    candidate_scores = scores[candidates]
    k = min(top_k, len(candidates))
    kth_best = np.partition(candidate_scores, -k)[-k]
    shortlist = candidates[candidate_scores >= kth_best - _SHORTLIST_MARGIN]
    query64 = query.astype(np.float64)
    similarity = (vectors[shortlist].astype(np.float64) @ query64) / (norms[shortlist] * np.linalg.norm(query64))
    distances = 1.0 - similarity
    order = np.lexsort((shortlist, distances))[:top_k]
    return Answer([int(r) for r in shortlist[order]], [float(d) for d in distances[order]])


def recall(answers: list[Answer], truth: list[Answer]) -> float:
    """Mean share of the true rows each answer found (1.0 when both are empty)."""
    shares = []
    for answer, expected in zip(answers, truth, strict=True):
        wanted = set(expected.rows)
        shares.append(len(wanted & set(answer.rows)) / len(wanted) if wanted else float(not answer.rows))
    return float(np.mean(shares)) if shares else 1.0


def max_distance_error(answers: list[Answer], truth: list[Answer]) -> float:
    """Largest |reported − true| distance over the rows an answer shares with the truth."""
    worst = 0.0
    for answer, expected in zip(answers, truth, strict=True):
        true_distance = dict(zip(expected.rows, expected.distances, strict=True))
        for row, distance in zip(answer.rows, answer.distances, strict=True):
            if row in true_distance:
                worst = max(worst, abs(distance - true_distance[row]))
    return worst


def _top_indices(scores: npt.NDArray[np.float32], top_k: int) -> npt.NDArray[np.intp]:
    if len(scores) <= top_k:
        return np.argsort(-scores)
    best = np.argpartition(-scores, top_k - 1)[:top_k]
    ordered: npt.NDArray[np.intp] = best[np.argsort(-scores[best])]
    return ordered


def _unit_rows(vectors: FloatMatrix) -> FloatMatrix:
    unit: FloatMatrix = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32, copy=False)
    return unit


def _norms64(vectors: FloatMatrix) -> npt.NDArray[np.float64]:
    # In chunks: a float64 copy of the whole matrix would double the benchmark's memory.
    norms = np.empty(len(vectors), dtype=np.float64)
    for start in range(0, len(vectors), _NORM_CHUNK_ROWS):
        chunk = vectors[start : start + _NORM_CHUNK_ROWS].astype(np.float64)
        norms[start : start + len(chunk)] = np.linalg.norm(chunk, axis=1)
    return norms
