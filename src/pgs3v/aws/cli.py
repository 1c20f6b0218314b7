"""``pgs3v aws ...``: deploy pgs3v next to an Aurora PostgreSQL cluster, step by step.

Each command is idempotent and takes ``--dry-run``, which prints the AWS calls it would make and
makes none that change anything. ``register(main)`` adds the group to the ``pgs3v`` command.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import click
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from pgs3v.aws.calls import AwsCalls
from pgs3v.aws.clients import ENDPOINT_VARIABLE, S3VECTORS_ENDPOINT_VARIABLE, Clients, endpoint_from_environment
from pgs3v.aws.config import AwsConfig, ConfigError, config_path, load_config, save_config
from pgs3v.aws.errors import AwsStepError
from pgs3v.sql_schema.installer import SchemaError

F = TypeVar("F", bound=Callable[..., Any])


def _common(dry_run: bool = True) -> Callable[[F], F]:
    """The options every command takes: the config file, the endpoints, and (mostly) --dry-run."""

    def decorate(command: F) -> F:
        options = [
            click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
                         help="The config file [default: $PGS3V_AWS_CONFIG or ~/.config/pgs3v/aws.json]."),
            click.option("--endpoint-url", default=None, metavar="URL",
                         help=f"Send every AWS call here, e.g. a moto server [default: ${ENDPOINT_VARIABLE}, "
                              "else the config's, else AWS]."),
            click.option("--s3vectors-endpoint", default=None, metavar="URL",
                         help=f"Where S3 Vectors is, e.g. a pgs3v store [default: ${S3VECTORS_ENDPOINT_VARIABLE}, "
                              "else the config's, else AWS]."),
        ]
        if dry_run:
            options.append(click.option("--dry-run", is_flag=True, default=False,
                                        help="Print the AWS calls that would change something; make none."))
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def _reporting(command: F) -> F:
    """Turn the steps' errors into one line with the fix, never a traceback."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (AwsStepError, ConfigError, SchemaError) as problem:
            raise click.ClickException(str(problem)) from None
        except ClientError as problem:
            raise click.ClickException(f"AWS refused: {problem}") from None
        except (BotoCoreError, ResponseParserError) as problem:
            raise click.ClickException(f"AWS call failed: {problem} (check the region, credentials and "
                                       "--endpoint-url)") from None

    return run  # type: ignore[return-value]


def _calls(config: AwsConfig, endpoint_url: str | None, s3vectors_endpoint: str | None, dry_run: bool) -> AwsCalls:
    endpoint = endpoint_from_environment(endpoint_url, ENDPOINT_VARIABLE, config.endpoint_url)
    s3v = endpoint_from_environment(s3vectors_endpoint, S3VECTORS_ENDPOINT_VARIABLE, config.s3vectors_endpoint)
    if dry_run:
        click.echo("dry run: read-only calls run, calls that change something are only printed")
    return AwsCalls(Clients(config.region, endpoint, s3v), dry_run=dry_run, say=click.echo)


def _load(config_file: Path | None) -> tuple[Path, AwsConfig]:
    path = config_path(config_file)
    return path, load_config(path)


@click.group("aws")
def aws() -> None:
    """pgs3v on AWS: configure, deploy, associate, install, load-sample, status, doctor, cleanup.

    Credentials are boto3's usual ones (AWS_PROFILE, AWS_ACCESS_KEY_ID, an instance role). The
    steps keep what they learn in the config file (mode 0600). Walkthrough: docs/aws.md.
    """


@aws.command("configure")
@click.option("--cluster-id", default=None, help="The Aurora PostgreSQL cluster's identifier.")
@click.option("--region", default=None, help="Its region [default: the config's, $AWS_REGION, $AWS_DEFAULT_REGION].")
@click.option("--stack-name", default=None, help="The CloudFormation stack [default: pgs3v].")
@click.option("--name-prefix", default=None, help="Prefix of the functions' names [default: pgs3v].")
@click.option("--code-bucket", default=None, help="S3 bucket for the zip [default: pgs3v-code-ACCOUNT-REGION].")
@click.option("--vector-bucket", default=None, help="The vector bucket [default: pgs3v-catalog].")
@click.option("--index", "index_name", default=None, help="The sample's index [default: products].")
@click.option("--store-endpoint", default=None,
              help="An S3 Vectors API the functions call instead of Amazon S3 Vectors (PGS3V_STORE_ENDPOINT).")
@_common()
@_reporting
def configure_command(cluster_id: str | None, region: str | None, stack_name: str | None, name_prefix: str | None,
                      code_bucket: str | None, vector_bucket: str | None, index_name: str | None,
                      store_endpoint: str | None, config_file: Path | None, endpoint_url: str | None,
                      s3vectors_endpoint: str | None, dry_run: bool) -> None:
    """Read the cluster's endpoint, VPC, subnets and security groups into the config file."""
    from pgs3v.aws.configure import configure

    path = config_path(config_file)
    kept = load_config(path) if path.exists() else None
    cluster = cluster_id or (kept.cluster_id if kept else None)
    chosen_region = (region or (kept.region if kept else None) or os.environ.get("AWS_REGION")
                     or os.environ.get("AWS_DEFAULT_REGION"))
    if not cluster or not chosen_region:
        raise click.UsageError("give --cluster-id and --region (or set AWS_REGION)")
    base = kept if kept and kept.cluster_id == cluster and kept.region == chosen_region else AwsConfig(
        cluster, chosen_region)
    changes: dict[str, Any] = {name: value for name, value in (
        ("stack_name", stack_name), ("name_prefix", name_prefix), ("code_bucket", code_bucket),
        ("vector_bucket", vector_bucket), ("index_name", index_name), ("store_endpoint", store_endpoint),
        ("endpoint_url", endpoint_url), ("s3vectors_endpoint", s3vectors_endpoint)) if value is not None}
    base = replace(base, **changes)
    calls = _calls(base, endpoint_url, s3vectors_endpoint, dry_run)
    config = configure(calls, base)
    click.echo(f"cluster {config.cluster_id}: {config.cluster_endpoint}:{config.cluster_port} ({config.engine})")
    click.echo(f"  VPC {config.vpc_id or '-'}, subnets {', '.join(config.subnet_ids) or '-'}, "
               f"security groups {', '.join(config.security_group_ids) or '-'}")
    if dry_run:
        click.echo(f"  would write {path}")
        return
    save_config(config, path)
    click.echo(f"wrote {path}")


@aws.command("deploy")
@click.option("--template", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="A CloudFormation template [default: pgs3v's own].")
@click.option("--in-vpc", is_flag=True, default=False,
              help="Run the functions in the cluster's subnets and security groups (they then need a NAT "
                   "gateway or endpoint to reach S3 Vectors).")
@click.option("--memory", "memory_mb", type=click.IntRange(128, 10240), default=None, help="Functions' MB.")
@click.option("--timeout", "timeout_seconds", type=click.IntRange(1, 900), default=None, help="Functions' seconds.")
@_common()
@_reporting
def deploy_command(template: Path | None, in_vpc: bool, memory_mb: int | None, timeout_seconds: int | None,
                   config_file: Path | None, endpoint_url: str | None, s3vectors_endpoint: str | None,
                   dry_run: bool) -> None:
    """Build and upload the bridge zip, create or update the stack, and wait for it."""
    from pgs3v.aws.deploy import default_template, deploy

    path, config = _load(config_file)
    calls = _calls(config, endpoint_url, s3vectors_endpoint, dry_run)
    config = deploy(calls, config, template or default_template(), in_vpc=in_vpc, memory_mb=memory_mb,
                    timeout_seconds=timeout_seconds)
    if not dry_run:
        save_config(config, path)
        for key, value in sorted(config.outputs.items()):
            click.echo(f"  {key:<22} {value}")


@aws.command("associate")
@_common()
@_reporting
def associate_command(config_file: Path | None, endpoint_url: str | None, s3vectors_endpoint: str | None,
                      dry_run: bool) -> None:
    """Add the stack's Aurora role to the cluster for the feature Lambda."""
    from pgs3v.aws.association import associate

    _, config = _load(config_file)
    associate(_calls(config, endpoint_url, s3vectors_endpoint, dry_run), config)


def _sql_options(command: F) -> F:
    for option in reversed([
        click.option("--conninfo", default=None,
                     help="libpq connection string of the cluster [default: $PGS3V_AWS_CONNINFO, else its "
                          "endpoint with --user, --dbname and PGPASSWORD]."),
        click.option("--user", default="postgres", show_default=True, help="The cluster's master user."),
        click.option("--dbname", default="postgres", show_default=True, help="The database to use."),
    ]):
        command = option(command)
    return command


@aws.command("install")
@_sql_options
@click.option("--function-endpoint", default=None, metavar="URL",
              help="Only for a PostgreSQL without AWS's aws_lambda (local tests): the Lambda Invoke API the "
                   "shim calls.")
@click.option("--access-key-id", default=None, help="With --function-endpoint: the key the shim signs with.")
@click.option("--secret-access-key", default=None, help="With --function-endpoint: its secret.")
@_common()
@_reporting
def install_command(conninfo: str | None, user: str, dbname: str, function_endpoint: str | None,
                    access_key_id: str | None, secret_access_key: str | None, config_file: Path | None,
                    endpoint_url: str | None, s3vectors_endpoint: str | None, dry_run: bool) -> None:
    """Install schema s3vectors on the cluster (CREATE EXTENSION aws_lambda CASCADE), calling the functions."""
    from pgs3v.aws.install import cluster_conninfo, install

    _, config = _load(config_file)
    install(config, cluster_conninfo(config, conninfo, user, dbname), dry_run=dry_run, say=click.echo,
            function_endpoint=function_endpoint, access_key_id=access_key_id, secret_access_key=secret_access_key)


@aws.command("load-sample")
@_sql_options
@click.option("--tables/--no-tables", default=True, show_default=True,
              help="Also load the catalog's tables (schema shop) into the cluster.")
@_common()
@_reporting
def load_sample_command(conninfo: str | None, user: str, dbname: str, tables: bool, config_file: Path | None,
                        endpoint_url: str | None, s3vectors_endpoint: str | None, dry_run: bool) -> None:
    """Create the vector bucket and index and put the 5,202 sample products (and their tables)."""
    from pgs3v.aws.install import cluster_conninfo
    from pgs3v.aws.sample import load_sample

    path, config = _load(config_file)
    target = cluster_conninfo(config, conninfo, user, dbname) if tables else None
    load_sample(_calls(config, endpoint_url, s3vectors_endpoint, dry_run), config, target)
    if target is not None and not dry_run:
        config.sample_tables = True  # so that cleanup --delete-sample-tables knows schema shop is the sample's
        save_config(config, path)


def _checks(config_file: Path | None, endpoint_url: str | None, s3vectors_endpoint: str | None,
            conninfo: str | None, user: str, dbname: str) -> list[Any]:
    from pgs3v.aws.checks import run_checks

    _, config = _load(config_file)
    from pgs3v.aws.install import CONNINFO_VARIABLE, cluster_conninfo

    target = conninfo or os.environ.get(CONNINFO_VARIABLE)
    # Without a password the SQL checks are skipped (and say so) rather than failing to log in.
    if target is None and os.environ.get("PGPASSWORD") and config.cluster_endpoint:
        target = cluster_conninfo(config, None, user, dbname)
    return run_checks(_calls(config, endpoint_url, s3vectors_endpoint, False), config, target)


_MARKS = {True: "ok  ", False: "FAIL", None: "skip"}


@aws.command("status")
@_sql_options
@_common(dry_run=False)
@_reporting
def status_command(conninfo: str | None, user: str, dbname: str, config_file: Path | None,
                   endpoint_url: str | None, s3vectors_endpoint: str | None) -> None:
    """Show each part: cluster, stack, functions, roles, association, network, schema, index."""
    for check in _checks(config_file, endpoint_url, s3vectors_endpoint, conninfo, user, dbname):
        click.echo(f"{_MARKS[check.ok]}  {check.name:<16} {check.detail}")


@aws.command("doctor")
@_sql_options
@_common(dry_run=False)
@_reporting
def doctor_command(conninfo: str | None, user: str, dbname: str, config_file: Path | None,
                   endpoint_url: str | None, s3vectors_endpoint: str | None) -> None:
    """Check every step; print each failure with its fix; exit 1 when any failed."""
    results = _checks(config_file, endpoint_url, s3vectors_endpoint, conninfo, user, dbname)
    for check in results:
        click.echo(f"{_MARKS[check.ok]}  {check.name:<16} {check.detail}")
        if check.ok is False:
            click.echo(f"      fix: {check.fix}")
    failed = [check.name for check in results if check.ok is False]
    if failed:
        raise click.ClickException(f"{len(failed)} check(s) failed: {', '.join(failed)}")
    click.echo("all checks passed")


@aws.command("cleanup")
@_sql_options
@click.option("--delete-vector-bucket", is_flag=True, default=False,
              help="Also delete the vector bucket and its indexes (kept by default: it holds your vectors).")
@click.option("--delete-sample-tables", is_flag=True, default=False,
              help="Also drop the tables load-sample made (schema shop).")
@_common()
@_reporting
def cleanup_command(conninfo: str | None, user: str, dbname: str, delete_vector_bucket: bool,
                    delete_sample_tables: bool, config_file: Path | None, endpoint_url: str | None,
                    s3vectors_endpoint: str | None, dry_run: bool) -> None:
    """Uninstall the schema, disassociate the role, delete the stack and the code (the bucket when asked)."""
    from pgs3v.aws.cleanup import cleanup
    from pgs3v.aws.install import cluster_conninfo

    path, config = _load(config_file)
    target: str | None
    try:
        target = cluster_conninfo(config, conninfo, user, dbname)
    except AwsStepError:
        target = None
    cleaned, left = cleanup(_calls(config, endpoint_url, s3vectors_endpoint, dry_run), config, target,
                            delete_vector_bucket=delete_vector_bucket, delete_sample_tables=delete_sample_tables)
    if not dry_run:
        save_config(cleaned, path)
    if left:
        for item in left:
            click.echo(f"left: {item}")
        raise click.ClickException(f"cleanup incomplete: {len(left)} thing(s) left, listed above")
    click.echo("nothing left" if not dry_run else "dry run: nothing changed")


def register(main: click.Group) -> None:
    """Add ``pgs3v aws`` to the command line."""
    main.add_command(aws)
