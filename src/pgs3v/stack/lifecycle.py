"""``pgs3v up``, ``down`` and ``status``: the local stack's lifecycle."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from pgs3v.stack.least_privilege import (
    MANAGE_FUNCTION,
    QUERY_FUNCTION,
    ROLE_FUNCTIONS,
    WRITE_FUNCTION,
    ensure_bridge_keys,
    invoke_credentials,
)
from pgs3v.stack.local_stack import DATABASE, LocalStack, StackSettings
from pgs3v.stack.postgres import PostgresError
from pgs3v.stack.startup import StackSpec, start_stack
from pgs3v.tls import client_context


class StorageChanged(ValueError):
    """``up`` was asked for other storage than the stack's data is in."""


class TlsChanged(ValueError):
    """``up`` was asked for other TLS settings than the stack was created with."""


def up(data_dir: Path, console: Console, storage: str | None = None,
       s3_endpoint: str | None = None, tls: Mapping[str, str] | None = None) -> dict[str, str]:
    """Start everything (reusing what runs and what is on disk) and return connection.json's content.

    ``storage`` (``s3://BUCKET[/PREFIX]``, with ``s3_endpoint``) is chosen on the first ``up`` and
    kept; asking a later ``up`` for another is an error, as the data stays where it was written.
    ``tls`` (tls_cert, tls_key, tls_ca: absolute paths) is chosen on the first ``up`` and kept too.
    """
    stack = LocalStack(data_dir)
    settings = stack.settings(create=True, storage=storage, s3_endpoint=s3_endpoint, tls=tls)
    assert settings is not None
    if tls and any(getattr(settings, name) != value for name, value in tls.items()):
        raise TlsChanged("this stack was created with other TLS settings (stack.json); use another --data-dir, "
                         "or edit stack.json and run `pgs3v down` and `pgs3v up`")
    if storage is not None and (storage, s3_endpoint) != (settings.storage, settings.s3_endpoint):
        where = settings.storage or f"{data_dir / 'store'}"
        raise StorageChanged(f"this stack keeps its data in {where}; use another --data-dir for other storage")
    # Least privilege: SQL reaches the store through three functions, each with a key that can do
    # only its part; made on the first `up`, reused (and their policies kept current) after.
    # PostgreSQL holds a fourth, which may only invoke those three (the template's AuroraLambdaRole).
    ensure_bridge_keys(stack.data_dir / "store", settings.region)
    ca = Path(settings.tls_ca).read_text() if settings.tls_ca else None
    spec = StackSpec(stack.cluster(settings), settings.postgres_password, invoke_credentials(stack.data_dir / "store"),
                     {DATABASE: MANAGE_FUNCTION}, settings.region, ca_certificates=ca, query_function=QUERY_FUNCTION,
                     write_function=WRITE_FUNCTION)
    start_stack(spec, _Daemons(stack, settings), install=True, say=console.print)
    path = stack.write_connection_file(settings)
    console.print(f"connection details {path}")
    return {k: str(v) for k, v in stack.connection(settings).items()}


@dataclass(frozen=True)
class _Daemons:
    """``up``'s Servers: daemons that outlive the command, found again through their pid files."""

    stack: LocalStack
    settings: StackSettings

    def start_store(self) -> str:
        """Start the store daemon unless it runs; its endpoint."""
        self.stack.store_daemon(self.settings).start(self.stack.store_command(self.settings),
                                                     self.stack.server_environment())
        return self.stack.store_endpoint(self.settings)

    def start_function_host(self, store_endpoint: str) -> str:
        """Start the function host daemon (in front of the stack's own store) unless it runs; its endpoint."""
        region = self.settings.region
        daemon = self.stack.functions_daemon(self.settings)
        endpoint = self.stack.function_endpoint(self.settings)
        if daemon.pid() is not None and not _serves(endpoint, ROLE_FUNCTIONS, self.settings.tls_ca):
            # Started by an older `up`: without the least-privilege functions SQL now calls, or
            # accepting only the owner's key, not the invoke key PostgreSQL now signs with.
            daemon.stop()
        daemon.start(
            self.stack.functions_command(self.settings),
            {**self.stack.server_environment(), "AWS_REGION": region, "AWS_DEFAULT_REGION": region},
        )
        return self.stack.function_endpoint(self.settings)


def _serves(endpoint: str, names: tuple[str, ...], ca_file: str | None) -> bool:
    """Whether the host at ``endpoint`` serves all of ``names`` and authorizes registry keys (False: no answer)."""
    # An https host (up --tls-*) is asked trusting the stack's CA, as every other client of it is.
    context = client_context(ca_file) if endpoint.startswith("https:") else None
    try:
        with urllib.request.urlopen(f"{endpoint}/_pgs3v/health", timeout=2.0, context=context) as answer:
            health = json.loads(answer.read())
    except (OSError, ValueError):
        return False
    served = health.get("functions", [])
    return all(name in served for name in names) and health.get("authorizes") is True


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
