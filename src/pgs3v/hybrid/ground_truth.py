"""Exact answers in numpy: the true k nearest among the rows that pass a predicate, and recall@k."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pgs3v.store.engine.distances import unit_cosine_distances, unit_rows

# Two distances closer than this are a tie: either key is a right answer at the k-th place.
TIE_TOLERANCE = 1e-5


@dataclass(frozen=True)
class ExactAnswer:
    """The exact top k among the allowed rows: their keys and cosine distances, nearest first."""

    keys: list[str]
    distances: list[float]

    @property
    def cutoff(self) -> float:
        """The distance of the k-th answer (infinity when no row is allowed)."""
        return self.distances[-1] if self.distances else float("inf")


class ExactSearch:
    """Cosine distances in float64 over a fixed matrix of vectors, one key per row."""

    def __init__(self, keys: Sequence[str], vectors: npt.NDArray[np.float32]) -> None:
        if len(keys) != len(vectors):
            raise ValueError(f"{len(keys)} keys for {len(vectors)} vectors")
        self._unit = unit_rows(vectors, np.float64)
        self._keys = list(keys)
        self._row = {key: row for row, key in enumerate(self._keys)}

    def distances(self, query: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        """1 - cosine similarity of the query with every row, as the store defines cosine distance."""
        return unit_cosine_distances(self._unit, unit_rows(query[None, :], np.float64)[0])

    def top_k(self, query: npt.NDArray[np.float32], allowed: Sequence[str], k: int) -> ExactAnswer:
        """The exact k nearest of the allowed keys (fewer when fewer are allowed)."""
        rows = np.fromiter((self._row[key] for key in allowed), dtype=np.int64, count=len(allowed))
        if len(rows) == 0:
            return ExactAnswer([], [])
        distances = self.distances(query)[rows]
        order = np.argsort(distances, kind="stable")[:k]
        return ExactAnswer([self._keys[rows[i]] for i in order], [float(distances[i]) for i in order])

    def distance_of(self, query: npt.NDArray[np.float32], key: str) -> float:
        """The exact distance of one key from the query."""
        return float(self.distances(query)[self._row[key]])


def recall_at_k(returned: Sequence[str], exact: ExactAnswer, allowed: set[str], search: ExactSearch,
                query: npt.NDArray[np.float32], k: int) -> float:
    """Share of the exact top k that came back (ties at the k-th distance count as found).

    A returned key counts when it passes the predicate and is no farther than the k-th exact
    answer; the denominator is k, or the number of allowed rows when fewer. 1.0 when none exist.
    """
    wanted = min(k, len(exact.keys))
    if wanted == 0:
        return 1.0
    found = {key for key in returned
             if key in allowed and search.distance_of(query, key) <= exact.cutoff + TIE_TOLERANCE}
    return min(len(found), wanted) / wanted
