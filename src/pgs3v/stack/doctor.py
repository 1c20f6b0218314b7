"""``pgs3v doctor``: find what keeps SQL from reaching the vectors, and say how to fix each."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psycopg

from pgs3v.stack import postgres
from pgs3v.stack.certificates import certificate_file_findings, handshake_finding
from pgs3v.stack.findings import Finding as Finding  # re-exported: doctor's findings
from pgs3v.stack.least_privilege import ROLE_FUNCTIONS, invoke_credentials
from pgs3v.stack.local_stack import DATABASE, FUNCTION_NAME, LocalStack, StackSettings
from pgs3v.tls import ca_file_from


def _boto_client(service: str, endpoint: str, stack: LocalStack, settings: StackSettings) -> Any:
    import boto3
    from botocore.config import Config

    credentials = stack.credentials()
    return boto3.session.Session().client(
        service, endpoint_url=endpoint, region_name=settings.region,
        aws_access_key_id=credentials.access_key_id, aws_secret_access_key=credentials.secret_access_key,
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=2, read_timeout=5),
        verify=settings.tls_ca,  # None: botocore's default ($AWS_CA_BUNDLE, else its CAs), never off
    )


def _call(check: str, action: Callable[[], str], fix: str) -> Finding:
    try:
        return Finding(check, True, action())
    except Exception as problem:  # every failure is a finding, whatever raised it
        return Finding(check, False, f"{type(problem).__name__}: {_message(problem)}".strip()[:400], fix)


def _message(problem: Exception) -> str:
    if isinstance(problem, psycopg.Error) and problem.diag.message_primary:
        # The message and its hint; the CONTEXT lines (the PL/pgSQL call stack) only bury them.
        hint = problem.diag.message_hint
        return problem.diag.message_primary + (f" (hint: {hint})" if hint else "")
    return str(problem)


def tls_findings(cert_file: Path | None, key_file: Path | None, endpoints: Sequence[str],
                 ca_file: str | None = None) -> list[Finding]:
    """A server certificate's file checks, and a verifying handshake with each https endpoint."""
    findings = [] if cert_file is None else certificate_file_findings(cert_file, key_file)
    ca = ca_file or ca_file_from()
    findings += [handshake_finding(endpoint, ca_file=ca) for endpoint in endpoints if endpoint.startswith("https:")]
    return findings


def diagnose(data_dir: Path, *, cert_file: Path | None = None, key_file: Path | None = None,
             endpoints: Sequence[str] = (), ca_file: str | None = None) -> list[Finding]:
    """Run every check in order; later checks are skipped when what they need is missing.

    ``cert_file`` (and ``key_file``) is a server certificate to check, ``endpoints`` more servers
    to connect to over TLS, trusting ``ca_file`` (default: $AWS_CA_BUNDLE, else the system's CAs).
    """
    # Read at call time, not import time, so that tests can point them somewhere else.
    bin_dir, plpython_control = postgres.BIN_DIR, postgres.PLPYTHON_CONTROL
    install = "   (or run `pgs3v up` as root, which installs it)"
    binaries = (bin_dir / "postgres").exists()
    findings = tls_findings(cert_file, key_file, endpoints, ca_file)
    findings += [
        Finding("PostgreSQL 15 binaries", binaries, f"{bin_dir}{'' if binaries else ' has no postgres program'}",
                f"apt-get install -y {postgres.DEBIAN_PACKAGES[0]}{install}"),
        Finding("PL/Python 3 for PostgreSQL 15", plpython_control.exists(),
                f"{plpython_control}{'' if plpython_control.exists() else ' is missing'}",
                f"apt-get install -y {postgres.DEBIAN_PACKAGES[1]}{install}"),
    ]
    stack = LocalStack(data_dir)
    settings = stack.settings()
    if settings is None:
        findings.append(Finding("local stack", False, f"no stack.json in {stack.data_dir}",
                                f"pgs3v up --data-dir {data_dir}"))
        return findings
    if settings.tls_cert is not None:
        findings += certificate_file_findings(Path(settings.tls_cert), Path(settings.tls_key or settings.tls_cert))
        findings += [handshake_finding(endpoint, ca_file=settings.tls_ca)
                     for endpoint in (stack.store_endpoint(settings), stack.function_endpoint(settings))]
    cluster = stack.cluster(settings)
    try:
        running = cluster.running()
        findings.append(Finding("PostgreSQL server", running,
                                f"127.0.0.1:{settings.postgres_port}{'' if running else ' is not running'}",
                                f"pgs3v up --data-dir {data_dir}   (log: {cluster.log_file})"))
    except postgres.PostgresError as problem:  # no pg_ctl to ask
        running = False
        findings.append(Finding("PostgreSQL server", False, f"cannot check: {problem}",
                                f"apt-get install -y {postgres.DEBIAN_PACKAGES[0]}{install}"))
    store, functions = stack.store_daemon(settings), stack.functions_daemon(settings)
    store_up = store.healthy()
    findings.append(Finding("store reachable", store_up,
                            f"{stack.store_endpoint(settings)}{'' if store_up else ' does not answer'}",
                            f"pgs3v up --data-dir {data_dir}   (log: {store.log_file})"))
    functions_up = functions.healthy()
    findings.append(Finding("function host reachable", functions_up,
                            f"{stack.function_endpoint(settings)}{'' if functions_up else ' does not answer'}",
                            f"pgs3v up --data-dir {data_dir}   (log: {functions.log_file})"))
    restart = f"pgs3v down --data-dir {data_dir} && pgs3v up --data-dir {data_dir}"
    if store_up:
        findings.append(_call(
            "store accepts the saved credentials",
            lambda: f"{len(_list_buckets(stack, settings))} vector bucket(s)",
            f"{restart}   (the running store uses other credentials than {data_dir}/store/credentials.json)",
        ))
    if functions_up:
        findings.append(_call(
            "function host accepts the saved credentials",
            lambda: _dry_run(stack, settings),
            f"{restart}   (the running function host uses other credentials than {data_dir}/store/credentials.json)",
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
    # The three least-privilege functions too: SQL calls them, not pgs3v-bridge.
    statuses = {name: client.invoke(FunctionName=name, InvocationType="DryRun")["StatusCode"]
                for name in (FUNCTION_NAME, *ROLE_FUNCTIONS)}
    return ", ".join(f"{name} DryRun status {status}" for name, status in statuses.items())


def _database_findings(stack: LocalStack, settings: StackSettings, data_dir: Path) -> list[Finding]:
    dsn = stack.cluster(settings).socket_dsn(DATABASE)
    # Not `pgs3v schema install`: without the endpoint and keys it would leave the shim unconfigured
    # (and the DSN holds the password, which does not belong in output people paste into reports).
    install = f"pgs3v up --data-dir {data_dir}   (installs the schema and points the shim at the function host)"
    try:
        with psycopg.connect(dsn, connect_timeout=5) as connection:
            schema = connection.execute("SELECT 1 FROM pg_namespace WHERE nspname = 's3vectors'").fetchone()
            if schema is None:
                return [Finding("schema s3vectors installed", False,
                                f"database {DATABASE} has no schema s3vectors", install)]
            findings = [Finding("schema s3vectors installed", True, f"database {DATABASE}")]
            findings.extend(_shim_findings(connection, stack, settings, install))
    except psycopg.Error as problem:
        return [Finding("database reachable", False, str(problem).strip(), install)]
    findings.append(_call(
        "SQL reaches the store end to end",
        lambda: _end_to_end(dsn),
        "see the findings above; the function host log may say more",
    ))
    return findings


def _shim_findings(connection: psycopg.Connection[tuple[object, ...]], stack: LocalStack, settings: StackSettings,
                   fix: str) -> list[Finding]:
    real_extension = connection.execute(
        "SELECT 1 FROM pg_extension WHERE extname = 'aws_lambda'").fetchone()
    if real_extension:
        return [Finding("aws_lambda", True, "AWS's aws_lambda extension (Aurora): endpoint managed by AWS")]
    from pgs3v.sql_schema.installer import shim_endpoint

    expected = stack.function_endpoint(settings)
    configured = shim_endpoint(connection)
    findings = [Finding("aws_lambda shim endpoint configured", configured == expected,
                        f"{configured or 'not set'} (expected {expected})", fix)]
    if configured is None:
        return findings
    if configured.startswith("https:"):
        # What the shim will see, trusting what the shim trusts (its stored CAs, else the system's).
        ca_row = connection.execute("SELECT ca_certificates FROM aws_lambda_shim.configuration()").fetchone()
        stored = str(ca_row[0]) if ca_row and ca_row[0] else None
        findings.append(handshake_finding(configured, ca_data=stored, who="the aws_lambda shim"))
    # A shim signing with other keys than the function host checks gets 403 on every call; with
    # the owner's, it would work but hold a key that can do anything on the store.
    row = connection.execute("SELECT access_key_id FROM aws_lambda_shim.configuration()").fetchone()
    key = row[0] if row else None
    findings.append(_call(
        "aws_lambda shim signs with the invoke key",
        lambda: _same_key(key, invoke_credentials(stack.data_dir / "store").access_key_id),
        fix,
    ))
    return findings


def _same_key(configured: object, expected: str) -> str:
    if configured != expected:
        raise ValueError(f"the shim signs with access key {configured or 'none'}, the stack's invoke key is {expected}")
    return f"access key {expected}"


def _end_to_end(dsn: str) -> str:
    with psycopg.connect(dsn, connect_timeout=5) as connection:
        rows = connection.execute("SELECT count(*) FROM s3vectors.list_vector_buckets()").fetchone()
    return f"s3vectors.list_vector_buckets() returned {rows[0] if rows else 0} row(s)"
