"""The benchmark's store: a real server with fresh credentials, stopped in order afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pgs3v.auth.credentials import generate_credentials
from pgs3v.store.process import StoreProcess

# One attempt: a retried call would hide an error and distort the latency it reports.
CLIENT_CONFIG = {"retries": {"total_max_attempts": 1}, "read_timeout": 300, "connect_timeout": 10,
                 "max_pool_connections": 4}


@contextmanager
def running_store(data_dir: Path) -> Iterator[StoreProcess]:
    """Start a store on ``data_dir`` with fresh credentials; stop it (SIGTERM, then wait) on exit."""
    data_dir.mkdir(parents=True, exist_ok=True)
    server = StoreProcess(data_dir, generate_credentials()).start()
    try:
        yield server
    finally:
        server.stop()
