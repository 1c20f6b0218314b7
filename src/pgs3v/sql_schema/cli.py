"""``pgs3v schema install | uninstall``: pgs3v's SQL in a database, from the command line.

Defined here and added to the main command with :func:`register`; psycopg is imported only
when a command runs, so ``pgs3v --help`` stays fast.
"""

from __future__ import annotations

from typing import TextIO

import click

from pgs3v.auth.credentials import ACCESS_KEY_ENV, SECRET_KEY_ENV

DSN_HELP = "libpq connection string or URI of the database, as a superuser (Aurora: the master user)."


@click.group("schema")
def schema() -> None:
    """Install or remove schema s3vectors (and the local aws_lambda shim) in a database."""


@schema.command("install")
@click.option("--dsn", required=True, help=DSN_HELP)
@click.option("--function-endpoint", default=None, metavar="URL",
              help="Lambda Invoke endpoint for the local aws_lambda shim, e.g. http://127.0.0.1:8760 "
                   "(not on Aurora, where AWS's aws_lambda extension calls the real Lambda).")
@click.option("--access-key-id", envvar=ACCESS_KEY_ENV, default=None, show_envvar=True,
              help="Key the shim signs requests with (SigV4, service lambda).")
@click.option("--secret-access-key", envvar=SECRET_KEY_ENV, default=None, show_envvar=True,
              help="Its secret; stored where only the shim's owner role can read it.")
@click.option("--region", default="us-east-1", show_default=True, help="Region the shim signs for.")
@click.option("--timeout", "timeout_seconds", default=30.0, show_default=True, type=click.FloatRange(0.001, 900),
              help="Seconds the shim waits to connect to the function host and for each answer.")
@click.option("--function", "--function-name", "function_name", default=None, metavar="NAME",
              help="The bridge Lambda function: a name or ARN [default: pgs3v-bridge, or as installed]; "
                   "it serves every operation the next two do not take.")
@click.option("--query-function", "query_function_name", default=None, metavar="NAME",
              help="The function for QueryVectors, GetVectors and ListVectors [default: --function, or as installed].")
@click.option("--write-function", "write_function_name", default=None, metavar="NAME",
              help="The function for PutVectors and DeleteVectors [default: --function, or as installed].")
@click.option("--tls-ca", type=click.File("r"), default=None, metavar="FILE",
              help="CA certificates (PEM) the shim trusts for an https --function-endpoint; stored in the database, "
                   "since the database server may not be able to read the file [default: the system's CAs].")
def schema_install(dsn: str, function_endpoint: str | None, access_key_id: str | None,
                   secret_access_key: str | None, region: str, timeout_seconds: float,
                   function_name: str | None, query_function_name: str | None,
                   write_function_name: str | None, tls_ca: TextIO | None) -> None:
    """Install or upgrade pgs3v in a database (running it again is harmless).

    Uses AWS's aws_lambda extension where the server has it (Aurora, RDS); elsewhere installs
    the PL/Python shim with the same functions. Then brings schema s3vectors to the newest
    version, running the upgrade scripts in order.
    """
    from pgs3v.sql_schema.installer import SchemaError, install_schema

    if function_endpoint is None:
        # Keys from the environment are for the shim's endpoint; without one they are not used.
        access_key_id = secret_access_key = None
    try:
        report = install_schema(
            dsn, function_endpoint=function_endpoint, region=region, access_key_id=access_key_id,
            secret_access_key=secret_access_key, timeout_seconds=timeout_seconds, function_name=function_name,
            query_function_name=query_function_name, write_function_name=write_function_name,
            ca_certificates=None if tls_ca is None else tls_ca.read(),
        )
    except SchemaError as problem:
        raise click.ClickException(str(problem)) from None
    ran = ", ".join(report.scripts_run) or "nothing (already up to date)"
    click.echo(f"pgs3v schema {report.schema_version} via {report.lambda_provider}; ran {ran}")
    if report.pgvector:
        click.echo("pgvector found: functions also take its vector type")
    if not report.shim_configured:
        click.echo("note: the aws_lambda shim has no endpoint yet; run again with --function-endpoint URL")


@schema.command("uninstall")
@click.option("--dsn", required=True, help=DSN_HELP)
def schema_uninstall(dsn: str) -> None:
    """Remove pgs3v from a database: schemas, functions, types, settings, and unused roles."""
    from pgs3v.sql_schema.installer import SchemaError, uninstall_schema

    try:
        report = uninstall_schema(dsn)
    except SchemaError as problem:
        raise click.ClickException(str(problem)) from None
    for item in report.removed:
        click.echo(f"removed {item}")
    for role, reason in report.kept_roles.items():
        click.echo(f"kept role {role}: {reason}")


def register(main: click.Group) -> None:
    """Add the ``schema`` command group to ``main``."""
    main.add_command(schema)
