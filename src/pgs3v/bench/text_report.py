"""The text benchmark's figures as markdown for docs/benchmarks.md: one table per size, pgs3v beside PostgreSQL."""

from __future__ import annotations

from pgs3v.bench.measurements import BenchResult
from pgs3v.bench.text_bench import HYBRID, INGEST, PGS3V, POSTGRES, POSTGRES_OR, TEXT, VECTOR, workload


def markdown_report(result: BenchResult) -> str:
    """A run's header (when, commit, machine, command) and a table per size."""
    machine = result.machine
    lines = [
        f"Run of {result.started_at} to {result.notes.get('finished_at', '?')}, commit "
        f"`{result.notes.get('commit') or 'unknown'}`; {machine.get('usable_cpus')} usable CPUs "
        f"({machine.get('cpu_model')}), {machine.get('memory_gb')} GB, Python {machine.get('python')}; "
        f"load average {machine.get('load_average')} at the start, {result.notes.get('load_average_after')} at "
        "the end.",
        "",
        f"    {result.command}",
        "",
    ]
    for label, size in result.notes["sizes"].items():
        lines += [f"#### {label} rows ({size['rows']:,} rows, {result.parameters['queries']:,} queries, "
                  f"top {result.parameters['top_k']}; the whole size took {size['seconds']:,.0f} s)", ""]
        lines += _size_table(result, size["rows"])
        lines.append("")
    return "\n".join(lines)


def _size_table(result: BenchResult, rows: int) -> list[str]:
    def value(kind: str, system: str, metric: str) -> float | None:
        try:
            return result.figure(workload(rows, kind), system, metric)
        except KeyError:
            return None

    def ratio(kind: str, metric: str) -> str:
        try:
            return f"{result.ratio(workload(rows, kind), metric, PGS3V, POSTGRES):.2f}×"
        except KeyError:
            return ""

    def number(figure: float | None, pattern: str) -> str:
        return "" if figure is None else pattern.format(figure)

    def row(name: str, kind: str, metric: str, pattern: str) -> str:
        cells = [number(value(kind, system, metric), pattern) for system in (PGS3V, POSTGRES)]
        return f"| {name} | {cells[0]} | {cells[1]} | {ratio(kind, metric)} |"

    def percentiles(kind: str, system: str) -> str:
        figures = [value(kind, system, metric) for metric in ("p50_ms", "p95_ms", "mean_ms")]
        return " / ".join(f"{figure:.2f}" for figure in figures if figure is not None)

    def latency(name: str, kind: str) -> str:
        ratios = f"{ratio(kind, 'p50_ms')} / {ratio(kind, 'p95_ms')}"
        return f"| {name} | {percentiles(kind, PGS3V)} | {percentiles(kind, POSTGRES)} | {ratios} |"

    qps_or = value(TEXT, POSTGRES_OR, "qps_1_client")
    overlap = value(TEXT, PGS3V, f"overlap_with_{POSTGRES}")
    overlap_or = value(TEXT, PGS3V, f"overlap_with_{POSTGRES_OR}")
    empty = [number(value(TEXT, system, "empty_answers"), "{:,.0f}") for system in (PGS3V, POSTGRES, POSTGRES_OR)]
    return [
        "| | pgs3v | PostgreSQL | pgs3v ÷ PostgreSQL |",
        "|---|---|---|---|",
        row("ingest without text search, s", INGEST, "without_text_s", "{:,.1f}"),
        row("ingest with the text searchable, s", INGEST, "with_text_s", "{:,.1f}"),
        row("**ingest cost of text indexing** (with ÷ without)", INGEST, "text_cost_ratio", "{:.2f}×"),
        row("text made searchable after the load, s", INGEST, "text_added_later_s", "{:,.1f}"),
        f"| vector index ready after the load, s (pgs3v: indexer settled; PostgreSQL: HNSW build) | "
        f"{number(value(INGEST, PGS3V, 'settled_after_s'), '{:,.1f}')} | "
        f"{number(value(INGEST, POSTGRES, 'hnsw_build_s'), '{:,.1f}')} | |",
        latency("**text-only**, p50 / p95 / mean ms", TEXT),
        row("text-only, queries/s (1 client)", TEXT, "qps_1_client", "{:,.0f}"),
        latency("**hybrid** (RRF), p50 / p95 / mean ms", HYBRID),
        row("hybrid, queries/s (1 client)", HYBRID, "qps_1_client", "{:,.0f}"),
        latency("vector-only (the hybrid's other list), p50 / p95 / mean ms", VECTOR),
        f"| text-only with the words OR'ed (PostgreSQL variant), p50 / p95 / mean ms | | "
        f"{percentiles(TEXT, POSTGRES_OR)} | |",
        f"| text-only with the words OR'ed, queries/s | | {number(qps_or, '{:,.0f}')} | |",
        f"| text-only queries with no result (pgs3v / AND / OR) | {empty[0]} | {empty[1]} / {empty[2]} | |",
        f"| overlap of pgs3v's top k with ts_rank's (AND / OR), informative | "
        f"{number(overlap, '{:.2f}')} / {number(overlap_or, '{:.2f}')} | | |",
    ]
