"""Benchmark results as rich tables, one row per system and workload."""

from __future__ import annotations

import signal
from collections.abc import Collection

from rich import box
from rich.console import Console
from rich.table import Table

from pgs3v.bench.measurements import BenchResult, Measurement

# (metric, header, format) of the main table's columns; other figures go to a second table.
_COLUMNS = (
    ("vectors_per_s", "vectors\n/s", "{:,.0f}"),
    ("p50_ms", "p50\nms", "{:.2f}"),
    ("p95_ms", "p95\nms", "{:.2f}"),
    ("p99_ms", "p99\nms", "{:.2f}"),
    ("recall_at_", "recall\n@{k}", "{:.4f}"),
    ("added_p50_ms", "p50 added\nms", "{:+.2f}"),
    ("same_keys_", "same\nkeys", "{:.4f}"),
)
# Only the median's ratio fits the table; every ratio is in the JSON.
_RATIO_METRIC = "p50_ms"
_HIDDEN = frozenset({"mean_ms", "calls"})  # in the JSON; they would only widen the table


def print_report(result: BenchResult, console: Console, exact_systems: Collection[str] = ()) -> None:
    """Print the figures, the ratios to the baseline and any warning about the run."""
    console.print(figures_table(result))
    others = other_figures_table(result)
    if others.row_count:
        console.print(others)
    for caveat in result.notes.get("caveats", []):
        console.print(f"[bold]note:[/] {caveat}")
    for warning in warnings(result, exact_systems):
        console.print(f"[bold red]warning:[/] {warning}")


def figures_table(result: BenchResult) -> Table:
    """Throughput, latency percentiles, recall and ratios to the baseline, per system and workload."""
    top_k = result.parameters.get("top_k", "k")
    baseline = next(iter(r.baseline for r in result.ratios), None)
    table = Table(title=result.command, box=box.SIMPLE_HEAD)
    table.add_column("workload", no_wrap=True)
    table.add_column("system", no_wrap=True)
    # Only the columns some figure fills: each benchmark measures its own set.
    columns = [c for c in _COLUMNS if any(_column_of(m) == c[0] for m in result.measurements)]
    for _, header, _ in columns:
        table.add_column(header.format(k=top_k), justify="right", no_wrap=True)
    ratio_metrics = [m for m in (_RATIO_METRIC,) if any(r.metric == m for r in result.ratios)]
    for metric in ratio_metrics:
        table.add_column(f"{metric.removesuffix('_ms')} ÷\n{baseline}", justify="right", no_wrap=True)
    for workload, system in _row_keys(result.measurements):
        if not any(_column_of(m) is not None for m in _of(result, workload, system)):
            continue
        cells = [workload, system]
        for prefix, _, pattern in columns:
            value = next((m.value for m in _of(result, workload, system) if _column_of(m) == prefix), None)
            cells.append("" if value is None else pattern.format(value))
        for metric in ratio_metrics:
            ratio = _ratio(result, workload, system, metric)
            cells.append("" if ratio is None else f"{ratio:.2f}×")
        table.add_row(*cells)
    return table


def other_figures_table(result: BenchResult) -> Table:
    """Figures the main table has no column for (start-up time, memory)."""
    table = Table(title="Other figures", box=box.SIMPLE_HEAD)
    for header in ("workload", "system", "metric", "value"):
        table.add_column(header, justify="right" if header == "value" else "left")
    for m in result.measurements:
        if _column_of(m) is None and m.metric not in _HIDDEN:
            table.add_row(m.workload, m.system, m.metric, f"{m.value:,.4g} {m.unit}")
    return table


def warnings(result: BenchResult, exact_systems: Collection[str] = ()) -> list[str]:
    """What makes the figures suspect: an exact system below full recall, an unclean server exit."""
    found = []
    for m in result.measurements:
        if m.system in exact_systems and m.metric.startswith("recall_at_") and m.value < 1.0:
            found.append(f"{m.system} on {m.workload}: {m.metric} = {m.value:.4f}, below exact (1.0)")
    # uvicorn re-raises SIGTERM once it has shut down, so death by that signal is a normal stop.
    for note, server in (("server_exit_code", "the store"), ("function_host_exit_code", "the function host")):
        exit_code = result.notes.get(note)
        if exit_code not in (None, 0, -signal.SIGTERM):
            found.append(f"{server} exited with code {exit_code} when asked to stop (SIGTERM)")
    return found


def _column_of(measurement: Measurement) -> str | None:
    for prefix, _, _ in _COLUMNS:
        if measurement.metric.startswith(prefix):
            return prefix
    return None


def _ratio(result: BenchResult, workload: str, system: str, metric: str) -> float | None:
    wanted = (workload, system, metric)
    return next((r.value for r in result.ratios if (r.workload, r.system, r.metric) == wanted), None)


def _of(result: BenchResult, workload: str, system: str) -> list[Measurement]:
    return [m for m in result.measurements if (m.workload, m.system) == (workload, system)]


def _row_keys(measurements: list[Measurement]) -> list[tuple[str, str]]:
    return list(dict.fromkeys((m.workload, m.system) for m in measurements))
