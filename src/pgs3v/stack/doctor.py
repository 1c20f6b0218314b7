"""``pgs3v doctor``: find what keeps SQL from reaching the vectors, and say how to fix each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from pgs3v.stack.local_stack import DATABASE, FUNCTION_NAME, LocalStack, StackSettings
from pgs3v.stack.postgres import BIN_DIR, PLPYTHON_CONTROL


@dataclass(frozen=True)
class Finding:
    """One check: did it pass, what was seen, and what to do when it did not."""

    check: str
    ok: bool
    detail: str
    fix: str = ""


def _boto_client(service: str, endpoint: str, stack: LocalStack, settings: StackSettings) -> Any:
    import boto3
    from botocore.config import Config

    credentials = stack.credentials()
    return boto3.session.Session().client(
        service, endpoint_url=endpoint, region_name=settings.region,
        aws_access_key_id=credentials.access_key_id, aws_secret_access_key=credentials.secret_access_key,
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=2, read_timeout=5),
    )


def _call(check: str, action: Callable[[], str], fix: str) -> Finding:
    try:
        return Finding(check, True, action())
    except Exception as problem:  # every failure is a finding, whatever raised it
        return Finding(check, False, f"{type(problem).__name__}: {problem}".strip()[:400], fix)


def diagnose(data_dir: Path) -> list[Finding]:
    """Run every check in order; later checks are skipped when what they need is missing."""
    findings = [
        Finding("PostgreSQL 15 binaries", (BIN_DIR / "postgres").exists(), str(BIN_DIR),
                "apt-get install -y postgresql-15   (or run `pgs3v up` as root, which installs it)"),
        Finding("PL/Python 3 for PostgreSQL 15", PLPYTHON_CONTROL.exists(), str(PLPYTHON_CONTROL),
                "apt-get install -y postgresql-plpython3-15"),
    ]
    stack = LocalStack(data_dir)
    settings = stack.settings()
    if settings is None:
        findings.append(Finding("local stack", False, f"no stack.json in {stack.data_dir}",
                                f"pgs3v up --data-dir {data_dir}"))
        return findings
    cluster = stack.cluster(settings)
    running = cluster.running()
    findings.append(Finding("PostgreSQL server", running, f"127.0.0.1:{settings.postgres_port}",
                            f"pgs3v up --data-dir {data_dir}   (log: {cluster.log_file})"))
    store, functions = stack.store_daemon(settings), stack.functions_daemon(settings)
    store_up = store.healthy()
    findings.append(Finding("store reachable", store_up, stack.store_endpoint(settings),
                            f"pgs3v up --data-dir {data_dir}   (log: {store.log_file})"))
    functions_up = functions.healthy()
    findings.append(Finding("function host reachable", functions_up, stack.function_endpoint(settings),
                            f"pgs3v up --data-dir {data_dir}   (log: {functions.log_file})"))
    restart = f"pgs3v down --data-dir {data_dir} && pgs3v up --data-dir {data_dir}"
    if store_up:
        findings.append(_call(
            "store accepts the saved credentials",
            lambda: f"{len(_list_buckets(stack, settings))} vector bucket(s)",
            f"the running store uses other credentials than {data_dir}/store/credentials.json: {restart}",
        ))
    if functions_up:
        findings.append(_call(
            "function host accepts the saved credentials",
            lambda: _dry_run(stack, settings),
            f"the running function host uses other credentials: {restart}",
        ))
    if running:
        findings.extend(_database_findings(stack, settings, data_dir))
    return findings


def _list_buckets(stack: LocalStack, settings: StackSettings) -> list[object]:
    client = _boto_client("s3vectors", stack.store_endpoint(settings), stack, settings)
    buckets: list[object] = client.list_vector_buckets()["vectorBuckets"]
    return buckets


def _dry_run(stack: LocalStack, settings: StackSettings) -> str:
    client = _boto_client("lambda", stack.function_endpoint(settings), stack, settings)
    response = client.invoke(FunctionName=FUNCTION_NAME, InvocationType="DryRun")
    return f"{FUNCTION_NAME} DryRun status {response['StatusCode']}"


def _database_findings(stack: LocalStack, settings: StackSettings, data_dir: Path) -> list[Finding]:
    dsn = stack.cluster(settings).socket_dsn(DATABASE)
    install = f"pgs3v up --data-dir {data_dir}   (or: pgs3v schema install --dsn '{stack.postgres_dsn(settings)}')"
    try:
        with psycopg.connect(dsn, connect_timeout=5) as connection:
            schema = connection.execute("SELECT 1 FROM pg_namespace WHERE nspname = 's3vectors'").fetchone()
            if schema is None:
                return [Finding("schema s3vectors installed", False, f"database {DATABASE}", install)]
            findings = [Finding("schema s3vectors installed", True, f"database {DATABASE}")]
            findings.append(_shim_endpoint_finding(connection, stack.function_endpoint(settings), install))
    except psycopg.Error as problem:
        return [Finding("database reachable", False, str(problem).strip(), install)]
    findings.append(_call(
        "SQL reaches the store end to end",
        lambda: _end_to_end(dsn),
        "see the findings above; the function host log may say more",
    ))
    return findings


def _shim_endpoint_finding(connection: psycopg.Connection[tuple[object, ...]], expected: str, fix: str) -> Finding:
    real_extension = connection.execute(
        "SELECT 1 FROM pg_extension WHERE extname = 'aws_lambda'").fetchone()
    if real_extension:
        return Finding("aws_lambda", True, "AWS's aws_lambda extension (Aurora): endpoint managed by AWS")
    try:
        from pgs3v.sql_schema.installer import shim_endpoint
    except ImportError:
        return Finding("aws_lambda shim endpoint configured", False, "installer not available", fix)
    configured = shim_endpoint(connection)
    ok = configured == expected
    return Finding("aws_lambda shim endpoint configured", ok, f"{configured or 'not set'} (expected {expected})", fix)


def _end_to_end(dsn: str) -> str:
    with psycopg.connect(dsn, connect_timeout=5) as connection:
        rows = connection.execute("SELECT count(*) FROM s3vectors.list_vector_buckets()").fetchone()
    return f"s3vectors.list_vector_buckets() returned {rows[0] if rows else 0} row(s)"
