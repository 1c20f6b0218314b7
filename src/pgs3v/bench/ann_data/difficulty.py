"""How hard a data set is for approximate search: an IVF probe-count curve and the distance contrast.

Two figures show that a data set is neither trivially clustered nor hopeless noise. The recall@10
of a faiss ``IndexIVFFlat`` with nlist ≈ √N lists at one probed list should be well below 1 (real
embedding sets give 0.3–0.5), and reach 1 when every list is probed. The distance of the 10th
nearest neighbour should be a clear fraction of the median distance to all rows; in isotropic
noise of high dimension the two are nearly equal, and no index can beat a scan.

Needs ``faiss-cpu`` (imported only when a report is made).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pgs3v.bench.ann_data.dataset import AnnDataset, FloatMatrix
from pgs3v.store.engine.distances import row_squared_norms, unit_cosine_distances, unit_rows

_QUERY_BLOCK = 100  # queries whose distances to the whole sample are held at once


@dataclass(frozen=True)
class DifficultyReport:
    """IVF recall@k per probe count, and exact distance figures (medians over the queries)."""

    sample_rows: int
    queries: int
    nlist: int
    k: int
    recall_by_nprobe: dict[int, float]
    nearest_distance: float
    kth_distance: float
    median_distance: float

    @property
    def contrast(self) -> float:
        """The k-th neighbour's distance as a share of the median distance (near 1: no structure)."""
        return self.kth_distance / self.median_distance

    def summary(self) -> str:
        """One line for a log or a docstring."""
        curve = ", ".join(f"nprobe {n} → {r:.2f}" for n, r in self.recall_by_nprobe.items())
        return (
            f"{self.sample_rows:,} rows, {self.queries:,} queries, nlist {self.nlist}: recall@{self.k} {curve}; "
            f"distance to the 1st neighbour {self.nearest_distance:.3f}, {self.k}th {self.kth_distance:.3f}, "
            f"median {self.median_distance:.3f} (ratio {self.contrast:.2f})"
        )


def difficulty_report(
    dataset: AnnDataset,
    sample_rows: int = 100_000,
    nprobes: Sequence[int] = (1, 4, 16),
    k: int = 10,
    seed: int = 0,
) -> DifficultyReport:
    """Recall@k of faiss IVF on a sample of the rows at each probe count (and at all lists), with distances."""
    faiss = _faiss()
    rows = len(dataset)
    if sample_rows < rows:
        chosen = np.sort(np.random.default_rng([seed, 0xD1FF]).choice(rows, size=sample_rows, replace=False))
        sample = np.ascontiguousarray(dataset.vectors[chosen], dtype=np.float32)
    else:
        sample = np.ascontiguousarray(dataset.vectors, dtype=np.float32)
    queries = np.ascontiguousarray(dataset.queries, dtype=np.float32)
    if dataset.metric == "cosine":
        sample, queries = unit_rows(sample), unit_rows(queries)
    nlist = max(1, round(math.sqrt(len(sample))))
    truth, nearest, kth, median = _exact(sample, queries, k, dataset.metric)

    inner_product = dataset.metric == "cosine"
    quantizer = faiss.IndexFlatIP(sample.shape[1]) if inner_product else faiss.IndexFlatL2(sample.shape[1])
    metric = faiss.METRIC_INNER_PRODUCT if inner_product else faiss.METRIC_L2
    index = faiss.IndexIVFFlat(quantizer, sample.shape[1], nlist, metric)
    index.cp.seed = seed
    index.train(sample)
    index.add(sample)
    recall_by_nprobe = {}
    for nprobe in sorted({*(min(n, nlist) for n in nprobes), nlist}):
        index.nprobe = nprobe
        _, found = index.search(queries, k)
        hits = sum(len(set(row.tolist()) & set(want.tolist())) for row, want in zip(found, truth, strict=True))
        recall_by_nprobe[nprobe] = hits / truth.size
    return DifficultyReport(
        sample_rows=len(sample), queries=len(queries), nlist=nlist, k=k, recall_by_nprobe=recall_by_nprobe,
        nearest_distance=float(np.median(nearest)), kth_distance=float(np.median(kth)),
        median_distance=float(np.median(median)),
    )


def _exact(
    sample: FloatMatrix, queries: FloatMatrix, k: int, metric: str
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    truth = np.empty((len(queries), k), dtype=np.intp)
    nearest, kth, median = (np.empty(len(queries)) for _ in range(3))
    squared_norms = row_squared_norms(sample)
    for start in range(0, len(queries), _QUERY_BLOCK):
        block = queries[start : start + _QUERY_BLOCK]
        if metric == "cosine":  # sample and queries are unit rows
            distances = unit_cosine_distances(sample, block)
        else:
            dots = block @ sample.T
            distances = np.sqrt(np.maximum(squared_norms[None, :] - 2.0 * dots + row_squared_norms(block)[:, None], 0))
        best = np.argpartition(distances, k - 1, axis=1)[:, :k]
        order = np.argsort(np.take_along_axis(distances, best, axis=1), axis=1)
        best = np.take_along_axis(best, order, axis=1)
        stop = start + len(block)
        truth[start:stop] = best
        ranked = np.take_along_axis(distances, best, axis=1)
        nearest[start:stop], kth[start:stop] = ranked[:, 0], ranked[:, -1]
        median[start:stop] = np.median(distances, axis=1)
    return truth, nearest, kth, median


def _faiss() -> Any:
    try:
        return importlib.import_module("faiss")
    except ImportError as problem:
        raise RuntimeError(f"the difficulty report needs faiss ({problem}): pip install faiss-cpu") from None
