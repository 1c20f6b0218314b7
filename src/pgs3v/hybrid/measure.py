"""Recall and latency of the three hybrid query patterns on the sample catalog, in one run.

Starts a throwaway stack (PostgreSQL 15 + the store + the function host, see
:func:`pgs3v.stack.startup.running_stack`), loads the sample catalog into tables and, through the SQL
functions, into an index; then runs every pattern for every demo query at each predicate's
selectivity and compares the rows with the exact answer computed in numpy over the rows that
pass the predicate. Run it with ``python -m pgs3v.hybrid.measure`` (or ``pgs3v bench hybrid``
where :func:`register` wired it in).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import click
import numpy as np
import numpy.typing as npt
import psycopg
from psycopg import sql
from rich.console import Console
from rich.table import Table

from pgs3v.bench.machine import machine_info
from pgs3v.hybrid.catalog_tables import CatalogIndex, Connection, load_catalog
from pgs3v.hybrid.ground_truth import ExactSearch, recall_at_k
from pgs3v.hybrid.patterns import Paged, Pattern, PostFilter, PushDown, applies, run_pattern
from pgs3v.hybrid.predicates import PREDICATES, Predicate
from pgs3v.sample_data.catalog import load_demo_queries, load_product_embeddings, load_products

CATALOG = CatalogIndex("hybrid-catalog", "products")
DATABASE = "pgs3v_hybrid"

# QueryVectors calls made by the statement: every one goes through s3vectors._invoke.
_INVOCATIONS = "SELECT coalesce(sum(calls), 0) FROM pg_stat_xact_user_functions WHERE funcname = '_invoke'"


@dataclass(frozen=True)
class Settings:
    """What to measure."""

    k: int = 10
    repeats: int = 5
    overfetch: tuple[int, ...] = (1, 3, 10)
    page_sizes: tuple[int, ...] = (20, 100)
    max_depth: int = 10_000
    queries: int | None = None  # the first N demo queries; None: all
    filter_sizes: tuple[int, ...] = (1_000, 10_000, 100_000, 500_000, 1_000_000)

    def patterns(self) -> list[Pattern]:
        """Every pattern configuration, in report order (some apply to some predicates only)."""
        return [*(PostFilter(f) for f in self.overfetch), PushDown(), PushDown(set_form=True),
                *(Paged(size, self.max_depth) for size in self.page_sizes),
                Paged(max(self.page_sizes), self.max_depth, metadata_filter=True)]


@dataclass(frozen=True)
class Cell:
    """One pattern at one predicate, over every query: recall, completeness, cost and latency."""

    pattern: str
    predicate: str
    selectivity: float
    recall: float          # mean recall@k against numpy's exact answer
    complete: float        # share of queries answered with k rows (every one had k matches)
    mean_rows: float
    invocations: float     # mean QueryVectors calls per statement
    p50_ms: float
    p95_ms: float


@dataclass(frozen=True)
class FilterSize:
    """Pattern (b)'s cost at one size of ``$in`` list: a QueryVectors call filtered on ``ids`` ids."""

    ids: int
    request_bytes: int     # the $in array as JSON
    p50_ms: float | None   # None when the call failed
    error: str | None      # the SQL error (SQLSTATE and message) when it failed


@dataclass
class Report:
    """Every cell, with what was measured and on what."""

    settings: Settings
    products: int
    queries: int
    load_seconds: float = 0.0
    baseline_p50_ms: float = 0.0  # query_vectors(top_k => k) alone, no predicate: one call through SQL
    machine: dict[str, Any] = field(default_factory=dict)
    filter_bytes: dict[str, int] = field(default_factory=dict)  # predicate -> size of its $in array
    cells: list[Cell] = field(default_factory=list)
    filter_sizes: list[FilterSize] = field(default_factory=list)


@dataclass(frozen=True)
class _Allowed:
    """The rows that pass a predicate."""

    predicate: Predicate
    skus: list[str]
    filter_bytes: int


def allowed_rows(conn: Connection, predicate: Predicate) -> _Allowed:
    """Which products pass the predicate (evaluated by PostgreSQL), and the size of their ids as JSON."""
    skus = [str(r[0]) for r in conn.execute(
        sql.SQL("SELECT p.sku FROM products AS p WHERE {} ORDER BY p.product_id").format(predicate.sql()))]
    row = conn.execute(sql.SQL("SELECT coalesce(octet_length(jsonb_agg(p.product_id)::text), 0) "
                               "FROM products AS p WHERE {}").format(predicate.sql())).fetchone()
    return _Allowed(predicate, skus, int(row[0]) if row else 0)


@contextmanager
def _counting(conn: Connection) -> Iterator[list[int]]:
    """Count the QueryVectors calls of the statements run inside (one transaction); yields [count]."""
    counted = [0]
    with conn.transaction():
        before = conn.execute(_INVOCATIONS).fetchone()
        yield counted
        after = conn.execute(_INVOCATIONS).fetchone()
    counted[0] = int(after[0] if after else 0) - int(before[0] if before else 0)


def measure(conn: Connection, where: CatalogIndex, settings: Settings, console: Console | None = None) -> Report:
    """Run every pattern for every query at every predicate against a loaded catalog (as a superuser)."""
    products = load_products()
    search = ExactSearch([p.sku for p in products], load_product_embeddings())
    queries = load_demo_queries()[: settings.queries]
    conn.execute("SET track_functions = 'all'")  # superuser: counts calls of s3vectors._invoke
    report = Report(settings, len(products), len(queries), machine=machine_info())
    report.baseline_p50_ms = _baseline(conn, where, settings, queries)
    for predicate in PREDICATES:
        allowed = allowed_rows(conn, predicate)
        report.filter_bytes[predicate.name] = allowed.filter_bytes
        allowed_set = set(allowed.skus)
        for pattern in (p for p in settings.patterns() if applies(p, predicate)):
            if console is not None:
                console.log(f"{predicate.name}: {pattern.label}")
            report.cells.append(_cell(conn, where, settings, pattern, predicate, queries, search, allowed_set,
                                      len(products)))
    if console is not None and settings.filter_sizes:
        console.log("pattern (b): filter sizes")
    report.filter_sizes = measure_filter_sizes(conn, where, settings, queries[0][1])
    return report


_BASELINE = "SELECT q.key, q.distance FROM s3vectors.query_vectors(%s, %s, %s::real[], top_k => %s) AS q"


def _baseline(conn: Connection, where: CatalogIndex, settings: Settings,
              queries: Sequence[tuple[str, npt.NDArray[np.float32]]]) -> float:
    """p50 of a plain ``query_vectors`` call for k rows, no predicate: the unit every pattern pays."""
    durations = []
    for _, vector in [queries[0], *queries]:  # the first run warms up
        for _ in range(settings.repeats):
            started = time.perf_counter()
            conn.execute(_BASELINE, (where.bucket, where.index, vector.tolist(), settings.k)).fetchall()
            durations.append((time.perf_counter() - started) * 1000)
    return float(np.percentile(durations[settings.repeats:], 50))


# Pattern (b) with a synthetic $in list of ids 1..n (the catalog's ids are 1..5202; the rest match
# nothing): what the filter's size alone costs, and where Lambda's 6 MB request limit stops it.
_SIZED_FILTER = """
SELECT q.key, q.distance
FROM s3vectors.query_vectors(%(bucket)s, %(index)s, %(vector)s::real[], top_k => %(k)s,
    filter => jsonb_build_object('product_id', jsonb_build_object('$in',
        (SELECT jsonb_agg(i) FROM generate_series(1, %(ids)s) AS i)))) AS q
"""


def measure_filter_sizes(conn: Connection, where: CatalogIndex, settings: Settings,
                         vector: npt.NDArray[np.float32]) -> list[FilterSize]:
    """Time one filtered QueryVectors call per size of ``$in`` list (three runs each, p50)."""
    results = []
    for ids in settings.filter_sizes:
        size = conn.execute("SELECT octet_length(jsonb_agg(i)::text) FROM generate_series(1, %s) AS i",
                            (ids,)).fetchone()
        params = {"bucket": where.bucket, "index": where.index, "vector": vector.tolist(), "k": settings.k,
                  "ids": ids}
        durations = []
        try:
            for _ in range(3):
                started = time.perf_counter()
                conn.execute(_SIZED_FILTER, params).fetchall()
                durations.append((time.perf_counter() - started) * 1000)
        except psycopg.Error as problem:
            message = str(problem).splitlines()[0]
            results.append(FilterSize(ids, int(size[0]) if size else 0, None, f"{problem.sqlstate}: {message}"))
            continue
        results.append(FilterSize(ids, int(size[0]) if size else 0, statistics.median(durations), None))
    return results


def _cell(
    conn: Connection, where: CatalogIndex, settings: Settings, pattern: Pattern, predicate: Predicate,
    queries: Sequence[tuple[str, npt.NDArray[np.float32]]], search: ExactSearch, allowed: set[str], total: int,
) -> Cell:
    k = settings.k
    run_pattern(conn, pattern, predicate, where, queries[0][1].tolist(), k)  # warm up plans and connections
    durations: list[float] = []
    recalls: list[float] = []
    rows: list[int] = []
    calls: list[int] = []
    complete = 0
    allowed_keys = sorted(allowed)
    for _, vector in queries:
        exact = search.top_k(vector, allowed_keys, k)
        for repeat in range(settings.repeats):
            with _counting(conn) as counted:
                started = time.perf_counter()
                hits = run_pattern(conn, pattern, predicate, where, vector.tolist(), k)
                durations.append((time.perf_counter() - started) * 1000)
            calls.append(counted[0])
            if repeat == 0:
                recalls.append(recall_at_k(hits.keys, exact, allowed, search, vector, k))
                rows.append(len(hits.keys))
                complete += len(hits.keys) >= min(k, len(allowed))
    p50, p95 = (float(v) for v in np.percentile(durations, [50, 95]))
    return Cell(pattern.label, predicate.name, len(allowed) / total, statistics.fmean(recalls),
                complete / len(queries), statistics.fmean(rows), statistics.fmean(calls), p50, p95)


def run(settings: Settings, console: Console) -> Report:
    """Start a throwaway stack, load the catalog, measure, stop the stack."""
    from pgs3v.stack.startup import running_stack

    console.log("starting PostgreSQL, the store and the function host")
    with running_stack({DATABASE: None}, prefix="pgs3v-hybrid-") as stack, stack.connect() as conn:
        console.log(f"stack up: PostgreSQL on port {stack.cluster.port}, store {stack.store.endpoint}")
        started = time.perf_counter()
        products = load_catalog(conn, CATALOG)
        load_seconds = time.perf_counter() - started
        console.log(f"loaded {products} products into tables and {CATALOG.bucket}/{CATALOG.index} "
                    f"in {load_seconds:.1f} s")
        report = measure(conn, CATALOG, settings, console)
        report.load_seconds = load_seconds
    return report


def print_report(report: Report, console: Console) -> None:
    """The figures as a table."""
    table = Table(title=f"Hybrid queries: k = {report.settings.k}, {report.queries} queries x "
                        f"{report.settings.repeats} runs, {report.products} products")
    for column in ("predicate", "kept", "pattern", "recall@k", "k rows", "calls", "p50 ms", "p95 ms"):
        table.add_column(column, justify="left" if column in ("predicate", "pattern") else "right")
    for cell in report.cells:
        table.add_row(cell.predicate, f"{cell.selectivity:.1%}", cell.pattern, f"{cell.recall:.3f}",
                      f"{cell.complete:.0%}", f"{cell.invocations:.1f}", f"{cell.p50_ms:.1f}", f"{cell.p95_ms:.1f}")
    console.print(table)
    console.print(f"query_vectors(top_k => {report.settings.k}) alone, no predicate: "
                  f"p50 {report.baseline_p50_ms:.1f} ms")
    sizes = ", ".join(f"{name} {size:,} B" for name, size in report.filter_bytes.items())
    console.print(f"$in filter sizes (pattern b): {sizes}")
    if report.filter_sizes:
        scaling = Table(title="Pattern (b): one QueryVectors call with an $in list of n ids")
        for column in ("ids", "$in bytes", "p50 ms", "error"):
            scaling.add_column(column, justify="left" if column == "error" else "right")
        for row in report.filter_sizes:
            scaling.add_row(f"{row.ids:,}", f"{row.request_bytes:,}",
                            "" if row.p50_ms is None else f"{row.p50_ms:.1f}", row.error or "")
        console.print(scaling)


def markdown(report: Report) -> str:
    """The figures as a Markdown table (for docs/hybrid-queries.md)."""
    lines = [f"`query_vectors(top_k => {report.settings.k})` alone, without a predicate: "
             f"p50 {report.baseline_p50_ms:.1f} ms.", "",
             "| predicate (kept) | pattern | recall@k | queries with k rows | QueryVectors calls | p50 ms |",
             "|---|---|---:|---:|---:|---:|"]
    for cell in report.cells:
        lines.append(f"| {cell.predicate} ({cell.selectivity:.1%}) | {cell.pattern} | {cell.recall:.3f} | "
                     f"{cell.complete:.0%} | {cell.invocations:.1f} | {cell.p50_ms:.1f} |")
    if report.filter_sizes:
        lines += ["", "| ids in $in | $in bytes | p50 ms |", "|---:|---:|---|"]
        for row in report.filter_sizes:
            outcome = f"{row.p50_ms:.1f}" if row.p50_ms is not None else _short_error(row.error)
            lines.append(f"| {row.ids:,} | {row.request_bytes:,} | {outcome} |")
    return "\n".join(lines) + "\n"


def _short_error(error: str | None) -> str:
    """``refused: SQLSTATE 54000, RequestTooLargeException`` from a long error message."""
    text = error or ""
    sqlstate = text.split(":", 1)[0]
    names = [word.strip(":,.") for word in text.split() if word.strip(":,.").endswith("Exception")]
    return f"refused: SQLSTATE {sqlstate}" + (f", {names[0]}" if names else "")


def write_json(report: Report, path: Path) -> None:
    """Every figure and setting as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(report), indent=2) + "\n")


@click.command("hybrid")
@click.option("--k", "k", default=10, show_default=True, type=click.IntRange(1, 100), help="Rows wanted per query.")
@click.option("--repeats", default=5, show_default=True, type=click.IntRange(min=1),
              help="Timed runs of each statement per query.")
@click.option("--overfetch", default="1,3,10", show_default=True,
              help="Pattern (a): comma-separated over-fetch factors (k x factor must be at most 100).")
@click.option("--page-sizes", default="20,100", show_default=True,
              help="Pattern (c): comma-separated page sizes (topK of each page).")
@click.option("--max-depth", default=10_000, show_default=True, type=click.IntRange(min=1),
              help="Pattern (c): deepest rank the walk may reach.")
@click.option("--queries", default=None, type=click.IntRange(min=1), help="Use only the first N demo queries.")
@click.option("--filter-sizes", default="1000,10000,100000,500000,1000000", show_default=True,
              help="Pattern (b): comma-separated lengths of a synthetic $in list to time (empty: none).")
@click.option("--output-json", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write every figure to this JSON file.")
@click.option("--markdown", "as_markdown", is_flag=True, help="Also print the table in Markdown.")
def hybrid_command(k: int, repeats: int, overfetch: str, page_sizes: str, max_depth: int, queries: int | None,
                   filter_sizes: str, output_json: Path | None, as_markdown: bool) -> None:
    """Recall and latency of hybrid queries (post-filter, SQL-first push-down, paged) on the sample catalog.

    Starts a throwaway PostgreSQL + store + function host, loads the 5,202-product sample catalog
    into tables and into an index through the SQL functions, runs each pattern for the demo queries
    at three predicate selectivities (about 50%, 10% and 1%), and compares with exact numpy answers.
    """
    settings = Settings(k=k, repeats=repeats, overfetch=_integers(overfetch, "--overfetch"),
                        page_sizes=_integers(page_sizes, "--page-sizes"), max_depth=max_depth, queries=queries,
                        filter_sizes=_integers(filter_sizes, "--filter-sizes", allow_empty=True))
    for factor in settings.overfetch:
        if k * factor > 100:
            raise click.BadParameter(f"k x {factor} = {k * factor} is above the topK limit of 100",
                                     param_hint="--overfetch")
    console = Console()
    report = run(settings, console)
    print_report(report, console)
    if as_markdown:
        click.echo(markdown(report))
    if output_json is not None:
        write_json(report, output_json)
        console.print(f"figures written to {output_json}")


def _integers(text: str, option: str, allow_empty: bool = False) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {text!r}", param_hint=option) from None
    if allow_empty and not values:
        return values
    if not values or min(values) < 1:
        raise click.BadParameter(f"expected positive integers, got {text!r}", param_hint=option)
    return values


def register(group: click.Group) -> None:
    """Add the ``hybrid`` command to a command group (``pgs3v bench``)."""
    group.add_command(hybrid_command)


if __name__ == "__main__":
    hybrid_command()
