"""``pgs3v bench`` at a tiny size against a real store, and the pieces it is built from."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import numpy as np
import pytest
from click.testing import CliRunner
from rich.console import Console

from pgs3v.bench import register
from pgs3v.bench.dataset import CATEGORY_COUNT, generate_dataset
from pgs3v.bench.exact_search import Answer, ExactSearch, max_distance_error, oracle_answers, recall
from pgs3v.bench.measurements import BenchResult, Measurement, latency_measurements, ratios_to, write_json
from pgs3v.bench.report import print_report, warnings
from pgs3v.bench.store_bench import (
    FILTERED,
    NUMPY,
    QUERY,
    STORE,
    STORE_WIRE,
    StoreBenchParameters,
    run_store_bench,
)

TINY = StoreBenchParameters(vectors=2000, dimension=16, queries=20, top_k=10, clients=2, seed=7)
LATENCY = ("p50_ms", "p95_ms", "p99_ms", "mean_ms", "calls")


@pytest.fixture(scope="module")
def tiny_document(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The JSON of one tiny run (2000 × 16, 20 queries) against a real store."""
    output = io.StringIO()
    result = run_store_bench(TINY, Console(file=output, width=100))
    print_report(result, Console(file=output, width=100), exact_systems=(STORE, NUMPY))
    path = write_json(result, tmp_path_factory.mktemp("bench") / "nested" / "store.json")
    yield json.loads(path.read_text(encoding="utf-8"))


def figures(document: dict[str, Any]) -> dict[tuple[str, str, str], float]:
    """(workload, system, metric) → value of every measurement in a results document."""
    return {(m["workload"], m["system"], m["metric"]): m["value"] for m in document["measurements"]}


def test_the_json_has_every_figure(tiny_document: dict[str, Any]) -> None:
    found = figures(tiny_document)
    expected = {
        ("startup", STORE, "ready_s"),
        ("ingest", STORE, "vectors_per_s"),
        ("ingest", STORE, "wall_s"),
        ("memory", STORE, "rss_mb_after_ingest"),
        ("memory", STORE, "rss_mb_after_queries"),
        *(("ingest", system, metric) for system in (STORE, STORE_WIRE) for metric in LATENCY),
        *(
            (workload, system, metric)
            for workload in (QUERY, FILTERED)
            for system in (STORE, NUMPY)
            for metric in (*LATENCY, "recall_at_10", "max_distance_error")
        ),
        *((workload, STORE_WIRE, metric) for workload in (QUERY, FILTERED) for metric in LATENCY),
    }
    assert expected <= set(found)
    assert all(np.isfinite(value) and value >= 0 for value in found.values())
    assert found[("ingest", STORE, "calls")] == 4  # 2000 vectors in batches of 500
    assert {found[(w, s, "calls")] for w in (QUERY, FILTERED) for s in (STORE, STORE_WIRE, NUMPY)} == {20}
    # The part of a call after botocore sent it cannot take longer than the whole call.
    assert found[("ingest", STORE_WIRE, "p50_ms")] <= found[("ingest", STORE, "p50_ms")]


def test_the_store_finds_exactly_the_true_neighbours(tiny_document: dict[str, Any]) -> None:
    found = figures(tiny_document)
    assert found[(QUERY, STORE, "recall_at_10")] == 1.0
    assert found[(FILTERED, STORE, "recall_at_10")] == 1.0
    assert found[(QUERY, STORE, "max_distance_error")] < 1e-6
    assert found[(FILTERED, STORE, "max_distance_error")] < 1e-6


def test_ratios_compare_the_store_with_numpy(tiny_document: dict[str, Any]) -> None:
    ratios = {(r["workload"], r["metric"], r["system"]): r for r in tiny_document["ratios"]}
    assert set(ratios) == {
        (w, m, s) for w in (QUERY, FILTERED) for m in ("p50_ms", "p95_ms", "p99_ms") for s in (STORE, STORE_WIRE)
    }
    found = figures(tiny_document)
    for (workload, metric, system), ratio in ratios.items():
        assert ratio["baseline"] == NUMPY
        assert ratio["value"] == pytest.approx(found[(workload, system, metric)] / found[(workload, NUMPY, metric)])


def test_the_json_says_how_and_where_it_ran(tiny_document: dict[str, Any]) -> None:
    assert tiny_document["command"].endswith(
        "pgs3v bench --vectors 2000 --dimension 16 --queries 20 --top-k 10 --clients 2 --seed 7"
    )
    assert tiny_document["parameters"]["vectors"] == 2000
    assert {"cpu_count", "python", "numpy"} <= set(tiny_document["machine"])
    assert set(tiny_document["systems"]) == {STORE, STORE_WIRE, NUMPY}
    notes = tiny_document["notes"]
    assert notes["server_exit_code"] in (0, -15)  # uvicorn re-raises SIGTERM after shutting down
    assert not Path(notes["data_dir"]).exists()  # removed without --keep-data
    assert 0.02 < notes["filter"]["selectivity"] < 0.1


def test_the_command_on_a_click_group_keeps_data_on_request(tmp_path: Path) -> None:
    @click.group()
    def main() -> None:
        """A stand-in for the pgs3v command group."""

    register(main)
    output = tmp_path / "out.json"
    arguments = ["bench", "--vectors", "600", "--dimension", "8", "--queries", "5", "--top-k", "5", "--keep-data",
                 "--output-json", str(output)]
    outcome = CliRunner().invoke(main, arguments)
    document = json.loads(output.read_text(encoding="utf-8")) if output.exists() else {}
    kept = Path(document.get("notes", {}).get("data_dir", tmp_path / "missing"))
    try:
        assert outcome.exit_code == 0, outcome.output
        assert figures(document)[(QUERY, STORE, "recall_at_5")] == 1.0
        assert kept.is_dir()
        assert "Figures written to" in outcome.output
    finally:
        shutil.rmtree(kept, ignore_errors=True)


def test_the_data_set_is_seeded_unit_length_and_filterable() -> None:
    first, again, other = (generate_dataset(500, 12, 7, seed) for seed in (3, 3, 4))
    assert np.array_equal(first.vectors, again.vectors) and np.array_equal(first.queries, again.queries)
    assert not np.array_equal(first.vectors, other.vectors)
    assert first.vectors.dtype == np.float32 and first.vectors.shape == (500, 12)
    assert np.allclose(np.linalg.norm(first.vectors, axis=1), 1.0, atol=1e-5)
    assert set(first.categories.tolist()) <= set(range(CATEGORY_COUNT))
    assert first.row_of(first.key(42)) == 42
    assert first.row_of("vec-500") == first.row_of("other") == first.row_of("vec-x") == -1
    assert set(first.metadata(0)) == {"category", "price"}


def test_numpy_baseline_agrees_with_the_float64_oracle() -> None:
    data = generate_dataset(3000, 24, 15, seed=1)
    search = ExactSearch(data.vectors, data.categories)
    plain = [search.query(q, 10) for q in data.queries]
    filtered = [search.query(q, 10, int(c)) for q, c in zip(data.queries, data.query_categories, strict=True)]
    truth = oracle_answers(data.vectors, data.queries, 10, data.categories, None)
    filtered_truth = oracle_answers(data.vectors, data.queries, 10, data.categories, data.query_categories)
    assert recall(plain, truth) == recall(filtered, filtered_truth) == 1.0
    assert max_distance_error(plain, truth) < 1e-5
    for answer, category in zip(filtered_truth, data.query_categories, strict=True):
        assert len(answer.rows) == 10 and all(data.categories[r] == category for r in answer.rows)
    # A brute-force float64 check of the oracle itself on the first query.
    unit = data.vectors.astype(np.float64) / np.linalg.norm(data.vectors.astype(np.float64), axis=1, keepdims=True)
    query = data.queries[0].astype(np.float64)
    distances = 1.0 - unit @ (query / np.linalg.norm(query))
    assert truth[0].rows == np.argsort(distances, kind="stable")[:10].tolist()


def test_recall_and_distance_error_score_answers_against_the_truth() -> None:
    truth = [Answer([1, 2], [0.1, 0.2]), Answer([], [])]
    assert recall([Answer([2, 9], [0.2, 0.5]), Answer([], [])], truth) == pytest.approx(0.75)
    assert recall([Answer([1, 2], [0.1, 0.2]), Answer([5], [0.3])], truth) == pytest.approx(0.5)
    assert max_distance_error([Answer([2, 9], [0.25, 0.0]), Answer([], [])], truth) == pytest.approx(0.05)


def test_latency_figures_and_ratios() -> None:
    store = latency_measurements(QUERY, STORE, [int(ms * 1e6) for ms in range(1, 101)])
    values = {m.metric: m.value for m in store}
    assert values["p50_ms"] == pytest.approx(50.5) and values["p99_ms"] == pytest.approx(99.01)
    assert values["calls"] == 100
    baseline = [Measurement(QUERY, NUMPY, "p50_ms", 5.05, "ms"), Measurement("ingest", NUMPY, "p50_ms", 1.0, "ms")]
    ratios = ratios_to(NUMPY, [*store, *baseline])
    assert [(r.workload, r.metric, r.system, r.baseline) for r in ratios] == [(QUERY, "p50_ms", STORE, NUMPY)]
    assert ratios[0].value == pytest.approx(10)
    with pytest.raises(ValueError):
        latency_measurements(QUERY, STORE, [])


def test_warnings_flag_an_exact_system_below_full_recall_and_a_bad_exit() -> None:
    result = BenchResult("store", "pgs3v bench", "now", {}, {}, {})
    result.measurements = [Measurement(QUERY, STORE, "recall_at_10", 0.99, "fraction"),
                           Measurement(QUERY, "ann", "recall_at_10", 0.9, "fraction")]
    result.notes["server_exit_code"] = -15
    assert warnings(result, exact_systems=(STORE,)) == [
        "store on query: recall_at_10 = 0.9900, below exact (1.0)"
    ]
    result.notes["server_exit_code"] = 1
    assert len(warnings(result)) == 1
    with pytest.raises(KeyError):
        result.figure(QUERY, NUMPY, "p50_ms")
