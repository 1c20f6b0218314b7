"""``pgs3v bench``: pgs3v's ANN engine against exact numpy search and pgvector HNSW, in one run.

For each data set: load it (read from the cache, generated there first if missing, or, above
8 GB of synthetic rows, generated on demand and never stored), compute or load its exact
answers, then measure pgs3v (:mod:`pgs3v.bench.ann_store_run`), exact numpy search and pgvector
(:mod:`pgs3v.bench.ann_baselines`) on the same vectors and queries, one after the other, so the
machine's state is comparable. Results are one flat list of figures (JSON), ratios to numpy, a
table, and a recall/latency plot (PNG).
"""

from __future__ import annotations

import resource
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pgs3v.bench.ann_baselines import NUMPY, PGVECTOR, PgvectorOptions, run_numpy, run_pgvector
from pgs3v.bench.ann_data import SELECTIVITIES, AnnDataset, Cache, load_dataset, load_ground_truth
from pgs3v.bench.ann_data.generated import GeneratedMatrix
from pgs3v.bench.ann_plot import plot_recall_latency, plot_settling
from pgs3v.bench.ann_store_run import (
    HTTP,
    HTTP_OPTIMIZED,
    IN_PROCESS,
    SERVICE,
    BenchBucket,
    Selectivity,
    StoreRunOptions,
    StoreRunResult,
    labelled,
    run_store,
    throughput_with_settings,
)
from pgs3v.bench.machine import machine_info
from pgs3v.bench.measurements import BenchResult, Measurement, ratios_to, smallest_setting_reaching
from pgs3v.stack.seaweedfs import SeaweedFS

SYSTEMS = {
    IN_PROCESS: "pgs3v's engine called in the benchmark process (segments + tail, default knobs)",
    HTTP: "pgs3v store serve, QueryVectors over HTTP with a kept-alive connection (SigV4, JSON), in the layout "
          "the indexer settled into by itself after the load (no optimize call)",
    HTTP_OPTIMIZED: "the same server and data after a Pgs3vOptimizeIndex call",
    SERVICE: "the store's service call in the benchmark process (validation against the model, the operation, "
             "the response document; no HTTP, no SigV4, no thread hop): with pgs3v and pgs3v-http, the split "
             "of the request path",
    NUMPY: "exact search with numpy (the store's exact scan: one matrix-vector product, a float64 re-rank of a "
           "small pool), one query at a time, numpy's default BLAS threads; on rows generated on demand, the "
           "same scan on 2 GB blocks of rows, its time summed over the blocks (notes: numpy_exact)",
    PGVECTOR: "pgvector 0.8.2 HNSW (m 16, ef_construction 64, iterative scan relaxed_order) in PostgreSQL 18, "
              "queried through psycopg",
}


_BUCKET = "pgs3v-bench"


@dataclass(frozen=True)
class AnnBenchParameters:
    """What the run covers."""

    datasets: tuple[str, ...] = ("synthetic",)
    vectors: int = 1_000_000
    dimension: int = 768
    queries: int = 1000
    numpy_queries: int = 200
    top_k: int = 10
    seed: int = 0
    pgvector: bool = True
    cold: bool = True
    keep_data: bool = False
    work_dir: Path | None = None
    cache_dir: Path | None = None
    limits: tuple[tuple[str, int], ...] = ()
    # "local": the store's data directory; "seaweedfs": a bucket on a SeaweedFS server the run
    # starts; "file": objects in a local directory (file://), the layout several processes share.
    storage: str = "local"
    # Synthetic rows generated on demand (True), cached in a .npy (False), or by size (None: above 8 GB).
    generate_data: bool | None = None


def run_ann_bench(parameters: AnnBenchParameters, console: Console, command: str) -> BenchResult:
    """Run every data set; the figures of all of them in one result."""
    result = BenchResult(
        benchmark="ann", command=command, started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        parameters={k: (str(v) if isinstance(v, Path) else v) for k, v in parameters.__dict__.items()},
        machine=machine_info(), systems=dict(SYSTEMS),
    )
    selectivities: tuple[Selectivity, ...] = (None, *SELECTIVITIES)
    cache = Cache(parameters.cache_dir) if parameters.cache_dir else Cache.default()
    work = Path(tempfile.mkdtemp(prefix="pgs3v-ann-bench-", dir=parameters.work_dir))
    curves: dict[str, dict[str, list[dict[str, float]]]] = {}
    seaweedfs = None
    try:
        if parameters.storage == "seaweedfs":
            seaweedfs = SeaweedFS(work / "seaweedfs").start()
            seaweedfs.create_bucket(_BUCKET)
            result.notes["storage"] = f"SeaweedFS {seaweedfs.endpoint}, bucket {_BUCKET} (weed server -s3)"
        elif parameters.storage == "file":
            result.notes["storage"] = f"objects in {work / 'objects'} (file://), hard-linked into each server's cache"
        with _progress(console) as bar:
            task = bar.add_task("starting", total=None)

            def progress(label: str, done: int, total: int) -> None:
                bar.update(task, description=label, completed=done, total=total)

            for name in parameters.datasets:
                dataset = load_dataset(name, vectors=parameters.vectors, dimension=parameters.dimension,
                                       queries=parameters.queries, seed=parameters.seed, cache=cache,
                                       progress=labelled(progress, f"{name}: preparing"),
                                       generate=parameters.generate_data)
                truth = load_ground_truth(
                    dataset, k=max(parameters.top_k, 10), cache=cache,
                    progress=labelled(progress, f"{name}: exact answers"))
                notes: dict[str, Any] = {"vectors": len(dataset), "dimension": dataset.dimension,
                                         "metric": dataset.metric, "vectors_source": _source(dataset),
                                         "matching_rows": {str(k): v for k, v in truth.matching_rows.items()}}
                bucket = _bucket(parameters.storage, seaweedfs, work, name)
                store_options = StoreRunOptions(
                    data_dir=work / name / "store", top_k=parameters.top_k, selectivities=selectivities,
                    cold=parameters.cold, limits=parameters.limits, bucket=bucket)
                store = run_store(dataset, truth, store_options, progress)
                result.measurements += store.measurements
                notes["pgs3v"] = store.notes
                panel = {f"{IN_PROCESS} in-process (probes)": store.curve,
                         f"{HTTP} (defaults)": [_point(store.measurements, dataset.name, HTTP, parameters.top_k)]}
                exact = run_numpy(dataset, truth, selectivities, parameters.top_k, parameters.numpy_queries, progress)
                result.measurements += exact.measurements
                notes["numpy_exact"] = exact.notes
                if "note" in exact.notes:
                    result.notes.setdefault("caveats", []).append(f"{NUMPY} on {dataset.name}: {exact.notes['note']}")
                numpy_p50 = next(m.value for m in exact.measurements
                                 if m.workload == dataset.name and m.metric == "p50_ms")
                panel[NUMPY] = [{"recall": 1.0, "p50_ms": numpy_p50}]
                if parameters.pgvector:
                    options = PgvectorOptions(match_recall=_http_recall(store.measurements, dataset.name,
                                                                        parameters.top_k))
                    vector_db = run_pgvector(dataset, truth, selectivities, parameters.top_k, options, progress)
                    result.measurements += vector_db.measurements
                    notes["pgvector"] = vector_db.notes
                    _store_at_pgvector_recall(dataset, store_options, store, vector_db.measurements, parameters.top_k,
                                              result.measurements, progress)
                    panel[f"{PGVECTOR} via psycopg (ef_search)"] = vector_db.curve
                curves[dataset.name] = panel
                result.notes[dataset.name] = notes
                del dataset
        result.ratios = ratios_to(NUMPY, result.measurements)
        # This process's own peak (ingest client, exact answers, numpy baseline), apart from the servers.
        result.notes["bench_process_peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        result.notes["curves"] = curves
        result.notes["work_dir"] = str(work)
    finally:
        if seaweedfs is not None:
            seaweedfs.stop()
        if not parameters.keep_data:
            shutil.rmtree(work, ignore_errors=True)
    return result


def _source(dataset: AnnDataset) -> str:
    if isinstance(dataset.vectors, GeneratedMatrix):
        return (f"generated on demand in chunks of {dataset.vectors.chunk_rows:,} rows (no copy on disk; "
                f"{dataset.vectors.identity})")
    if isinstance(dataset.vectors, np.memmap):
        return f"memory-mapped cache file {dataset.vectors.filename}"
    return "in memory"


def _point(measurements: list[Measurement], workload: str, system: str, top_k: int) -> dict[str, float]:
    found = {m.metric: m.value for m in measurements if (m.workload, m.system) == (workload, system)}
    return {"recall": found[f"recall_at_{top_k}"], "p50_ms": found["p50_ms"]}


def write_plot(result: BenchResult, path: Path) -> Path:
    """The recall/latency PNG of a finished run, and beside it (``-settling.png``) the timeline after the load."""
    timelines = {name: notes["pgs3v"]["settling"] for name, notes in result.notes.items()
                 if isinstance(notes, dict) and "settling" in notes.get("pgs3v", {})}
    plot_settling(timelines, path.with_name(f"{path.stem}-settling.png"))
    return plot_recall_latency(result.notes["curves"], path)


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True)


def _bucket(storage: str, seaweedfs: SeaweedFS | None, work: Path, name: str) -> BenchBucket | None:
    """Where the store keeps ``name``'s data: None for its data directory."""
    if storage == "file":
        return BenchBucket((work / "objects" / name).as_uri())
    if seaweedfs is None:
        return None
    return BenchBucket(f"s3://{_BUCKET}/{name}", seaweedfs.endpoint,
                       {"AWS_ACCESS_KEY_ID": seaweedfs.credentials.access_key_id,
                        "AWS_SECRET_ACCESS_KEY": seaweedfs.credentials.secret_access_key})


def _http_recall(measurements: list[Measurement], workload: str, top_k: int) -> float | None:
    """pgs3v's unfiltered recall over HTTP in this run (what pgvector's QPS is also matched to)."""
    return next((m.value for m in measurements
                 if m.workload == workload and m.system == HTTP and m.metric == f"recall_at_{top_k}"), None)


def _store_at_pgvector_recall(dataset: AnnDataset, options: StoreRunOptions, store: StoreRunResult,
                              baseline: list[Measurement], top_k: int, into: list[Measurement],
                              progress: Callable[[str, int, int], None]) -> None:
    """pgs3v's QPS with the probes (``query_probes``) that give pgvector's default recall, labelled as such."""
    target = next((m.value for m in baseline
                   if m.workload == dataset.name and m.system == PGVECTOR and m.metric == f"recall_at_{top_k}"), None)
    if target is None or not store.curve:
        return
    probes = smallest_setting_reaching(store.curve, "probes", target)
    # One process, as the headline QPS; on shared storage also the server of 2 workers.
    for workers in (1, 2) if options.bucket is not None else (1,):
        qps = throughput_with_settings(dataset, options, (("query_probes", probes),), progress, workers)
        shape = "" if workers == 1 else f"_{workers}_workers"
        into.append(Measurement(dataset.name, HTTP, f"qps_{options.qps_clients}_clients{shape}_matched_recall", qps,
                                "queries/s"))
    store.notes["matched_recall"] = {"target": target, "probes": probes,
                                     "recall": next(p["recall"] for p in store.curve if p["probes"] == probes)}
