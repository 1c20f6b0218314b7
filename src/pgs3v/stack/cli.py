"""``pgs3v up | down | status | doctor``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

DATA_DIR_HELP = "The stack's data directory [default: $PGS3V_DATA_DIR or ./.pgs3v]."


def data_dir_option(function: click.decorators.FC) -> click.decorators.FC:
    """The --data-dir option every stack command takes."""
    return click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                        help=DATA_DIR_HELP)(function)


def resolve_data_dir(data_dir: Path | None) -> Path:
    """--data-dir, else $PGS3V_DATA_DIR, else ./.pgs3v."""
    return data_dir or Path(os.environ.get("PGS3V_DATA_DIR", ".pgs3v"))


def register(main: click.Group) -> None:
    """Add the stack commands to the top-level group."""

    @main.command()
    @data_dir_option
    def up(data_dir: Path | None) -> None:
        """Start the local stack: PostgreSQL 15, the store, the function host; install the schema.

        Reuses what is already running and what is on disk; running it twice is harmless.
        Writes DATA_DIR/connection.json (postgres_dsn, store_endpoint, function_endpoint,
        access_key_id, secret_access_key, region).
        """
        from pgs3v.stack.lifecycle import up as start_stack

        console = Console()
        try:
            start_stack(resolve_data_dir(data_dir), console)
        except Exception as problem:
            console.print(f"[red]pgs3v up failed:[/red] {problem}\nRun `pgs3v doctor` for a diagnosis.")
            sys.exit(1)

    @main.command()
    @data_dir_option
    def down(data_dir: Path | None) -> None:
        """Stop everything `pgs3v up` started; the data stays for the next `up`."""
        from pgs3v.stack.lifecycle import down as stop_stack

        stop_stack(resolve_data_dir(data_dir), Console())

    @main.command()
    @data_dir_option
    def status(data_dir: Path | None) -> None:
        """Show which parts of the local stack run, and where."""
        from pgs3v.stack.lifecycle import status as stack_status

        directory = resolve_data_dir(data_dir)
        rows = stack_status(directory)
        if not rows:
            click.echo(f"No stack in {directory}. Start one with: pgs3v up --data-dir {directory}")
            sys.exit(1)
        table = Table(title=f"pgs3v stack in {directory.resolve()}")
        for column in ("component", "state", "where", "detail"):
            table.add_column(column)
        for row in rows:
            table.add_row(row.name, "[green]running[/green]" if row.running else "[red]stopped[/red]",
                          row.where, row.detail)
        Console().print(table)
        sys.exit(0 if all(row.running for row in rows) else 3)

    @main.command()
    @data_dir_option
    def doctor(data_dir: Path | None) -> None:
        """Diagnose the stack: binaries, servers, credentials, schema, shim endpoint; a fix for each."""
        from pgs3v.stack.doctor import diagnose

        findings = diagnose(resolve_data_dir(data_dir))
        console = Console()
        for finding in findings:
            mark = "[green]ok[/green]  " if finding.ok else "[red]FAIL[/red]"
            console.print(f"{mark} {finding.check}: {finding.detail}")
            if not finding.ok and finding.fix:
                console.print(f"       fix: {finding.fix}")
        failed = [f for f in findings if not f.ok]
        console.print("All checks passed." if not failed else f"{len(failed)} problem(s) found.")
        sys.exit(1 if failed else 0)
