"""The whole local stack in one data directory: PostgreSQL, the store and the function host.

Layout of ``DATA_DIR``::

    stack.json          ports and the PostgreSQL password (mode 0600), kept across restarts
    connection.json     what applications need to connect (mode 0600)
    postgres/           the private PostgreSQL 15 cluster
    store/              the store's data (credentials.json, and keys.json with the bridge functions' keys)
    run/                pid files and logs of the store and the function host
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pgs3v.auth.credentials import Credentials, load_or_create_credentials
from pgs3v.durable_files import write_file_atomically
from pgs3v.stack.daemon import Daemon
from pgs3v.stack.least_privilege import MANAGE_FUNCTION, QUERY_FUNCTION, WRITE_FUNCTION, bridge_function_args
from pgs3v.stack.postgres import PostgresCluster

DEFAULT_PORTS = {"postgres": 54329, "store": 8750, "functions": 8760}
# Override the preferred port of each part on a first `up` (0: any free port), so that tests and
# a second stack never grab the ports a developer's own stack, stopped for now, will want back.
PORT_ENV = {"postgres": "PGS3V_POSTGRES_PORT", "store": "PGS3V_STORE_PORT", "functions": "PGS3V_FUNCTIONS_PORT"}
DATABASE = "pgs3v"
REGION = "us-east-1"
FUNCTION_NAME = "pgs3v-bridge"
CLI = (sys.executable, "-c", "from pgs3v.cli import main; main()")


@dataclass
class StackSettings:
    """What must stay the same from one ``up`` to the next."""

    postgres_port: int
    store_port: int
    functions_port: int
    postgres_password: str
    region: str = REGION
    # Where the store keeps its data: None for the data directory, else s3://BUCKET[/PREFIX].
    storage: str | None = None
    s3_endpoint: str | None = None
    # TLS for the store and the function host (absolute paths; chosen on the first `up` and kept):
    # None serves plain HTTP on loopback, the default (docs/tls.md).
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_ca: str | None = None

    @property
    def scheme(self) -> str:
        """``https`` when the servers have a certificate, else ``http``."""
        return "http" if self.tls_cert is None else "https"

    def tls_args(self) -> list[str]:
        """The servers' ``--tls-cert``/``--tls-key`` (none for plain HTTP)."""
        if self.tls_cert is None or self.tls_key is None:
            return []
        return ["--tls-cert", self.tls_cert, "--tls-key", self.tls_key]


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def preferred_ports(environ: Mapping[str, str] | None = None) -> dict[str, int]:
    """The port each part asks for on a first ``up``: DEFAULT_PORTS unless PORT_ENV says otherwise."""
    env = os.environ if environ is None else environ
    ports = {}
    for name, default in DEFAULT_PORTS.items():
        value = env.get(PORT_ENV[name], "").strip()
        if value and not (value.isdigit() and int(value) < 65536):
            raise ValueError(f"{PORT_ENV[name]}={value!r}: expected a port number (0 for any free port)")
        ports[name] = int(value) if value else default
    return ports


def _pick_port(preferred: int, taken: set[int]) -> int:
    if preferred and preferred not in taken and _port_free(preferred):
        return preferred
    while True:
        # The ports picked before are not bound yet, so the kernel may hand one out again.
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port not in taken:
            return port


class LocalStack:
    """Start, stop and describe the local stack living in ``data_dir``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.settings_file = self.data_dir / "stack.json"
        self.connection_file = self.data_dir / "connection.json"

    def settings(self, create: bool = False, storage: str | None = None,
                 s3_endpoint: str | None = None, tls: Mapping[str, str] | None = None) -> StackSettings | None:
        """The saved settings; with ``create``, new ones (free ports, a new password, ``storage``) when none."""
        if self.settings_file.exists():
            return StackSettings(**json.loads(self.settings_file.read_text()))
        if not create:
            return None
        taken: set[int] = set()
        ports = {}
        for name, preferred in preferred_ports().items():
            ports[name] = _pick_port(preferred, taken)
            taken.add(ports[name])
        settings = StackSettings(ports["postgres"], ports["store"], ports["functions"], secrets.token_urlsafe(24),
                                 storage=storage, s3_endpoint=s3_endpoint, **(tls or {}))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        write_file_atomically(self.settings_file, json.dumps(asdict(settings), indent=2).encode())
        return settings

    def cluster(self, settings: StackSettings) -> PostgresCluster:
        """The stack's PostgreSQL cluster."""
        return PostgresCluster(self.data_dir / "postgres", settings.postgres_port)

    def credentials(self) -> Credentials:
        """The store's (and function host's) credentials."""
        return load_or_create_credentials(self.data_dir / "store")

    def store_daemon(self, settings: StackSettings) -> Daemon:
        """The store server."""
        run = self.data_dir / "run"
        return Daemon("store", run / "store.pid", run / "store.log",
                      f"{self.store_endpoint(settings)}/_pgs3v/health", settings.tls_ca)

    def functions_daemon(self, settings: StackSettings) -> Daemon:
        """The Lambda function host."""
        run = self.data_dir / "run"
        return Daemon("function host", run / "functions.pid", run / "functions.log",
                      f"{self.function_endpoint(settings)}/_pgs3v/health", settings.tls_ca)

    def store_command(self, settings: StackSettings) -> list[str]:
        """How the store daemon is started."""
        bucket = ["--storage", settings.storage] if settings.storage else []
        if settings.storage and settings.s3_endpoint:
            bucket += ["--s3-endpoint", settings.s3_endpoint]
        return [*CLI, "store", "serve", "--data-dir", str(self.data_dir / "store"),
                "--port", str(settings.store_port), "--region", settings.region, *bucket, *settings.tls_args()]

    def functions_command(self, settings: StackSettings) -> list[str]:
        """How the function host daemon is started."""
        ca = ["--tls-ca", settings.tls_ca] if settings.tls_ca else []
        return [*CLI, "functions", "serve", "--port", str(settings.functions_port),
                "--store-endpoint", self.store_endpoint(settings), "--region", settings.region,
                "--data-dir", str(self.data_dir / "store"), *bridge_function_args(), *settings.tls_args(), *ca]

    def store_endpoint(self, settings: StackSettings) -> str:
        """The store's base URL."""
        return f"{settings.scheme}://127.0.0.1:{settings.store_port}"

    def function_endpoint(self, settings: StackSettings) -> str:
        """The function host's base URL."""
        return f"{settings.scheme}://127.0.0.1:{settings.functions_port}"

    def postgres_dsn(self, settings: StackSettings) -> str:
        """The DSN applications use (TCP, password)."""
        return self.cluster(settings).tcp_dsn(settings.postgres_password, dbname=DATABASE)

    def connection(self, settings: StackSettings) -> dict[str, Any]:
        """What ``connection.json`` holds."""
        credentials = self.credentials()
        return {
            "postgres_dsn": self.postgres_dsn(settings),
            "store_endpoint": self.store_endpoint(settings),
            "function_endpoint": self.function_endpoint(settings),
            "function_name": FUNCTION_NAME,
            # What SQL invokes: one function per privilege (docs/access-control.md).
            "functions": {"query": QUERY_FUNCTION, "write": WRITE_FUNCTION, "manage": MANAGE_FUNCTION},
            "access_key_id": credentials.access_key_id,
            "secret_access_key": credentials.secret_access_key,
            "region": settings.region,
            "data_dir": str(self.data_dir),
            "ca_file": settings.tls_ca,
        }

    def server_environment(self) -> dict[str, str]:
        """Environment for the store and function host: our credentials, one BLAS thread."""
        credentials = self.credentials()
        env = dict(os.environ)
        env.update(PGS3V_ACCESS_KEY_ID=credentials.access_key_id,
                   PGS3V_SECRET_ACCESS_KEY=credentials.secret_access_key)
        return env

    def write_connection_file(self, settings: StackSettings) -> Path:
        """Write connection.json (mode 0600: it holds secrets)."""
        write_file_atomically(self.connection_file, json.dumps(self.connection(settings), indent=2).encode() + b"\n")
        return self.connection_file
