"""``pgs3v demo``: the local stack, the sample catalog in PostgreSQL and in the store, hybrid SQL.

1. ``pgs3v up``: PostgreSQL 15, the store, the function host, schema s3vectors (reused when running).
2. The sample catalog into tables shop.products, shop.reviews and shop.orders (COPY), replacing
   any previous copy, then into the vector index demo-catalog/products by one SQL statement,
   ``s3vectors.put_vectors(...)`` over shop.products (the index is recreated each run).
3. Hybrid statements (see ``statements``), each printed with its parameters, rows and timing.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.rule import Rule
from rich.table import Table

from pgs3v.data_directory import default_data_dir
from pgs3v.demo import catalog_index, shop_tables
from pgs3v.demo.presentation import milliseconds, print_heading, print_step
from pgs3v.demo.statements import ANCHOR_SKU, Scenario, scenarios
from pgs3v.demo.step import Connection, Step, StepResult, run_step
from pgs3v.stack.lifecycle import up
from pgs3v.terminal import pgs3v_command


class DemoError(RuntimeError):
    """The demo could not go on; the message says where and what to do."""


@dataclass
class LoadReport:
    """What loading the sample catalog wrote, and how long it took."""

    table_rows: dict[str, int]
    table_seconds: float
    vectors_written: int
    vector_seconds: float


@dataclass
class DemoReport:
    """Everything the demo did: connection details, the load, every statement's result."""

    connection: dict[str, str]
    load: LoadReport
    results: dict[str, list[StepResult]] = field(default_factory=dict)
    seconds: float = 0.0


def run_demo(data_dir: Path, console: Console) -> None:
    """Start the local stack in ``data_dir``, load the sample catalog and print hybrid SQL queries."""
    play(data_dir, console)


def play(data_dir: Path, console: Console) -> DemoReport:
    """Run the demo and return what it did (``run_demo`` without the return value)."""
    started = time.perf_counter()
    console.print(Rule("[bold]pgs3v demo[/bold]: starting the local stack", align="left"))
    connection_info = up(data_dir, console)
    with _connect(connection_info["postgres_dsn"]) as connection:
        load = load_catalog(connection, console)
        report = DemoReport(connection_info, load)
        for number, scenario in enumerate(scenarios(), start=1):
            report.results[scenario.name] = run_scenario(connection, console, number, scenario)
    report.seconds = time.perf_counter() - started
    print_timings(console, report)
    print_next_steps(console, data_dir, report)
    return report


@contextmanager
def _connect(dsn: str) -> Iterator[Connection]:
    try:
        connection = psycopg.connect(dsn, autocommit=True, application_name="pgs3v demo")
    except psycopg.Error as error:
        raise DemoError(f"cannot connect to the stack's PostgreSQL: {error}. Run `pgs3v doctor`.") from error
    with connection:
        yield connection


def _progress(console: Console) -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console)


def _fail(what: str, error: psycopg.Error) -> DemoError:
    return DemoError(f"{what} failed: {str(error).strip()} (SQLSTATE {error.sqlstate}). "
                     "`pgs3v status` and `pgs3v doctor` show what is wrong.")


def load_catalog(connection: Connection, console: Console) -> LoadReport:
    """Replace schema shop's tables with the sample catalog, then recreate and fill the vector index by SQL."""
    console.print()
    console.print(Rule("[bold]Loading the sample catalog[/bold]", align="left"))
    rows = {table: load() for table, load in shop_tables.ROWS.items()}
    results: dict[str, StepResult] = {}
    with _progress(console) as progress:
        tasks = {table: progress.add_task(f"COPY shop.{table}", total=len(rows[table])) for table in rows}
        vectors_task = progress.add_task(f"s3vectors.put_vectors → {catalog_index.BUCKET}/{catalog_index.INDEX}",
                                         total=None, start=False)
        started = time.perf_counter()
        try:
            with connection.transaction():
                shop_tables.create_tables(connection)
                for table, table_rows in rows.items():
                    shop_tables.copy_rows(connection, table, table_rows, _advance(progress, tasks[table]))
            connection.execute("ANALYZE shop.products, shop.reviews, shop.orders")
        except psycopg.Error as error:
            raise _fail("loading the shop tables", error) from error
        table_seconds = time.perf_counter() - started
        progress.start_task(vectors_task)
        try:
            for name, step in (("bucket", catalog_index.CREATE_BUCKET), ("drop", catalog_index.DROP_INDEX),
                               ("index", catalog_index.CREATE_INDEX), ("mode", catalog_index.ENHANCED_MODE),
                               ("text", catalog_index.TEXT_SEARCH), ("put", catalog_index.PUT_VECTORS)):
                results[name] = run_step(connection, step)
        except psycopg.Error as error:
            raise _fail("loading the vector index through SQL", error) from error
        written = int(results["put"].rows[0][0])
        progress.update(vectors_task, total=written, completed=written)
    counts = {table: len(table_rows) for table, table_rows in rows.items()}
    console.print(", ".join(f"{count:,} {table}" for table, count in counts.items())
                  + f" copied into schema shop in {milliseconds(table_seconds)}; "
                  + "the vector index, created and filled by SQL:")
    print_step(console, results["index"])
    print_step(console, results["text"])
    print_step(console, results["put"])
    return LoadReport(counts, table_seconds, written, results["put"].seconds)


def _advance(progress: Progress, task: TaskID) -> Callable[[int], None]:
    def advance(rows: int) -> None:
        progress.advance(task, rows)

    return advance


def run_scenario(connection: Connection, console: Console, number: int, scenario: Scenario) -> list[StepResult]:
    """Run and print one scenario's statements; a refusal that did not happen stops the demo."""
    print_heading(console, number, scenario.title, scenario.shows)
    results = []
    try:
        for step in scenario.steps:
            try:
                result = run_step(connection, step)
            except psycopg.Error as error:
                raise _fail(f"statement {number} ({scenario.title})", error) from error
            print_step(console, result)
            results.append(result)
    finally:
        # SET ROLE outlives a failed statement; never leave the session as another role.
        connection.execute("RESET ROLE")
    unexpected = [result for result in results if not result.as_expected]
    if unexpected:
        raise DemoError(f"statement {number} ({scenario.title}): {_unexpected(unexpected[0].step)}")
    return results


def _unexpected(step: Step) -> str:
    first_line = step.sql.splitlines()[0]
    return f"{first_line!r} should have been refused with SQLSTATE {step.refused}, but was not"


def print_timings(console: Console, report: DemoReport) -> None:
    """A summary of how long each part took."""
    console.print()
    table = Table(title="Timings", title_justify="left", box=box.SIMPLE_HEAD, header_style="bold")
    table.add_column("step")
    table.add_column("time", justify="right")
    load = report.load
    table.add_row(f"COPY {sum(load.table_rows.values()):,} rows into shop.*", milliseconds(load.table_seconds))
    table.add_row(f"s3vectors.put_vectors: {load.vectors_written:,} vectors", milliseconds(load.vector_seconds))
    for number, results in enumerate(report.results.values(), start=1):
        for result in results:
            if result.step.label:
                table.add_row(f"{number}. {escape(result.step.label)}", milliseconds(result.seconds))
    table.add_row("[bold]whole demo[/bold] (including up)", f"[bold]{milliseconds(report.seconds)}[/bold]")
    console.print(table)


def print_next_steps(console: Console, data_dir: Path, report: DemoReport) -> None:
    """How to connect, what to try, how to stop."""
    dsn = report.connection["postgres_dsn"]
    default = default_data_dir().resolve()
    # As the user can paste it: scripts/demo.sh runs .venv/bin/pgs3v, which is not on the PATH.
    pgs3v = shlex.quote(pgs3v_command())
    down = f"{pgs3v} down" if data_dir.resolve() == default else f"{pgs3v} down --data-dir {shlex.quote(str(data_dir))}"
    example = (
        "SELECT p.sku, p.name, p.price, q.distance "
        f"FROM s3vectors.query_vectors('{catalog_index.BUCKET}', '{catalog_index.INDEX}', "
        f"(SELECT embedding FROM shop.products WHERE sku = '{ANCHOR_SKU}'), top_k => 5) AS q "
        "JOIN shop.products AS p ON p.sku = q.key ORDER BY q.distance;"
    )
    console.print()
    console.print(Rule("[bold]Your turn[/bold]", align="left"))
    console.print(f"Connect:  psql {shlex.quote(dsn)}", soft_wrap=True)
    console.print(f"          (all connection details: {escape(str(data_dir.resolve() / 'connection.json'))}; "
                  f"tables in schema shop, vectors in {catalog_index.BUCKET}/{catalog_index.INDEX})")
    console.print(f"Try:      {escape(example)}", soft_wrap=True)
    console.print(f"Stop:     {escape(down)}", soft_wrap=True)
    console.print(f"          (the data stays: `{escape(pgs3v)} up` or `{escape(pgs3v)} demo` start it again)",
                  soft_wrap=True)
