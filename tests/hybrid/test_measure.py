"""The measurement on the loaded catalog (a few queries), its report, its command and its oracle."""

from __future__ import annotations

import io
import json
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner
from rich.console import Console

from pgs3v.hybrid.ground_truth import ExactAnswer, ExactSearch, recall_at_k
from pgs3v.hybrid.measure import Settings, markdown, measure, print_report, register, write_json
from pgs3v.hybrid.patterns import PostFilter, applies
from pgs3v.hybrid.predicates import PREDICATES
from tests.hybrid.conftest import Catalog, Connection


def test_measure_reports_every_pattern_at_every_predicate(db: Connection, catalog: Catalog, tmp_path: Path) -> None:
    settings = Settings(k=10, repeats=2, overfetch=(1, 10), page_sizes=(100,), queries=3,
                        filter_sizes=(1_000, 1_000_000))
    report = measure(db, catalog.where, settings)
    expected = [(p.name, pattern.label) for p in PREDICATES for pattern in settings.patterns() if applies(pattern, p)]
    assert [(c.predicate, c.pattern) for c in report.cells] == expected
    assert len(expected) == 5 + 5 + 6  # a x1, a x10, b, c 100/page, + b set form and/or c + metadata filter
    for cell in report.cells:
        assert 0.0 <= cell.recall <= 1.0 and 0 < cell.p50_ms <= cell.p95_ms
        if cell.pattern.startswith(("b:", "c:")):
            assert (cell.recall, cell.complete, cell.mean_rows) == (1.0, 1.0, 10.0), cell
        if cell.pattern.startswith(("a:", "b:")):
            assert cell.invocations == 1.0, cell
    post_filter = {c.predicate: c.recall for c in report.cells if c.pattern == PostFilter(10).label}
    assert post_filter["under-50"] > post_filter["acme-bestseller"]  # recall falls with selectivity
    assert report.filter_bytes["under-50"] > report.filter_bytes["acme-bestseller"] > 0
    small, large = report.filter_sizes
    assert (small.ids, small.error) == (1_000, None) and small.p50_ms is not None
    # A million ids are more than Lambda's 6 MB request: refused by the function host, as by Lambda.
    assert large.p50_ms is None and large.request_bytes > 6_291_456
    assert large.error is not None and large.error.startswith("54000: ") and "RequestTooLarge" in large.error

    output = io.StringIO()
    print_report(report, Console(file=output, width=200))
    assert "acme-bestseller" in output.getvalue() and "$in filter sizes" in output.getvalue()
    table = markdown(report).splitlines()
    assert len(table) == 2 + 2 + len(report.cells) + 3 + 2 and table[4].startswith("| under-50 (50.1%) |")
    assert table[0].startswith("`query_vectors(top_k => 10)` alone") and report.baseline_p50_ms > 0
    assert table[-1].startswith("| 1,000,000 | ") and "refused: SQLSTATE 54000, RequestTooLargeException" in table[-1]
    write_json(report, tmp_path / "hybrid.json")
    document = json.loads((tmp_path / "hybrid.json").read_text())
    assert document["settings"]["overfetch"] == [1, 10] and len(document["cells"]) == len(report.cells)


def test_the_command_registers_and_checks_its_options() -> None:
    @click.group()
    def bench() -> None:
        """A stand-in for pgs3v bench."""

    register(bench)
    runner = CliRunner()
    result = runner.invoke(bench, ["hybrid", "--help"])
    assert result.exit_code == 0 and "--overfetch" in result.output
    for arguments, message in ((["--overfetch", "1,20"], "above the topK limit of 100"),
                               (["--page-sizes", "0"], "expected positive integers"),
                               (["--overfetch", "a"], "expected comma-separated integers")):
        result = runner.invoke(bench, ["hybrid", *arguments])
        assert result.exit_code == 2 and message in result.output, result.output


def test_recall_counts_ties_and_handles_few_matches() -> None:
    vectors = np.array([[1, 0], [1, 0], [0.9, 0.1], [0, 1]], dtype=np.float32)
    search = ExactSearch(["a", "b", "c", "d"], vectors)
    query = np.array([1, 0], dtype=np.float32)
    exact = search.top_k(query, ["a", "b", "c", "d"], 1)
    assert exact.keys == ["a"] and exact.distances == [0.0]
    # "b" ties with "a": either is the right answer at k = 1.
    assert recall_at_k(["b"], exact, {"a", "b", "c", "d"}, search, query, 1) == 1.0
    two = search.top_k(query, ["a", "b", "c", "d"], 3)
    assert recall_at_k(["a", "d"], two, {"a", "b", "c", "d"}, search, query, 3) == 1 / 3
    # A row that does not pass the predicate never counts, however near.
    only_c = search.top_k(query, ["c"], 3)
    assert recall_at_k(["a"], only_c, {"c"}, search, query, 3) == 0.0
    assert recall_at_k(["c"], only_c, {"c"}, search, query, 3) == 1.0
    assert recall_at_k([], ExactAnswer([], []), set(), search, query, 3) == 1.0


def test_the_command_runs_on_a_throwaway_stack(tmp_path: Path) -> None:
    from pgs3v.stack.postgres import missing_packages

    if missing_packages():
        pytest.skip(f"PostgreSQL packages missing: {', '.join(missing_packages())}")

    @click.group()
    def bench() -> None:
        """A stand-in for pgs3v bench."""

    register(bench)
    output = tmp_path / "hybrid.json"
    result = CliRunner().invoke(bench, [
        "hybrid", "--queries", "1", "--repeats", "1", "--overfetch", "10", "--page-sizes", "100",
        "--filter-sizes", "", "--output-json", str(output), "--markdown",
    ])
    assert result.exit_code == 0, result.output
    assert "| acme-bestseller (1.1%) | c: paged, 100/page + metadata filter | 1.000 | 100% |" in result.output
    document = json.loads(output.read_text())
    assert document["products"] == 5202 and document["queries"] == 1 and document["filter_sizes"] == []
    for cell in document["cells"]:
        assert cell["recall"] == 1.0 or cell["pattern"].startswith("a:")
