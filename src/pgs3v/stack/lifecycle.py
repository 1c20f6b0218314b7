"""``pgs3v up``, ``down`` and ``status``: the local stack's lifecycle."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from rich.console import Console

from pgs3v.stack.local_stack import DATABASE, LocalStack, StackSettings
from pgs3v.stack.postgres import PostgresError, install_packages, missing_packages


def up(data_dir: Path, console: Console) -> dict[str, str]:
    """Start everything (reusing what runs and what is on disk) and return connection.json's content."""
    stack = LocalStack(data_dir)
    settings = stack.settings(create=True)
    assert settings is not None
    missing = missing_packages()
    if missing:
        console.print(f"Installing Debian packages: {', '.join(missing)} ...")
        install_packages(missing)
    cluster = stack.cluster(settings)
    if not cluster.initialized():
        console.print(f"Creating the PostgreSQL cluster in {cluster.root} ...")
        cluster.init(settings.postgres_password)
    cluster.start()
    _ensure_database(cluster.socket_dsn())
    console.print(f"PostgreSQL 15      127.0.0.1:{settings.postgres_port}  (database {DATABASE})")

    environment = stack.server_environment()
    stack.store_daemon(settings).start(stack.store_command(settings), environment)
    console.print(f"store              {stack.store_endpoint(settings)}")
    stack.functions_daemon(settings).start(
        stack.functions_command(settings),
        {**environment, "AWS_REGION": settings.region, "AWS_DEFAULT_REGION": settings.region},
    )
    console.print(f"function host      {stack.function_endpoint(settings)}")

    from pgs3v.sql_schema.installer import install_schema

    credentials = stack.credentials()
    install_schema(
        cluster.socket_dsn(DATABASE),
        function_endpoint=stack.function_endpoint(settings),
        region=settings.region,
        access_key_id=credentials.access_key_id,
        secret_access_key=credentials.secret_access_key,
    )
    console.print("schema s3vectors   installed")
    path = stack.write_connection_file(settings)
    console.print(f"connection details {path}")
    return {k: str(v) for k, v in stack.connection(settings).items()}


def _ensure_database(admin_dsn: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
        if not exists:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))


def down(data_dir: Path, console: Console) -> None:
    """Stop whatever of the stack runs; the data stays for the next ``up``."""
    stack = LocalStack(data_dir)
    settings = stack.settings()
    if settings is None:
        console.print(f"No stack in {data_dir}: nothing to stop.")
        return
    for daemon in (stack.functions_daemon(settings), stack.store_daemon(settings)):
        console.print(f"{daemon.name}: {'stopped' if daemon.stop() else 'was not running'}")
    cluster = stack.cluster(settings)
    was_running = cluster.running()
    cluster.stop()
    console.print(f"PostgreSQL: {'stopped' if was_running else 'was not running'}")


@dataclass(frozen=True)
class ComponentStatus:
    """One line of ``pgs3v status``."""

    name: str
    running: bool
    where: str
    detail: str


def status(data_dir: Path) -> list[ComponentStatus]:
    """What runs, where, and with which pid."""
    stack = LocalStack(data_dir)
    settings = stack.settings()
    if settings is None:
        return []
    return [_postgres_status(stack, settings), *(_daemon_status(stack, settings))]


def _postgres_status(stack: LocalStack, settings: StackSettings) -> ComponentStatus:
    cluster = stack.cluster(settings)
    where = f"127.0.0.1:{settings.postgres_port}"
    try:
        running = cluster.running()
    except PostgresError as problem:  # no pg_ctl to ask: say so rather than fail the whole table
        return ComponentStatus("PostgreSQL 15", False, where, str(problem))
    return ComponentStatus("PostgreSQL 15", running, where, str(cluster.data_directory))


def _daemon_status(stack: LocalStack, settings: StackSettings) -> list[ComponentStatus]:
    rows = []
    for daemon, endpoint in ((stack.store_daemon(settings), stack.store_endpoint(settings)),
                             (stack.functions_daemon(settings), stack.function_endpoint(settings))):
        pid = daemon.pid()
        healthy = pid is not None and daemon.healthy()
        detail = f"pid {pid}, log {daemon.log_file}" if pid else f"log {daemon.log_file}"
        rows.append(ComponentStatus(daemon.name, healthy, endpoint, detail))
    return rows
