"""``pgs3v bench``: measure the store against baselines run on the same machine in the same run.

The command is defined here and added to the CLI with :func:`register`; the heavy modules
(numpy, boto3, rich) are imported only when the benchmark runs, so ``pgs3v --help`` stays fast.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

__all__ = ["bench", "register"]


def register(main: click.Group) -> None:
    """Add the ``bench`` command to the ``pgs3v`` command group."""
    main.add_command(bench)


def default_output_path() -> Path:
    """bench-results/store-<UTC timestamp>.json under the working directory."""
    return Path("bench-results") / f"store-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"


@click.command("bench")
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
def bench(
    vectors: int, dimension: int, queries: int, top_k: int, clients: int, seed: int,
    output_json: Path | None, keep_data: bool,
) -> None:
    """Benchmark a real store over HTTP against exact numpy search, in one run.

    Starts `pgs3v store serve` on a free loopback port with a temporary data directory,
    ingests seeded synthetic vectors with PutVectors, times QueryVectors with and without a
    metadata filter next to the same queries in numpy, checks recall against float64 exact
    answers, prints a table and writes every figure to a JSON file.
    """
    from rich.console import Console

    from pgs3v.bench.measurements import write_json
    from pgs3v.bench.report import print_report
    from pgs3v.bench.store_bench import NUMPY, STORE, StoreBenchParameters, run_store_bench

    console = Console()
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
