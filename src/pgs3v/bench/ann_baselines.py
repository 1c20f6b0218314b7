"""The ANN benchmark's baselines on the same data: exact numpy search and pgvector 0.8 HNSW."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np

from pgs3v.bench.ann_data.dataset import AnnDataset
from pgs3v.bench.ann_data.exact import BlockExactSearch, ExactIndex
from pgs3v.bench.ann_data.ground_truth import GroundTruth
from pgs3v.bench.ann_store_run import Progress, Selectivity, recall_metric, workload_name
from pgs3v.bench.measurements import Measurement, latency_measurements, smallest_setting_reaching
from pgs3v.bench.query_timing import throughput, timed_queries

NUMPY, PGVECTOR = "numpy-exact", "pgvector-hnsw"


@dataclass
class BaselineResult:
    """Figures, a recall/latency curve and notes of one baseline."""

    measurements: list[Measurement] = field(default_factory=list)
    curve: list[dict[str, float]] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)


def run_numpy(
    dataset: AnnDataset, truth: GroundTruth, selectivities: Sequence[Selectivity], top_k: int, queries: int,
    progress: Progress,
) -> BaselineResult:
    """Exact search one query at a time, over the first ``queries`` queries (generated rows: a block at a time)."""
    if dataset.generated:
        return _run_numpy_blocks(dataset, truth, selectivities, top_k, queries, progress)
    result = BaselineResult()
    exact = ExactIndex(dataset)
    count = min(queries, len(dataset.queries))
    for selectivity in selectivities:
        label = workload_name(dataset, selectivity)
        mask = None if selectivity is None else dataset.mask(selectivity)
        durations, found = [], []
        for number in range(count):
            began = time.perf_counter_ns()
            rows = exact.search(dataset.queries[number], top_k, mask).rows
            durations.append(time.perf_counter_ns() - began)
            found.append([int(row) for row in rows])
            progress(f"numpy exact, {label}", number + 1, count)
        _add_figures(result, dataset, truth, selectivity, top_k, durations, found)
    result.notes = {"mode": "in memory", "rows_scanned": len(dataset)}
    return result


def _run_numpy_blocks(
    dataset: AnnDataset, truth: GroundTruth, selectivities: Sequence[Selectivity], top_k: int, queries: int,
    progress: Progress,
) -> BaselineResult:
    """The same exact scan over generated rows, a block at a time (:class:`BlockExactSearch`)."""
    result = BaselineResult()
    search = BlockExactSearch(dataset)
    count = min(queries, len(dataset.queries))
    masks = [None if s is None else dataset.mask(s) for s in selectivities]
    answers, durations = search.search(dataset.queries[:count], top_k, masks,
                                       lambda done, total: progress("numpy exact, blocks of generated rows", done,
                                                                    total))
    for selectivity, found, timed in zip(selectivities, answers, durations, strict=True):
        _add_figures(result, dataset, truth, selectivity, top_k, timed,
                     [[int(row) for row in neighbours.rows] for neighbours in found])
    result.notes = {
        "mode": "blocks", "rows_scanned": len(dataset), "blocks": search.blocks, "block_rows": search.block_rows,
        "note": f"the rows are generated on demand, so the exact scan ran on {search.blocks} block(s) of "
                f"{search.block_rows:,} rows, each generated once (untimed); a query's time is the sum of its "
                "scans over the blocks and the merges of their answers",
    }
    return result


def _add_figures(
    result: BaselineResult, dataset: AnnDataset, truth: GroundTruth, selectivity: Selectivity, top_k: int,
    durations: list[int], found: list[list[int]],
) -> None:
    label = workload_name(dataset, selectivity)
    count = len(found)
    result.measurements += latency_measurements(label, NUMPY, durations)
    partial = GroundTruth(truth.k, {s: r[:count] for s, r in truth.rows.items()},
                          {s: d[:count] for s, d in truth.distances.items()}, dict(truth.matching_rows))
    result.measurements.append(Measurement(label, NUMPY, recall_metric(top_k),
                                           partial.recall(selectivity, found, top_k), "ratio"))


@dataclass(frozen=True)
class PgvectorOptions:
    """How the pgvector baseline runs."""

    ef_search: int = 40
    ef_sweep: tuple[int, ...] = (40, 100, 200, 400)
    qps_clients: int = 2
    qps_seconds: float = 10.0
    # pgs3v's unfiltered recall in this run: QPS is also measured at the smallest ef_search of
    # the sweep that reaches it, since throughput at unequal recall compares unlike answers.
    match_recall: float | None = None


def run_pgvector(
    dataset: AnnDataset, truth: GroundTruth, selectivities: Sequence[Selectivity], top_k: int,
    options: PgvectorOptions, progress: Progress,
) -> BaselineResult:
    """Load, build HNSW, then time queries through psycopg, as SQL clients see pgvector."""
    from pgs3v.bench.pgvector_baseline import PgvectorBaseline, suggested_memory

    result = BaselineResult()
    rows, raw_bytes = len(dataset), len(dataset) * dataset.dimension * 4
    memory = suggested_memory(rows, dataset.dimension)
    name = dataset.name
    with PgvectorBaseline(dataset.dimension, dataset.metric, maintenance_work_mem=memory["maintenance_work_mem"],
                          shared_buffers=memory["shared_buffers"]) as baseline:
        load_s = baseline.load(dataset.vectors, dataset.bands,
                               lambda done, total: progress("pgvector load (COPY)", done, total))
        result.measurements.append(Measurement(name, PGVECTOR, "vectors_per_s", rows / load_s, "vectors/s"))
        build_s = baseline.build_index(lambda state: progress(f"pgvector HNSW build ({state.phase})",
                                                               state.tuples_done, max(state.tuples_total, 1)))
        result.measurements.append(Measurement(name, PGVECTOR, "build_s", build_s, "s"))
        result.notes["build_notices"] = list(baseline.build_notices)
        storage = baseline.storage()
        result.measurements.append(Measurement(name, PGVECTOR, "storage_bytes_per_vector", storage.total_bytes / rows,
                                               "bytes"))
        result.measurements.append(Measurement(name, PGVECTOR, "storage_per_raw", storage.total_bytes / raw_bytes,
                                               "ratio"))
        baseline.set_search(options.ef_search)
        plans = {}
        for selectivity in selectivities:
            label = workload_name(dataset, selectivity)
            durations, found = _timed(dataset, partial(_ask, baseline, top_k, selectivity), progress,
                                      f"pgvector queries (ef_search {options.ef_search}), {label}")
            result.measurements += latency_measurements(label, PGVECTOR, durations)
            result.measurements.append(Measurement(label, PGVECTOR, recall_metric(top_k),
                                                   truth.recall(selectivity, found, top_k), "ratio"))
            plans[label] = baseline.explain(dataset.queries[0], top_k, selectivity)
        result.notes["plans"] = plans
        result.measurements.append(Measurement(name, PGVECTOR, f"qps_{options.qps_clients}_clients",
                                               _throughput(baseline, dataset, top_k, options), "queries/s"))
        server = baseline.memory()
        result.measurements.append(Measurement(name, PGVECTOR, "memory_own_bytes", server.pss_bytes, "bytes"))
        result.measurements.append(Measurement(name, PGVECTOR, "memory_own_per_raw", server.pss_bytes / raw_bytes,
                                               "ratio"))
        for ef_search in options.ef_sweep:
            baseline.set_search(ef_search)
            durations, found = _timed(dataset, partial(_ask, baseline, top_k, None), progress,
                                      f"pgvector sweep, ef_search {ef_search}")
            p50 = float(np.percentile(np.asarray(durations, dtype=np.float64) / 1e6, 50))
            result.curve.append({"ef_search": ef_search, "recall": truth.recall(None, found, top_k), "p50_ms": p50})
        if options.match_recall is not None:
            matched = smallest_setting_reaching(result.curve, "ef_search", options.match_recall)
            progress(f"pgvector QPS at ef_search {matched}", 0, 1)
            qps = _throughput(baseline, dataset, top_k, replace(options, ef_search=matched))
            result.measurements.append(Measurement(name, PGVECTOR, f"qps_{options.qps_clients}_clients_matched_recall",
                                                   qps, "queries/s"))
            result.notes["matched_recall"] = {"target": options.match_recall, "ef_search": matched,
                                              "recall": next(p["recall"] for p in result.curve
                                                             if p["ef_search"] == matched)}
    return result



def _ask(baseline: Any, top_k: int, selectivity: Selectivity, vector: np.ndarray) -> list[int]:
    rows: list[int] = baseline.query(vector, top_k, selectivity)
    return rows


def _timed(
    dataset: AnnDataset, query: Callable[[np.ndarray], list[int]], progress: Progress, label: str
) -> tuple[list[int], list[list[int]]]:
    return timed_queries(dataset.queries, query, progress, label)


def _throughput(baseline: Any, dataset: AnnDataset, top_k: int, options: PgvectorOptions) -> float:
    # Each client its own session: a psycopg connection serves one query at a time.
    sessions = [baseline.session(options.ef_search) for _ in range(options.qps_clients)]
    try:
        def ask(client: int, vector: np.ndarray) -> object:
            return sessions[client].query(vector, top_k)
        return throughput(dataset.queries, ask, options.qps_clients, options.qps_seconds)
    finally:
        for session in sessions:
            session.close()
