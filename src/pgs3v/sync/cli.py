"""``pgs3v sync``: drain, backfill, reconcile and status of table-to-index sync (docs/sync.md).

Defined here and added to the main command with :func:`register`; psycopg and the drain are
imported only when a command runs, so ``pgs3v --help`` stays fast.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pgs3v.auth.credentials import ACCESS_KEY_ENV, SECRET_KEY_ENV
from pgs3v.data_directory import data_dir_help, resolve_data_dir
from pgs3v.terminal import output_console

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS: list[Callable[[Any], Any]] = [
    click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                 help=data_dir_help("The local stack's data directory, whose connection.json names the database "
                                    "and the store")),
    click.option("--dsn", default=None, help="The database with the synced tables [default: connection.json's]."),
    click.option("--endpoint", default=None, metavar="URL",
                 help="The store [default: connection.json's; without one, Amazon S3 Vectors in --region]."),
    click.option("--region", default=None, help="The store's region [default: connection.json's, else us-east-1]."),
    click.option("--access-key-id", envvar=ACCESS_KEY_ENV, default=None, show_envvar=True,
                 help="The store's access key [default: connection.json's, else AWS's usual chain]."),
    click.option("--secret-access-key", envvar=SECRET_KEY_ENV, default=None, show_envvar=True,
                 help="Its secret."),
    click.option("--mapping", "mapping_ids", type=int, multiple=True,
                 help="Only this mapping (an id from s3vectors.sync_mappings; repeatable) [default: all]."),
]


def _connection_options(function: F) -> F:
    for option in reversed(_OPTIONS):
        function = option(function)
    return function


def _target(options: dict[str, Any]) -> Any:
    from pgs3v.sync.target import SyncSetupError, resolve_target

    # `pgs3v sync --dsn X status` means the same as `pgs3v sync status --dsn X`.
    parent = click.get_current_context().parent
    if parent is not None and parent.command is sync:
        for name, value in parent.params.items():
            if name in options and not options[name]:
                options[name] = value
    data_dir = resolve_data_dir(options["data_dir"])
    try:
        return resolve_target(data_dir, options["dsn"], options["endpoint"], options["region"],
                              options["access_key_id"], options["secret_access_key"])
    except SyncSetupError as problem:
        raise click.UsageError(str(problem)) from None


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)


def _fail(problem: BaseException) -> None:
    output_console(stderr=True).print(f"[red]pgs3v sync failed:[/red] {escape(str(problem).strip())}",
                                      soft_wrap=True)
    sys.exit(1)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=output_console(stderr=True), transient=False)


@click.group("sync", invoke_without_command=True)
@click.option("--once", "mode", flag_value="once", default=True,
              help="Drain what the outbox holds, then exit (the default).")
@click.option("--follow", "mode", flag_value="follow",
              help="Keep draining as changes commit, until interrupted (Ctrl-C or SIGTERM).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Batches drained at once (each worker has its own connection).")
@click.option("--batch-rows", default=500, show_default=True, type=click.IntRange(1, 10_000),
              help="Outbox rows claimed per batch.")
@_connection_options
@click.pass_context
def sync(ctx: click.Context, /, mode: str, workers: int, batch_rows: int, **options: Any) -> None:
    """Send the changes recorded by s3vectors.enable_sync's triggers to the indexes.

    Several `pgs3v sync` processes may run at once: each batch claims its own outbox rows. The
    subcommands load existing rows (backfill), compare table and index (reconcile) and show
    how far behind each index is (status).
    """
    if ctx.invoked_subcommand is not None:
        return
    from pgs3v.sync.drain import Drainer, pending_changes

    _logging()
    target = _target(options)
    try:
        with _progress() as progress:
            task = progress.add_task("changes drained", total=None)
            drainer = Drainer(target, workers=workers, batch_rows=batch_rows, mapping_ids=options["mapping_ids"],
                              on_batch=lambda _, batch: progress.advance(task, batch.changes))
            if mode == "once":
                with drainer.connect() as conn:
                    progress.update(task, total=pending_changes(conn, options["mapping_ids"]))
                totals = drainer.run_once()
            else:
                stop = threading.Event()
                for number in (signal.SIGINT, signal.SIGTERM):
                    signal.signal(number, lambda *_: stop.set())
                totals = drainer.follow(stop)
    except Exception as problem:
        _fail(problem)
    logging.getLogger("pgs3v.sync").info(
        "drained %d changes: %d put, %d deleted (%d without embedding, %d skipped)%s", totals.changes, totals.put,
        totals.deleted, totals.without_embedding, totals.skipped,
        f"; last skipped: {totals.last_skip}" if totals.last_skip else "")


@sync.command("backfill")
@click.option("--restart", is_flag=True, help="Start from the first key even if an earlier backfill stopped midway.")
@_connection_options
def sync_backfill(restart: bool, **options: Any) -> None:
    """Load the rows already in synced tables into their indexes (resumes where an interrupted one stopped)."""
    from pgs3v.sync.backfill import backfill
    from pgs3v.sync.drain import Drainer, load_mappings

    _logging()
    target = _target(options)
    try:
        drainer = Drainer(target)
        with drainer.connect() as conn, _progress() as progress:
            for mapping in load_mappings(conn, options["mapping_ids"]):
                task = progress.add_task(f"{mapping.source} → {mapping.index_name}", total=None)

                def advanced(done: int, total: int, task: Any = task) -> None:
                    progress.update(task, completed=done, total=max(done, total))

                report = backfill(conn, drainer, mapping, restart=restart, progress=advanced)
                resumed = f" (resumed after key {report.resumed_after})" if report.resumed_after else ""
                progress.console.print(f"{escape(mapping.source)}: {report.queued} rows queued{escape(resumed)}, "
                                       f"{report.drained.put} vectors put, {report.drained.deleted} keys deleted")
    except Exception as problem:
        _fail(problem)


@sync.command("reconcile")
@click.option("--walks", default=4, show_default=True, type=click.IntRange(1, 16),
              help="Parallel ListVectors walks over the index (its segmentCount).")
@_connection_options
def sync_reconcile(walks: int, **options: Any) -> None:
    """Compare each synced table with its index by key and content; repair and report every difference."""
    from pgs3v.sync.drain import Drainer, load_mappings
    from pgs3v.sync.reconcile import reconcile

    _logging()
    target = _target(options)
    console = output_console()
    try:
        drainer = Drainer(target)
        with drainer.connect() as conn, _progress() as progress:
            for mapping in load_mappings(conn, options["mapping_ids"]):
                tasks = {side: progress.add_task(f"{mapping.index_name}: {side} rows read", total=None)
                         for side in ("index", "table")}

                def advanced(side: str, rows: int, tasks: dict[str, Any] = tasks) -> None:
                    progress.advance(tasks[side], rows)

                report = reconcile(conn, target.transport(), drainer, mapping, walks=walks, progress=advanced)
                examples = "; ".join(f"{kind}: {', '.join(keys)}" for kind, keys in report.examples.items())
                console.print(f"{escape(mapping.source)} → {escape(mapping.index_name)}: {report.table_keys} rows "
                              f"with embeddings, {report.index_keys} vectors; repaired {report.missing} missing, "
                              f"{report.extra} extra, {report.different} different"
                              + (f" (e.g. {escape(examples)})" if examples else ""), soft_wrap=True)
    except Exception as problem:
        _fail(problem)


@sync.command("status")
@_connection_options
def sync_status(**options: Any) -> None:
    """How far behind each synced index is (s3vectors.sync_status())."""
    import psycopg

    target = _target(options)
    try:
        with psycopg.connect(target.dsn, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT mapping_id, source::text, vector_bucket_name || '/' || index_name, pending, "
                "date_trunc('second', oldest_pending_age)::text, to_char(last_success, 'YYYY-MM-DD HH24:MI:SS TZ'), "
                "rows_without_embedding, rows_skipped, coalesce(last_error, ''), "
                "reconcile_needed_since IS NOT NULL FROM s3vectors.sync_status()").fetchall()
    except psycopg.Error as problem:
        _fail(problem)
    table = Table("mapping", "table", "index", "pending", "oldest pending", "last success", "no embedding",
                  "skipped", "last error", "reconcile needed")
    for row in rows:
        table.add_row(*(escape("" if value is None else str(value)) for value in row))
    output_console().print(table)


def register(main: click.Group) -> None:
    """Add ``pgs3v sync`` to the top-level group."""
    main.add_command(sync)
