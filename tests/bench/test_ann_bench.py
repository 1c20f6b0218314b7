"""`pgs3v bench` end to end on a small synthetic set: every figure, baseline and file it promises."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pgs3v.bench.measurements import smallest_setting_reaching
from pgs3v.cli import main

ROWS, QUERIES = 3000, 40
NAME = "synthetic-32d"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str, Path]:  # type: ignore[type-arg]
    directory = tmp_path_factory.mktemp("ann-bench")
    output = directory / "ann.json"
    outcome = CliRunner().invoke(main, [
        "bench", "--vectors", str(ROWS), "--dimension", "32", "--queries", str(QUERIES), "--numpy-queries", "20",
        "--cache-dir", str(directory / "cache"), "--work-dir", str(directory), "--output-json", str(output),
        # Small segments get an IVF index too, so the approximate path is what is measured.
        "--limit", "index_ann_min_floats=16000", "--limit", "index_fold_rows=1000",
    ], catch_exceptions=False)
    assert outcome.exit_code == 0, outcome.output
    return json.loads(output.read_text()), outcome.output, directory


def _figure(document: dict, workload: str, system: str, metric: str) -> float:  # type: ignore[type-arg]
    for m in document["measurements"]:
        if (m["workload"], m["system"], m["metric"]) == (workload, system, metric):
            return float(m["value"])
    raise KeyError((workload, system, metric))


def test_every_system_reports_recall_and_latency_at_every_selectivity(run: tuple[dict, str, Path]) -> None:  # type: ignore[type-arg]
    document, _, _ = run
    workloads = [NAME, *(f"{NAME} filter {p}%" for p in ("50", "10", "1", "0.1", "0.01"))]
    for workload in workloads:
        for system in ("pgs3v", "pgs3v-http", "pgs3v-http-optimized", "numpy-exact", "pgvector-hnsw"):
            for metric in ("p50_ms", "p95_ms", "p99_ms"):
                assert _figure(document, workload, system, metric) > 0
            assert 0 <= _figure(document, workload, system, "recall_at_10") <= 1
        assert _figure(document, workload, "numpy-exact", "recall_at_10") == 1.0
        for system in ("pgs3v", "pgs3v-http", "pgs3v-http-optimized"):
            # k answers whenever k rows match, at every selectivity (0.01% of 3,000 leaves 0-1 rows).
            assert _figure(document, workload, system, "short_answers") == 0
            assert _figure(document, workload, system, "recall_at_10") >= 0.9


def test_the_run_measures_ingest_build_storage_memory_throughput_and_a_cold_query(
    run: tuple[dict, str, Path],  # type: ignore[type-arg]
) -> None:
    document, report, directory = run
    for metric in ("vectors_per_s", "build_s", "storage_bytes_per_vector", "memory_own_bytes", "qps_2_clients",
                   "cold_first_query_ms", "cold_start_s", "restarted_memory_own_bytes"):
        assert _figure(document, NAME, "pgs3v-http", metric) > 0
    for metric in ("vectors_per_s", "build_s", "storage_bytes_per_vector", "memory_own_bytes", "qps_2_clients",
                   "qps_2_clients_matched_recall"):
        assert _figure(document, NAME, "pgvector-hnsw", metric) > 0
    # pgvector's QPS is also taken at the smallest swept ef_search that reaches pgs3v's recall.
    matched = document["notes"][NAME]["pgvector"]["matched_recall"]
    assert matched["target"] == _figure(document, NAME, "pgs3v-http", "recall_at_10")
    assert matched["ef_search"] == smallest_setting_reaching(document["notes"]["curves"][NAME][
        "pgvector-hnsw via psycopg (ef_search)"], "ef_search", matched["target"])
    # And pgs3v's at the probes that give pgvector's default recall (a labelled variant).
    assert _figure(document, NAME, "pgs3v-http", "qps_2_clients_matched_recall") > 0
    ours = document["notes"][NAME]["pgs3v"]["matched_recall"]
    assert ours["target"] == _figure(document, NAME, "pgvector-hnsw", "recall_at_10")
    assert ours["probes"] == smallest_setting_reaching(document["notes"]["curves"][NAME][
        "pgs3v in-process (probes)"], "probes", ours["target"])
    # The full vectors are kept (the log's active file adds a copy at this tiny size).
    assert _figure(document, NAME, "pgs3v-http", "storage_per_raw") > 1.0
    # The headline figures come from the layout the indexer settled into by itself, after a
    # timeline of samples from the end of the load; the optimized layout is reported beside.
    notes = document["notes"][NAME]["pgs3v"]
    timeline = notes["settling"]
    assert timeline and timeline[-1]["settled"] and not any(p["settled"] for p in timeline[:-1])
    assert [p["seconds"] for p in timeline] == sorted(p["seconds"] for p in timeline)
    assert _figure(document, NAME, "pgs3v-http", "build_s") == timeline[-1]["seconds"]
    for engine in (notes["engine"], notes["engine_optimized"]):
        assert engine["vectors"] == ROWS and engine["unindexedRows"] == 0 and engine["settled"]
        assert [s["approximate"] for s in engine["segments"]] == [True]
    assert (directory / "ann-settling.png").read_bytes().startswith(b"\x89PNG")
    # The request path's split: the engine alone, the service call, HTTP.
    for workload in (NAME, f"{NAME} filter 50%"):
        assert _figure(document, workload, "pgs3v-service", "p50_ms") > 0
    curves = document["notes"]["curves"][NAME]
    assert len(curves["pgs3v in-process (probes)"]) >= 3 and len(curves["pgvector-hnsw via psycopg (ef_search)"]) == 4
    assert len(curves["pgs3v-http (defaults)"]) == 1
    assert (directory / "ann.png").read_bytes().startswith(b"\x89PNG")
    assert any(r["baseline"] == "numpy-exact" for r in document["ratios"])
    assert "recall" in report and "warning" not in report
    assert document["command"].startswith("pgs3v bench --vectors 3000 --dimension 32")
    assert not list(directory.glob("pgs3v-ann-bench-*"))  # the work directory is removed


def test_the_run_on_rows_generated_on_demand_stores_no_copy_and_labels_its_numpy_scan(
    tmp_path: Path,
) -> None:
    output = tmp_path / "generated.json"
    outcome = CliRunner().invoke(main, [
        "bench", "--vectors", str(ROWS), "--dimension", "32", "--queries", "20", "--numpy-queries", "10",
        "--generate-data", "--no-pgvector", "--no-cold",
        "--cache-dir", str(tmp_path / "cache"), "--work-dir", str(tmp_path), "--output-json", str(output),
        "--limit", "index_ann_min_floats=16000", "--limit", "index_fold_rows=1000",
    ], catch_exceptions=False)
    assert outcome.exit_code == 0, outcome.output
    document = json.loads(output.read_text())
    assert document["parameters"]["generate_data"] is True
    notes = document["notes"][NAME]
    assert notes["vectors_source"].startswith("generated on demand")
    assert notes["numpy_exact"]["mode"] == "blocks" and notes["numpy_exact"]["rows_scanned"] == ROWS
    assert any(c.startswith(f"numpy-exact on {NAME}: the rows are generated") for c in document["notes"]["caveats"])
    assert "note: numpy-exact on" in outcome.output and "warning" not in outcome.output
    assert document["notes"]["bench_process_peak_rss_bytes"] > 0
    for workload in (NAME, f"{NAME} filter 1%"):
        assert _figure(document, workload, "numpy-exact", "recall_at_10") == 1.0
        assert _figure(document, workload, "numpy-exact", "p50_ms") > 0
        assert _figure(document, workload, "pgs3v-http", "short_answers") == 0
    assert _figure(document, NAME, "pgs3v-http", "vectors_per_s") > 0
    assert notes["pgs3v"]["engine"]["vectors"] == ROWS
    # The cache holds the exact answers, never the rows.
    cached = [path.name for path in (tmp_path / "cache").rglob("*") if path.is_file()]
    assert cached and all(name.startswith("ground-truth-") for name in cached)


def test_the_matched_setting_is_the_smallest_that_reaches_the_recall() -> None:
    curve = [{"ef_search": 40, "recall": 0.9}, {"ef_search": 100, "recall": 0.96}, {"ef_search": 200, "recall": 0.99}]
    assert smallest_setting_reaching(curve, "ef_search", 0.95) == 100
    assert smallest_setting_reaching(curve, "ef_search", 0.9) == 40
    assert smallest_setting_reaching(curve, "ef_search", 0.999) == 200  # none reaches it: the largest swept


@pytest.mark.parametrize("storage", ["seaweedfs", "file"])
def test_the_run_on_shared_storage_measures_the_same_figures(tmp_path: Path, storage: str) -> None:
    output = tmp_path / "s3.json"
    outcome = CliRunner().invoke(main, [
        "bench", "--vectors", str(ROWS), "--dimension", "32", "--queries", "20", "--numpy-queries", "10",
        "--no-pgvector", "--storage", storage,
        "--cache-dir", str(tmp_path / "cache"), "--work-dir", str(tmp_path), "--output-json", str(output),
        "--limit", "index_ann_min_floats=16000", "--limit", "index_fold_rows=1000",
    ], catch_exceptions=False)
    assert outcome.exit_code == 0, outcome.output
    document = json.loads(output.read_text())
    assert document["parameters"]["storage"] == storage
    assert ("SeaweedFS" if storage == "seaweedfs" else "file://") in document["notes"]["storage"]
    for workload in (NAME, f"{NAME} filter 1%"):
        assert _figure(document, workload, "pgs3v-http", "recall_at_10") > 0.5
        assert _figure(document, workload, "pgs3v-http", "short_answers") == 0
    assert _figure(document, NAME, "pgs3v-http", "vectors_per_s") > 0
    assert _figure(document, NAME, "pgs3v-http", "cold_first_query_ms") > 0
    assert _figure(document, NAME, "pgs3v-http", "qps_2_clients_2_workers") > 0
    # Bytes counted in the bucket: every vector is stored (4 bytes x 32 dimensions at least).
    assert _figure(document, NAME, "pgs3v-http", "storage_bytes_per_vector") > 128
    assert document["notes"][NAME]["pgs3v"]["engine"]["vectors"] == ROWS
    assert not list(tmp_path.glob("pgs3v-ann-bench-*"))  # the work directory (SeaweedFS's data too) is removed
