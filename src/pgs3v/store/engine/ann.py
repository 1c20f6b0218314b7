"""The approximate part of a segment: faiss IVF with 4-bit product-quantized codes (fast scan).

Only these compact codes live in RAM (d/8 bytes per vector plus an 8-byte id); the full-precision
vectors stay in the segment's memory-mapped file and are read only to re-rank the few hundred
best candidates exactly. The codes alone rank too coarsely for high recall (on 768-d data the
re-rank lifts recall@10 from about 0.8 to 0.98), so a search here always returns *candidates*.

Cosine ANNs are built over unit vectors with inner product, so the coarse quantizer and the
codes see angles, not lengths; euclidean ones use L2 directly.

Names: "index" is a vector index (the API's resource); the faiss structure inside one segment
is its *ANN* (``ann``, the file ``ann.faiss``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from pgs3v.store.engine.distances import exact_distances, unit_rows

FloatArray = npt.NDArray[np.float32]
RowArray = npt.NDArray[np.int64]

# k-means needs a few dozen points per centroid to place them well; more only costs time.
_TRAINING_POINTS_PER_LIST = 64
_MIN_POINTS_PER_LIST = 39


@dataclass(frozen=True)
class AnnLayout:
    """How a segment's vectors are partitioned and coded."""

    lists: int
    subquantizers: int

    @property
    def factory(self) -> str:
        """The faiss index_factory string."""
        return f"IVF{self.lists},PQ{self.subquantizers}x4fs"


def layout_for(rows: int, dimension: int) -> AnnLayout:
    """Default partitioning: about sqrt(rows) lists, 4 dimensions per 4-bit subquantizer."""
    lists = max(1, min(round(math.sqrt(rows)), rows // _MIN_POINTS_PER_LIST, 65536))
    # Finer codes for small dimensions: each sub-code then describes fewer coordinates.
    wanted = 4 if dimension >= 256 else 2
    per_code = next(size for size in range(wanted, 0, -1) if dimension % size == 0)
    return AnnLayout(lists=lists, subquantizers=dimension // per_code)


def default_probes(lists: int) -> int:
    """Lists probed per query unless the caller asks otherwise: about 1/8 of them, at least 16."""
    return min(lists, max(16, lists // 8))


def prepared(vectors: FloatArray, metric: str) -> FloatArray:
    """Vectors as the ANN sees them: unit length for cosine, unchanged for euclidean."""
    if metric == "cosine":
        return unit_rows(vectors)
    return np.ascontiguousarray(vectors, dtype=np.float32)


def build_ann(
    vectors: FloatArray, metric: str, *, seed: int = 1234, threads: int = 0, trained: faiss.Index | None = None
) -> tuple[faiss.Index, faiss.Index]:
    """An ANN over every row of ``vectors`` (id = row number), and the empty trained one it grew from.

    ``trained`` (an empty ANN another segment of the same vector index was trained into) skips
    the training: most of a small segment's build is k-means, and rows of one index share their
    distribution, so its lists and codebooks serve the next segment as well. The calibration
    that follows every build measures what they achieve on this segment's rows.
    """
    if threads:
        # OpenMP's thread count is a per-thread setting: this affects only the calling (indexer)
        # thread, so queries served by other threads keep running single-threaded.
        faiss.omp_set_num_threads(threads)
    if trained is None:
        trained = train_ann(vectors, metric, seed=seed)
    ann = faiss.clone_index(trained)
    rows = len(vectors)
    chunk = 65536
    for start in range(0, rows, chunk):
        stop = min(rows, start + chunk)
        ann.add_with_ids(prepared(np.asarray(vectors[start:stop]), metric), np.arange(start, stop, dtype=np.int64))
    return ann, trained


def train_ann(vectors: FloatArray, metric: str, *, seed: int = 1234) -> faiss.Index:
    """An empty ANN whose lists and codebooks are trained on a sample of ``vectors``."""
    rows, dimension = vectors.shape
    layout = layout_for(rows, dimension)
    faiss_metric = faiss.METRIC_INNER_PRODUCT if metric == "cosine" else faiss.METRIC_L2
    ann = faiss.index_factory(dimension, layout.factory, faiss_metric)
    ivf = faiss.extract_index_ivf(ann)
    # Small segments train on few points; that is expected, so faiss need not warn about it.
    ivf.cp.min_points_per_centroid = 1
    coder: Any = faiss.downcast_index(ivf)
    coder.pq.cp.min_points_per_centroid = 1
    sample_size = min(rows, layout.lists * _TRAINING_POINTS_PER_LIST)
    sample_rows = np.sort(np.random.default_rng(seed).choice(rows, sample_size, replace=False))
    ann.train(prepared(np.asarray(vectors[sample_rows]), metric))
    return ann


def save_ann(ann: faiss.Index, write: Callable[[bytes], object]) -> None:
    """Pass the ANN to ``write`` piece by piece as it serializes (the caller makes it durable)."""
    writer = faiss.PyCallbackIOWriter(write)  # type: ignore[attr-defined]  # missing from faiss's stubs
    try:
        faiss.write_index(ann, writer)
    finally:
        del writer  # flushes what faiss still buffers


def load_ann(path: Path) -> faiss.Index:
    """Read an ANN written by :func:`save_ann`."""
    return faiss.read_index(str(path))


def ann_lists(ann: faiss.Index) -> int:
    """Number of inverted lists."""
    return int(faiss.extract_index_ivf(ann).nlist)


def ann_candidates(
    ann: faiss.Index, query: FloatArray, metric: str, count: int, probes: int,
    allowed: npt.NDArray[np.uint8] | None = None,
) -> tuple[RowArray, FloatArray]:
    """Rows of the ``count`` best codes in the ``probes`` nearest lists (restricted to ``allowed``).

    Returned with their code-estimated distances, smaller = nearer (1 − similarity of unit
    vectors for cosine, squared L2 otherwise), so candidates of several segments can compete
    for one re-rank pool. ``allowed`` is a little-endian bitmap (bit ``r % 8`` of byte
    ``r // 8`` set = row ``r`` may be returned), as faiss's IDSelectorBitmap reads it.
    """
    # One query uses one core: concurrent queries, not one query's probes, fill the machine.
    faiss.omp_set_num_threads(1)
    point = prepared(query.reshape(1, -1), metric)
    selector = None
    if allowed is not None:
        selector = faiss.IDSelectorBitmap(len(allowed) * 8, faiss.swig_ptr(allowed))
    parameters = faiss.SearchParametersIVF()
    parameters.nprobe = max(1, probes)
    if selector is not None:
        parameters.sel = selector
    scores, ids = ann.search(point, count, params=parameters)
    found = ids[0] >= 0
    estimated: FloatArray = scores[0][found]
    if metric == "cosine":
        estimated = (np.float32(1.0) - estimated).astype(np.float32)
    rows: RowArray = ids[0][found]
    return rows, estimated


# Probe counts tried by calibration, each about 1.5x the previous.
_PROBE_LADDER = (4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 4096)


@dataclass(frozen=True)
class Calibration:
    """The search settings a segment measured for itself."""

    probes: int
    rerank: int
    # Entry j - 1: the fewest probes reaching the target recall on each query's j nearest rows
    # (at most ``probes``; the last entry is ``probes``). A query over several segments finds
    # only a share of its k results in each one, and needs only that share's probes there.
    probes_by_top: tuple[int, ...] = ()


def probes_for_top(probes: int, probes_by_top: Sequence[int], top: int) -> int:
    """Calibrated probes for a query's ``top`` nearest rows: ``probes`` beyond the measured range."""
    if top < 1 or top > len(probes_by_top):
        return probes
    return min(probes, probes_by_top[top - 1])


# When even every list does not reach the target, the codes rank too coarsely for the pool:
# calibration then tries larger re-rank pools (low dimensions, hard data such as GloVe).
_RERANK_GROWTH = (1, 2, 4, 8)


def calibrate_probes(
    ann: faiss.Index, vectors: FloatArray, metric: str, rerank: int, target: float, *, samples: int = 128,
    top: int = 10, seed: int = 99,
) -> Calibration:
    """The fewest probes (and, if needed, a larger re-rank pool) reaching ``target`` recall@``top``.

    The queries are rows of the segment itself, each left out of its own answer, so they come
    from the data's own distribution. Recall is measured after the exact re-rank, as queries see it.
    """
    rows = len(vectors)
    lists = ann_lists(ann)
    picks = np.sort(np.random.default_rng(seed).choice(rows, min(samples, rows), replace=False))
    queries = np.asarray(vectors[picks], dtype=np.float32)
    truth = _exact_top(vectors, queries, picks, metric, top)
    # wanted[j - 1]: how many of the sample queries' j nearest rows the target asks to find.
    wanted = [target * sum(len(e[:j]) for e in truth) for j in range(1, top + 1)]
    points = prepared(queries, metric)
    for growth in _RERANK_GROWTH:
        pool = rerank * growth
        reached: list[int | None] = [None] * top
        for probes in (*(p for p in _PROBE_LADDER if p < lists), lists):
            parameters = faiss.SearchParametersIVF()
            parameters.nprobe = probes
            # All sample queries in one call: calibration is part of every segment build.
            _, ids = ann.search(points, pool + 1, params=parameters)
            found = np.zeros(top, dtype=np.int64)
            for candidates, query, own, expected in zip(ids, queries, picks, truth, strict=True):
                candidates = candidates[(candidates >= 0) & (candidates != own)]
                ordered = np.sort(candidates)
                ranked = ordered[np.argsort(exact_distances(metric, query, vectors[ordered]))]
                found += _found_by_top(ranked[:top], expected, top)
            for j in range(top):
                if reached[j] is None and found[j] >= wanted[j]:
                    reached[j] = probes
            if reached[-1] is not None:
                by_top = tuple(min(p if p is not None else probes, probes) for p in reached)
                return Calibration(probes, pool, by_top)
    return Calibration(lists, rerank * _RERANK_GROWTH[-1], (lists,) * top)


def _found_by_top(ranked: RowArray, expected: RowArray, top: int) -> npt.NDArray[np.int64]:
    """Entry j - 1: how many of ``expected``'s first j rows are among ``ranked``'s first j."""
    found = np.zeros(top, dtype=np.int64)
    for j in range(1, top + 1):
        found[j - 1] = len(np.intersect1d(ranked[:j], expected[:j]))
    return found


def _exact_top(vectors: FloatArray, queries: FloatArray, own: RowArray, metric: str, top: int) -> list[RowArray]:
    """Each query's exact ``top`` rows (itself excluded), scanning the vectors in chunks."""
    count = len(queries)
    best = np.empty((count, 0), dtype=np.int64)
    best_scores = np.empty((count, 0), dtype=np.float32)
    points = prepared(queries, metric)
    chunk = 65536
    for start in range(0, len(vectors), chunk):
        block = prepared(np.asarray(vectors[start : start + chunk]), metric)
        # Smaller is nearer: negated cosine, or squared L2 without the query's constant term.
        scores = -(points @ block.T) if metric == "cosine" else (block * block).sum(axis=1) - 2 * (points @ block.T)
        inside = (own >= start) & (own < start + len(block))
        scores[np.flatnonzero(inside), own[inside] - start] = np.inf
        keep = min(top, len(block))
        picked = np.argpartition(scores, keep - 1, axis=1)[:, :keep]
        best_scores = np.concatenate([best_scores, np.take_along_axis(scores, picked, axis=1)], axis=1)
        best = np.concatenate([best, picked + start], axis=1)
        order = np.argsort(best_scores, axis=1, kind="stable")[:, :top]
        best_scores = np.take_along_axis(best_scores, order, axis=1)
        best = np.take_along_axis(best, order, axis=1)
    return [row[np.isfinite(score)] for row, score in zip(best, best_scores, strict=True)]
