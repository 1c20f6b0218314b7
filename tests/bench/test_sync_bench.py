"""``pgs3v bench sync`` at a tiny size: every figure is there and the probes saw their changes.

Timings are never asserted: this machine is shared, and the benchmark is what measures them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pgs3v.cli import main
from pgs3v.stack.postgres import missing_packages


def test_bench_sync_reports_backfill_and_lag(tmp_path: Path) -> None:
    if missing_packages():
        pytest.skip("PostgreSQL 15 packages missing")
    output = tmp_path / "sync.json"
    result = CliRunner().invoke(main, ["bench", "sync", "--rows", "600", "--dimension", "8", "--rate", "200",
                                       "--seconds", "3", "--rows-per-transaction", "20", "--output-json",
                                       str(output)], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    document = json.loads(output.read_text())
    figures = {(m["workload"], m["metric"]): m["value"] for m in document["measurements"]}
    assert figures[("backfill", "rows_per_s")] > 0
    lag = "lag at 200 changed rows/s"
    assert 0 < figures[(lag, "p50_ms")] <= figures[(lag, "p99_ms")] <= figures[(lag, "max_ms")]
    assert figures[(lag, "changed_rows_per_s")] > 0
    notes = document["notes"]
    assert notes["backfill"]["rows"] == 600 and notes["backfill"]["vectors_put"] == 600
    assert notes["lag"]["probes"] >= 5
    assert document["command"].startswith("pgs3v bench sync --rows 600")
