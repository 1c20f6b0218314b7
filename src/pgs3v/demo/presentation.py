"""How the demo prints a statement, its parameters, its rows and its timing (rich)."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.rule import Rule
from rich.syntax import Syntax
from rich.table import Table

from pgs3v.demo.step import StepResult


def milliseconds(seconds: float) -> str:
    """A duration for people: 12.3 ms, or 4.12 s."""
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def cell(value: Any) -> str:
    """One result value as psql would roughly show it."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def parameter(value: Any) -> str:
    """A parameter value as the reader should see it."""
    if isinstance(value, Jsonb):
        return json.dumps(value.obj)
    if isinstance(value, Decimal | int | float):
        return str(value)
    if isinstance(value, datetime):
        return repr(value.isoformat())
    return repr(value)


def print_heading(console: Console, number: int, title: str, shows: str) -> None:
    """The heading of one scenario."""
    console.print()
    console.print(Rule(f"[bold]{number}. {escape(title)}[/bold]", align="left"))
    console.print(f"[dim]{escape(shows)}[/dim]")


def print_sql(console: Console, sql: str) -> None:
    """A statement, highlighted."""
    console.print(Syntax(sql + ";", "sql", theme="ansi_dark", background_color="default", word_wrap=True))


def print_parameters(console: Console, result: StepResult) -> None:
    """The statement's parameters, with vectors shown by what they are."""
    step = result.step
    if not step.params:
        return
    names = dict.fromkeys(name for name in step.params if f"%({name})s" in step.sql)
    shown = ", ".join(f"{name} = {step.shown.get(name) or parameter(step.params[name])}" for name in names)
    console.print(f"[dim]parameters: {escape(shown)}[/dim]")


def print_result(console: Console, result: StepResult) -> None:
    """A step's rows as a table (or its status, or its error) and its timing."""
    timing = milliseconds(result.seconds)
    if result.failure is not None and result.unsupported:
        console.print(f"[yellow]ERROR {escape(result.failure.sqlstate)}: {escape(result.failure.message)}[/yellow]")
        console.print(f"[yellow]→ note: this store does not support it yet; the statement is right for Amazon S3 "
                      f"Vectors and runs here once the store's full-text engine lands ({timing})[/yellow]")
        return
    if result.failure is not None:
        style = "green" if result.as_expected else "bold red"
        verdict = "refused, as it should be" if result.as_expected else "refused with an unexpected error"
        console.print(f"[{style}]ERROR {escape(result.failure.sqlstate)}: {escape(result.failure.message)}[/{style}]")
        console.print(f"[dim]→ {verdict} ({timing})[/dim]")
        return
    if result.step.refused is not None:
        console.print(f"[bold red]succeeded, but should have been refused with {result.step.refused}[/bold red]")
    if not result.columns:
        console.print(f"[dim]{escape(result.status)} ({timing})[/dim]")
        return
    console.print(_table(result))
    count = len(result.rows)
    console.print(f"[dim]({count} row{'s' if count != 1 else ''}, {timing})[/dim]")


def _table(result: StepResult) -> Table:
    """The rows as a table: numbers right-aligned; only columns of words wrap, so names get the room."""
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False)
    for position, name in enumerate(result.columns):
        values = [row[position] for row in result.rows if row[position] is not None]
        numeric = bool(values) and all(isinstance(v, int | float | Decimal) and not isinstance(v, bool) for v in values)
        words = any(isinstance(v, str) and " " in v for v in values)
        table.add_column(name, justify="right" if numeric else "left", no_wrap=not words,
                         overflow="fold" if words else "ellipsis")
    for row in result.rows:
        table.add_row(*(escape(cell(value)) for value in row))
    return table


def print_step(console: Console, result: StepResult) -> None:
    """A statement, its parameters and its result."""
    print_sql(console, result.step.sql)
    print_parameters(console, result)
    print_result(console, result)
