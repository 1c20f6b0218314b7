"""``pgs3v bench``: measure pgs3v against baselines run on the same machine in the same run.

``pgs3v bench`` alone benchmarks the store against exact numpy search; ``pgs3v bench sql``
measures what the SQL round trip adds to a direct store call. The commands are defined here and
added to the CLI with :func:`register`; the heavy modules (numpy, boto3, rich, psycopg) are
imported only when a benchmark runs, so ``pgs3v --help`` stays fast.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["bench", "register"]


def register(main: click.Group) -> None:
    """Add the ``bench`` command (store, ``sql`` and ``hybrid`` benchmarks) to the ``pgs3v`` group."""
    from pgs3v.hybrid.measure import register as register_hybrid

    register_hybrid(bench)
    main.add_command(bench)


def default_output_path(benchmark: str = "store") -> Path:
    """bench-results/<benchmark>-<UTC timestamp>.json under the working directory."""
    return Path("bench-results") / f"{benchmark}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"


def _console() -> Console:
    """The terminal's console; 120 columns when the output goes to a file or a pipe (not 80)."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=120)


# The group's own options configure the store benchmark, which runs when no subcommand is given.
_STORE_OPTIONS = ("vectors", "dimension", "queries", "top_k", "clients", "seed", "output_json", "keep_data")


@click.group("bench", invoke_without_command=True)
@click.option("--vectors", default=100_000, show_default=True, type=click.IntRange(min=1),
              help="Number of synthetic vectors to ingest.")
@click.option("--dimension", default=768, show_default=True, type=click.IntRange(1, 4096),
              help="Vector dimension.")
@click.option("--queries", default=200, show_default=True, type=click.IntRange(min=1),
              help="Number of timed queries (each run with and without a filter).")
@click.option("--top-k", default=10, show_default=True, type=click.IntRange(1, 100), help="topK of every query.")
@click.option("--clients", default=2, show_default=True, type=click.IntRange(min=1),
              help="Ingest client threads, each with its own boto3 client.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the synthetic data and queries.")
@click.option("--output-json", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the figures [default: bench-results/store-<timestamp>.json].")
@click.option("--keep-data", is_flag=True, help="Keep the store's temporary data directory (and its log).")
@click.pass_context
def bench(
    ctx: click.Context, vectors: int, dimension: int, queries: int, top_k: int, clients: int, seed: int,
    output_json: Path | None, keep_data: bool,
) -> None:
    """Benchmark a real store over HTTP against exact numpy search, in one run.

    Starts `pgs3v store serve` on a free loopback port with a temporary data directory,
    ingests seeded synthetic vectors with PutVectors, times QueryVectors with and without a
    metadata filter next to the same queries in numpy, checks recall against float64 exact
    answers, prints a table and writes every figure to a JSON file.

    `pgs3v bench sql` instead measures the SQL round trip against a direct store call.
    """
    if ctx.invoked_subcommand is not None:
        given = [name for name in _STORE_OPTIONS if ctx.get_parameter_source(name) is not ParameterSource.DEFAULT]
        if given:
            options = ", ".join("--" + name.replace("_", "-") for name in given)
            raise click.UsageError(
                f"{options}: option(s) of the store benchmark (`pgs3v bench` alone); options of "
                f"`pgs3v bench {ctx.invoked_subcommand}` go after its name", ctx=ctx,
            )
        return
    from pgs3v.bench.measurements import write_json
    from pgs3v.bench.report import print_report
    from pgs3v.bench.store_bench import NUMPY, STORE, StoreBenchParameters, run_store_bench

    console = _console()
    parameters = StoreBenchParameters(
        vectors=vectors, dimension=dimension, queries=queries, top_k=top_k, clients=clients, seed=seed,
        keep_data=keep_data,
    )
    result = run_store_bench(parameters, console)
    path = write_json(result, output_json or default_output_path())
    print_report(result, console, exact_systems=(STORE, NUMPY))
    if keep_data:
        console.print(f"Store data kept in {result.notes['data_dir']}")
    console.print(f"Figures written to {path}")


@bench.command("sql")
@click.option("--queries", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Timed queries per path (every path runs the same queries).")
@click.option("--top-k", default=10, show_default=True, type=click.IntRange(1, 100), help="topK of every query.")
@click.option("--rounds", default=10, show_default=True, type=click.IntRange(min=1),
              help="Interleaved rounds: each runs one block of the queries on every path, in rotating order.")
@click.option("--products", default=None, type=click.IntRange(min=1),
              help="Load only the first N products of the sample catalog [default: all 5,202].")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the query vectors.")
@click.option("--output-json", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the figures [default: bench-results/sql-<timestamp>.json].")
@click.option("--keep-data", is_flag=True, help="Keep the temporary directory (cluster, store data, logs).")
def bench_sql(
    queries: int, top_k: int, rounds: int, products: int | None, seed: int, output_json: Path | None,
    keep_data: bool,
) -> None:
    """Measure what the SQL round trip adds to a direct store call, in one run.

    Starts a private PostgreSQL 15 cluster (pgs3v installed), the store and the function host on
    free loopback ports, loads the sample product catalog (5,202 × 384) into an index and a
    products table, then times the same QueryVectors in interleaved blocks: directly with boto3
    (the baseline), through the bridge with boto3's lambda client, as SQL
    (s3vectors.query_vectors joined with products, via psycopg, the vector sent as text and in
    binary), aws_lambda.invoke of a no-op function alone, and the profile paths (a lean store
    client, and the SQL through a bridge built on it). Prints p50/p95/p99 and the milliseconds
    each path adds at p50, checks the target (the SQL path adds at most 3 ms), and writes every
    figure to a JSON file.
    """
    from pgs3v.bench.measurements import write_json
    from pgs3v.bench.report import print_report
    from pgs3v.bench.sql_bench import SqlBenchParameters, run_sql_bench
    from pgs3v.bench.sql_stack import StackError

    console = _console()
    parameters = SqlBenchParameters(queries=queries, top_k=top_k, rounds=rounds, products=products, seed=seed,
                                    keep_data=keep_data)
    try:
        result = run_sql_bench(parameters, console)
    except StackError as problem:
        raise click.ClickException(str(problem)) from None
    path = write_json(result, output_json or default_output_path("sql"))
    print_report(result, console)
    target = result.notes["target"]
    verdict = "[bold green]met[/]" if target["met"] else "[bold red]missed[/]"
    console.print(
        f"Target: the SQL path adds at most {target['limit_added_p50_ms']:g} ms at p50 over the direct call: "
        f"{verdict} ({target['sql_added_p50_ms']:+.2f} ms; vector in binary "
        f"{target['sql_binary_param_added_p50_ms']:+.2f} ms; through the lean-client bridge "
        f"{target['sql_lean_bridge_added_p50_ms']:+.2f} ms)"
    )
    if keep_data:
        console.print(f"Data and logs kept in {result.notes['data_dir']}")
    console.print(f"Figures written to {path}")
