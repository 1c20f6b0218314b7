"""``pgs3v functions ...``: the local function host on the command line.

``register(main)`` adds the group to the ``pgs3v`` command; ``standalone()`` runs the same
commands without it (``python -c "from pgs3v.bridge.cli import standalone; standalone()" functions serve``).
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from pgs3v.bridge.host_server import DEFAULT_PORT, DEFAULT_STORE_ENDPOINT
from pgs3v.data_directory import data_dir_help, resolve_data_dir
from pgs3v.tls import ServerTls, TlsError, server_tls


def _parse_functions(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    parsed = _parse_pairs(values, "--function", "NAME=MODULE.FUNCTION")
    for item, (_, path) in zip(values, parsed, strict=True):
        if "." not in path:
            raise click.BadParameter(f"expected NAME=MODULE.FUNCTION, got {item!r}", param_hint="--function")
    return parsed


def _parse_pairs(values: tuple[str, ...], option: str, shape: str) -> tuple[tuple[str, str], ...]:
    parsed = []
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise click.BadParameter(f"expected {shape}, got {item!r}", param_hint=option)
        parsed.append((name.strip(), value.strip()))
    return tuple(parsed)


def _server_tls(cert: Path | None, key: Path | None) -> ServerTls | None:
    try:
        return server_tls(cert, key)
    except TlsError as problem:
        raise click.UsageError(str(problem)) from None


@click.group("functions")
def functions() -> None:
    """The local function host: the Lambda Invoke API running the pgs3v-bridge handler."""


@functions.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int, help="Port to listen on.")
@click.option("--store-endpoint", default=DEFAULT_STORE_ENDPOINT, show_default=True,
              help="The S3 Vectors store pgs3v-bridge calls (PGS3V_STORE_ENDPOINT of the function).")
@click.option("--region", default=None,
              help="Region named in ARNs and given to the function [default: $AWS_REGION, $AWS_DEFAULT_REGION "
                   "or us-east-1].")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=data_dir_help("The store's data directory, read for credentials.json when "
                                 "PGS3V_ACCESS_KEY_ID is unset"))
@click.option("--timeout", "timeout_seconds", default=60.0, show_default=True, type=click.FloatRange(min=0.001),
              help="Seconds an invocation may run before it is answered as timed out.")
@click.option("--concurrency", default=64, show_default=True, type=click.IntRange(min=1),
              help="Invocations run at once (worker threads).")
@click.option("--function", "extra_functions", multiple=True, metavar="NAME=MODULE.FUNCTION",
              help="Serve another handler too (repeatable), named as Lambda's handler setting names it.")
@click.option("--bridge-function", "bridge_functions", multiple=True, metavar="NAME=KEY",
              help="Serve the bridge as NAME too, signing its calls with KEY (a name or id of `pgs3v store keys` "
                   "in --data-dir) instead of the store's own key (repeatable).")
@click.option("--no-verify-signatures", is_flag=True, default=False,
              help="Accept unsigned requests (only on a trusted loopback; verification is on by default).")
@click.option("--tls-cert", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Serve HTTPS only, with this certificate chain (PEM); needs --tls-key.")
@click.option("--tls-key", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The private key (PEM, unencrypted) of --tls-cert.")
@click.option("--tls-ca", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CA certificates (PEM) the bridge trusts for an https --store-endpoint [default: $AWS_CA_BUNDLE, "
                   "else the system's].")
def functions_serve(host: str, port: int, store_endpoint: str, region: str | None, data_dir: Path | None,
                    timeout_seconds: float, concurrency: int, extra_functions: tuple[str, ...],
                    bridge_functions: tuple[str, ...], no_verify_signatures: bool, tls_cert: Path | None,
                    tls_key: Path | None, tls_ca: Path | None) -> None:
    """Run the function host in the foreground.

    Serves POST /2015-03-31/functions/pgs3v-bridge/invocations like AWS Lambda. Requests must be
    SigV4-signed (service lambda) with the store's credentials (PGS3V_ACCESS_KEY_ID /
    PGS3V_SECRET_ACCESS_KEY, else DATA_DIR/credentials.json), which may invoke any function, or
    with a key of `pgs3v store keys` in DATA_DIR, which may invoke what its identity policies
    allow (lambda:InvokeFunction on the function's ARN). pgs3v-bridge signs its calls to the
    store with the store's credentials.
    """
    from pgs3v.bridge.host_server import HostOptions, serve

    # The same data directory as `pgs3v store serve`, so both find the same credentials.json.
    options = HostOptions(
        data_dir=resolve_data_dir(data_dir), host=host, port=port, store_endpoint=store_endpoint,
        region=region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        timeout_seconds=timeout_seconds, concurrency=concurrency,
        verify_signatures=not no_verify_signatures, extra_functions=_parse_functions(extra_functions),
        tls=_server_tls(tls_cert, tls_key), ca_file=tls_ca,
        bridge_functions=_parse_pairs(bridge_functions, "--bridge-function", "NAME=KEY"),
    )
    try:
        serve(options)
    except ValueError as problem:
        raise click.ClickException(str(problem)) from None


@functions.command("package")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("pgs3v-bridge.zip"),
              show_default=True, help="The zip file to write.")
@click.option("--with-boto3/--without-boto3", default=True, show_default=True,
              help="Bundle boto3 and botocore (Lambda's own copy may predate the s3vectors API).")
def functions_package(output: Path, with_boto3: bool) -> None:
    """Build the deployment zip for AWS Lambda (handler pgs3v.bridge.handler.handler)."""
    from pgs3v.bridge.packaging import build_zip

    size = build_zip(output, with_boto3=with_boto3)
    click.echo(f"wrote {output} ({size / 1e6:.1f} MB); handler: pgs3v.bridge.handler.handler")


def register(main: click.Group) -> None:
    """Add the ``functions`` command group to ``main``."""
    main.add_command(functions)


def standalone() -> None:
    """Run ``functions ...`` without the main ``pgs3v`` command (used by FunctionHostProcess)."""

    @click.group()
    def root() -> None:
        """pgs3v (bridge commands only)."""

    register(root)
    root()
