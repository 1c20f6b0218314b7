"""Start ``pgs3v store serve`` as a child process and wait until it answers.

Used by the demo, the benchmark and the tests, so every one of them talks to a real server.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pgs3v.store.credentials import Credentials

READY_TIMEOUT_SECONDS = 60.0


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class StoreProcess:
    """A store server in a child process that can be stopped, killed and started again."""

    def __init__(
        self,
        data_dir: Path,
        credentials: Credentials,
        *,
        port: int | None = None,
        extra_args: tuple[str, ...] = (),
        region: str = "us-east-1",
    ) -> None:
        self.data_dir = data_dir
        self.credentials = credentials
        self.port = port or free_port()
        self.extra_args = extra_args
        self.region = region
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """The store's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, environ: Mapping[str, str] | None = None) -> StoreProcess:
        """Start the server and wait until its health check answers."""
        env = dict(os.environ if environ is None else environ)
        env["PGS3V_ACCESS_KEY_ID"] = self.credentials.access_key_id
        env["PGS3V_SECRET_ACCESS_KEY"] = self.credentials.secret_access_key
        command = [
            sys.executable, "-c", "from pgs3v.cli import main; main()", "store", "serve",
            "--data-dir", str(self.data_dir), "--port", str(self.port), "--region", self.region, *self.extra_args,
        ]
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                stderr = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"the store exited with status {self.process.returncode}: {stderr.strip()}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/_pgs3v/health", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"the store did not answer on {self.endpoint} within {READY_TIMEOUT_SECONDS:.0f} s")

    def stop(self) -> None:
        """Graceful shutdown (SIGTERM), then SIGKILL if it does not exit."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._release()

    def kill(self) -> None:
        """Crash the server with SIGKILL: nothing gets a chance to flush."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
        self._release()

    def _release(self) -> None:
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()
        self.process = None

    def client(self, **config: Any) -> Any:
        """boto3's own s3vectors client for this server."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3vectors", endpoint_url=self.endpoint, region_name=self.region,
            aws_access_key_id=self.credentials.access_key_id,
            aws_secret_access_key=self.credentials.secret_access_key,
            config=Config(**config) if config else None,
        )
