"""The ``pgs3v`` command line."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# One BLAS thread per request in the store: requests already run in parallel on worker threads,
# and on a small machine BLAS threads spinning after each product slow every other request down.
# OpenBLAS reads this once, when numpy loads, which the imports below already do (set inside
# store_serve it came too late: the store ran a 5,202 x 384 QueryVectors over HTTP in 3.4 ms
# instead of 0.9 ms on a busy 2-core machine). Only for the store, which is its own process.
if sys.argv[1:3] == ["store", "serve"]:
    for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_variable, "1")

import click

from pgs3v import __version__
from pgs3v.aws.cli import register as register_aws
from pgs3v.bench import register as register_bench
from pgs3v.bridge.cli import register as register_functions
from pgs3v.data_directory import data_dir_help, resolve_data_dir
from pgs3v.sql_schema.cli import register as register_schema
from pgs3v.stack.cli import register as register_stack
from pgs3v.store.api.limits import limit_help, load_limits
from pgs3v.store.keys_cli import register as register_keys
from pgs3v.store.storage.location import DEFAULT_CACHE_BYTES
from pgs3v.sync.cli import register as register_sync


@click.group()
@click.version_option(__version__, prog_name="pgs3v")
def main() -> None:
    """pgs3v: Amazon S3 Vectors from PostgreSQL with plain SQL, on one machine or on AWS."""


@main.group()
def store() -> None:
    """The self-hosted S3 Vectors-compatible store."""


def _parse_limits(values: tuple[str, ...]) -> dict[str, int]:
    parsed: dict[str, int] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not value.strip().isdigit():
            raise click.BadParameter(f"expected NAME=INTEGER, got {item!r}", param_hint="--limit")
        parsed[name.strip()] = int(value)
    return parsed


_LIMITS_HELP = "Raise a service limit, NAME=VALUE (repeatable). Limits: " + ", ".join(
    f"{name} ({default})" for name, default, _ in limit_help()
)


@store.command("serve")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=data_dir_help("Where the store keeps its data"))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8750, show_default=True, type=int, help="Port to listen on.")
@click.option("--region", default="us-east-1", show_default=True, help="Region named in ARNs and SigV4 scopes.")
@click.option("--limit", "limits", multiple=True, metavar="NAME=VALUE", help=_LIMITS_HELP)
@click.option("--storage", metavar="s3://BUCKET[/PREFIX] | file:///DIR", default=None,
              help="Keep the data as objects in an S3-compatible bucket, or in a local directory that several "
                   "processes can share (the data directory then holds a cache) [default: in the data directory].")
@click.option("--s3-endpoint", metavar="URL", default=None,
              help="The bucket's S3 endpoint, e.g. http://127.0.0.1:8333 [default: Amazon S3].")
@click.option("--s3-region", default="us-east-1", show_default=True, help="The bucket's region.")
@click.option("--cache-mb", default=DEFAULT_CACHE_BYTES >> 20, show_default=True, type=click.IntRange(1),
              help="With --storage: disk space for cached segments, in MiB (per worker).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Store processes serving this address, e.g. one per core (needs --storage: file:///DIR or s3://).")
@click.option("--tls-cert", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Serve HTTPS only, with this certificate chain (PEM); needs --tls-key.")
@click.option("--tls-key", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The private key (PEM, unencrypted) of --tls-cert.")
def store_serve(data_dir: Path | None, host: str, port: int, region: str, limits: tuple[str, ...],
                storage: str | None, s3_endpoint: str | None, s3_region: str, cache_mb: int, workers: int,
                tls_cert: Path | None, tls_key: Path | None) -> None:
    """Run the store in the foreground.

    Credentials come from PGS3V_ACCESS_KEY_ID / PGS3V_SECRET_ACCESS_KEY, else are generated on
    first start and saved (mode 0600) in DATA_DIR/credentials.json. With --storage, the bucket's
    own credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
    """
    # The BLAS thread count is set at the top of this module, before numpy loads.
    from pgs3v.store.server import ServeOptions, serve

    try:
        limit_values = load_limits(_parse_limits(limits))
    except ValueError as problem:
        raise click.BadParameter(str(problem), param_hint="--limit") from None
    from pgs3v.store.storage.location import StorageConfigError, StorageOptions
    from pgs3v.tls import TlsError, server_tls

    try:
        tls = server_tls(tls_cert, tls_key)
    except TlsError as problem:
        raise click.UsageError(str(problem)) from None
    options = ServeOptions(data_dir=resolve_data_dir(data_dir), host=host, port=port, region=region,
                           storage=StorageOptions(storage, s3_endpoint, s3_region, cache_mb << 20), tls=tls)
    from pgs3v.store.workers import WorkerStartError, serve_workers

    try:
        if workers > 1:
            serve_workers(options, limit_values, workers)
        else:
            serve(options, limit_values)
    except (StorageConfigError, WorkerStartError, TlsError) as problem:
        raise click.ClickException(str(problem)) from None


@store.command("credentials")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=data_dir_help("The store's data directory"))
def store_credentials(data_dir: Path | None) -> None:
    """Print the store's access key id and secret as shell variables for AWS clients."""
    from pgs3v.auth.credentials import load_or_create_credentials

    credentials = load_or_create_credentials(resolve_data_dir(data_dir))
    click.echo(f"export AWS_ACCESS_KEY_ID={credentials.access_key_id}")
    click.echo(f"export AWS_SECRET_ACCESS_KEY={credentials.secret_access_key}")


@main.command()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=data_dir_help("Where the demo keeps its data"))
def demo(data_dir: Path | None) -> None:
    """`up` + sample data (5,202 products, reviews, orders) + hybrid SQL queries with printed results."""
    from rich.markup import escape

    from pgs3v.demo.sql_demo import run_demo
    from pgs3v.terminal import output_console, pgs3v_command

    console = output_console()
    directory = resolve_data_dir(data_dir)
    try:
        run_demo(directory, console)
    except Exception as problem:  # a failed step or a failed `up`: say which, then exit non-zero
        doctor = f"{pgs3v_command()} doctor --data-dir {directory}"
        console.print(f"[red]pgs3v demo failed:[/red] {escape(str(problem))}\nRun `{escape(doctor)}`.", soft_wrap=True)
        sys.exit(1)


register_keys(store)
register_aws(main)
register_bench(main)
register_functions(main)
register_schema(main)
register_stack(main)
register_sync(main)
