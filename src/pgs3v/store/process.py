"""Start ``pgs3v store serve`` as a child process and wait until it answers.

Used by the demo, the benchmark, the local stack and the tests, so every one of them talks
to a real server.
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
STOP_TIMEOUT_SECONDS = 60.0
# cli.py has no __main__, and the console script may not sit next to this interpreter.
SERVE_COMMAND = (sys.executable, "-c", "from pgs3v.cli import main; main()", "store", "serve")


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_healthy(url: str, is_alive: Any, log_file: Path, timeout: float = READY_TIMEOUT_SECONDS) -> None:
    """Poll a health URL until it answers 200; fail early if the process died."""
    # No proxies: a proxy from the environment must not answer for a loopback server.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive():
            raise RuntimeError(f"the server exited before it was ready:\n{tail(log_file)}")
        try:
            with opener.open(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s:\n{tail(log_file)}")


def tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log file, for error messages."""
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


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
        log_file: Path | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.credentials = credentials
        self.port = port or free_port()
        self.extra_args = extra_args
        self.region = region
        # A log file, not a pipe: nobody reads a pipe, and a full one would stall the server.
        self.log_file = log_file or data_dir.parent / f"{data_dir.name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.ready_seconds = 0.0
        self.exit_code: int | None = None

    @property
    def endpoint(self) -> str:
        """The store's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, environ: Mapping[str, str] | None = None) -> StoreProcess:
        """Start the server and wait until its health check answers."""
        env = dict(os.environ if environ is None else environ)
        env["PGS3V_ACCESS_KEY_ID"] = self.credentials.access_key_id
        env["PGS3V_SECRET_ACCESS_KEY"] = self.credentials.secret_access_key
        command = [*SERVE_COMMAND, "--data-dir", str(self.data_dir), "--port", str(self.port),
                   "--region", self.region, *self.extra_args]
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        with self.log_file.open("ab") as log:
            # Its own session: a Ctrl-C in the terminal reaches only the parent, which then
            # stops the server in order (and a server started by `pgs3v up` outlives it).
            self.process = subprocess.Popen(
                command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = self.process
        try:
            wait_until_healthy(f"{self.endpoint}/_pgs3v/health", lambda: process.poll() is None, self.log_file)
        except RuntimeError:
            self.kill()
            raise
        self.ready_seconds = time.perf_counter() - started
        return self

    def stop(self) -> None:
        """Graceful shutdown (SIGTERM), then SIGKILL if it does not exit."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            self.exit_code = self.process.returncode
        self.process = None

    def kill(self) -> None:
        """Crash the server with SIGKILL: nothing gets a chance to flush."""
        if self.process is not None:
            self.process.kill()
            self.exit_code = self.process.wait()
        self.process = None

    def rss_bytes(self) -> int | None:
        """The server's resident memory now (Linux), or None once it has exited."""
        if self.process is None:
            return None
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text(encoding="utf-8")
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return None

    def client(self, **config: Any) -> Any:
        """boto3's own s3vectors client for this server (one per thread: clients hold connections)."""
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3vectors", endpoint_url=self.endpoint, region_name=self.region,
            aws_access_key_id=self.credentials.access_key_id,
            aws_secret_access_key=self.credentials.secret_access_key,
            config=Config(**config) if config else None,
        )
