"""`pgs3v aws install`: schema s3vectors on the cluster, pointed at the deployed functions.

On Aurora, install_schema runs ``CREATE EXTENSION aws_lambda CASCADE`` and names the functions in
``s3vectors.settings``. A PostgreSQL without AWS's extension (the local stack standing in for the
cluster in tests) gets pgs3v's shim instead, pointed at ``--function-endpoint``.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import psycopg
from psycopg.conninfo import make_conninfo

from pgs3v.aws.config import AwsConfig
from pgs3v.aws.errors import AwsStepError
from pgs3v.sql_schema.installer import install_schema, installed_version, uninstall_schema

CONNINFO_VARIABLE = "PGS3V_AWS_CONNINFO"
Say = Callable[[str], None]


def cluster_conninfo(config: AwsConfig, conninfo: str | None, user: str, dbname: str) -> str:
    """How to reach the cluster: ``conninfo`` (or $PGS3V_AWS_CONNINFO), else its writer endpoint over TLS.

    The password comes the libpq way: ``PGPASSWORD`` or ``~/.pgpass``, never the config file.
    """
    given = conninfo or os.environ.get(CONNINFO_VARIABLE)
    if given:
        return given
    if not config.cluster_endpoint:
        raise AwsStepError("the config has no cluster endpoint: run `pgs3v aws configure` or give --conninfo")
    return make_conninfo(host=config.cluster_endpoint, port=config.cluster_port, dbname=dbname,
                                          user=user, sslmode="require", connect_timeout=10)


def current_version(conninfo: str) -> str | None:
    """The installed schema version, or None; an AwsStepError with the fix when the cluster cannot be reached."""
    try:
        return installed_version(conninfo)
    except psycopg.OperationalError as problem:
        first = str(problem).strip().splitlines()[0] if str(problem).strip() else "no answer"
        raise AwsStepError(f"cannot connect to the cluster ({first}): run this where the cluster's endpoint is "
                           "reachable (its VPC, a bastion or VPN), with PGPASSWORD set, or give --conninfo") from None


def install(config: AwsConfig, conninfo: str, *, dry_run: bool, say: Say, function_endpoint: str | None = None,
            access_key_id: str | None = None, secret_access_key: str | None = None) -> None:
    """Install or upgrade the schema on the cluster, naming the deployed functions."""
    names = config.function_names()
    if not config.outputs:
        raise AwsStepError("the config has no stack outputs: run `pgs3v aws deploy` first")
    before = current_version(conninfo)
    say(f"schema s3vectors on the cluster: {before or 'not installed'}")
    if dry_run:
        say("  would run  CREATE EXTENSION IF NOT EXISTS aws_lambda CASCADE (a shim where AWS's extension is absent)")
        say(f"  would run  the pgs3v install/upgrade scripts, functions query={names['query']} "
            f"write={names['write']} manage={names['manage']}")
        return
    try:
        report = install_schema(conninfo, function_endpoint=function_endpoint, region=config.region,
                                access_key_id=access_key_id, secret_access_key=secret_access_key,
                                function_name=names["manage"], query_function_name=names["query"],
                                write_function_name=names["write"])
    except psycopg.Error as problem:
        raise AwsStepError(f"installing the schema failed: {problem}".strip()) from None
    ran = ", ".join(report.scripts_run) or "nothing to run"
    say(f"schema s3vectors {report.schema_version} with the {report.lambda_provider} ({ran})")
    say(f"functions: query={names['query']} write={names['write']} manage={names['manage']}")


def uninstall(conninfo: str, *, dry_run: bool, say: Say) -> list[str]:
    """Remove the schema from the cluster (the aws_lambda extension itself stays); the roles kept, and why."""
    version = current_version(conninfo)
    if version is None:
        say("schema s3vectors: not installed")
        return []
    if dry_run:
        say(f"  would run  pgs3v uninstall (schema s3vectors {version}, its roles when unused)")
        return []
    report = uninstall_schema(conninfo)
    say(f"removed: {', '.join(report.removed)}")
    return [f"role {role} kept, still used: {reason}" for role, reason in report.kept_roles.items()]
