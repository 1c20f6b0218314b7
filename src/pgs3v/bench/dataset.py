"""Seeded synthetic vectors, metadata and queries for the benchmark.

Vectors come from a mixture of many gaussian clusters of unequal sizes and spreads, plus a share
of pure isotropic noise, all normalised to unit length. Real embeddings are clumpy like this; a
single gaussian (every point nearly equidistant) or tight, well-separated clusters would make
nearest-neighbour search unrealistically hard or easy, and later ANN comparisons misleading.
Queries are fresh draws from the same mixture, so they land near, not on, stored vectors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatMatrix = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

CATEGORY_COUNT = 20  # so ``category == one value`` selects about 5% of the rows
NOISE_SHARE = 0.1
_CHUNK_ROWS = 8192  # generate in chunks so the float64 temporaries stay small
_KEY_PREFIX = "vec-"


@dataclass(frozen=True)
class SyntheticDataset:
    """Unit vectors with metadata columns, and queries each with the category a filter picks."""

    vectors: FloatMatrix
    categories: IntArray
    prices: npt.NDArray[np.float64]
    queries: FloatMatrix
    query_categories: IntArray

    @property
    def dimension(self) -> int:
        """Length of every vector."""
        return int(self.vectors.shape[1])

    def key(self, row: int) -> str:
        """The key a row is stored under."""
        return f"{_KEY_PREFIX}{row}"

    def row_of(self, key: str) -> int:
        """The row a key names, or -1 for a key this data set never produced."""
        suffix = key.removeprefix(_KEY_PREFIX)
        if suffix == key or not suffix.isdigit():
            return -1
        row = int(suffix)
        return row if row < len(self.vectors) else -1

    def metadata(self, row: int) -> dict[str, Any]:
        """The small filterable metadata stored with a row."""
        return {"category": category_name(int(self.categories[row])), "price": float(self.prices[row])}


def category_name(category: int) -> str:
    """The metadata value of a category number."""
    return f"cat-{category:02d}"


def generate_dataset(vectors: int, dimension: int, queries: int, seed: int) -> SyntheticDataset:
    """The same data set for the same arguments, on any machine."""
    rng = np.random.default_rng(seed)
    # About 100 points per cluster, within bounds so tiny runs still have several clusters.
    cluster_count = max(8, min(1024, vectors // 100))
    centres = _normalised(rng.standard_normal((cluster_count, dimension)))
    # Log-normal weights give a few big clusters and a long tail of small ones.
    weights = rng.lognormal(0.0, 1.0, cluster_count)
    weights /= weights.sum()
    # Noise norm relative to the unit centre: 0.5 is a tight cluster, 1.2 barely one.
    spreads = rng.uniform(0.5, 1.2, cluster_count)
    mixture = _Mixture(centres, weights, spreads)
    data = mixture.sample(rng, vectors)
    query_data = mixture.sample(rng, queries)
    return SyntheticDataset(
        vectors=data,
        categories=rng.integers(0, CATEGORY_COUNT, vectors, dtype=np.int64),
        prices=np.round(rng.lognormal(3.0, 1.0, vectors), 2),
        queries=query_data,
        query_categories=rng.integers(0, CATEGORY_COUNT, queries, dtype=np.int64),
    )


@dataclass(frozen=True)
class _Mixture:
    centres: npt.NDArray[np.float64]
    weights: npt.NDArray[np.float64]
    spreads: npt.NDArray[np.float64]

    def sample(self, rng: np.random.Generator, count: int) -> FloatMatrix:
        dimension = self.centres.shape[1]
        out = np.empty((count, dimension), dtype=np.float32)
        for start in range(0, count, _CHUNK_ROWS):
            rows = min(_CHUNK_ROWS, count - start)
            clusters = rng.choice(len(self.weights), size=rows, p=self.weights)
            noise = rng.standard_normal((rows, dimension)) / math.sqrt(dimension)
            chunk = self.centres[clusters] + self.spreads[clusters, None] * noise
            isolated = rng.random(rows) < NOISE_SHARE
            chunk[isolated] = rng.standard_normal((int(isolated.sum()), dimension))
            out[start : start + rows] = _normalised(chunk)
        return out


def _normalised(matrix: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    normalised: npt.NDArray[np.float64] = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    return normalised
