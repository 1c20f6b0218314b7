"""One of our HTTP servers in a child process: start it, wait until it answers, stop or kill it.

The store and the function host are both started this way by the demo, the benchmark, the
local stack and the tests, so every one of them talks to real servers.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path

from pgs3v.auth.credentials import Credentials
from pgs3v.tls import ServerTls, client_context

READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 60.0
# cli.py has no __main__, and the console script may not sit next to this interpreter.
PGS3V_COMMAND = (sys.executable, "-c", "from pgs3v.cli import main; main()")


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_healthy(
    url: str, is_alive: Callable[[], bool], log_file: Path, timeout: float = READY_TIMEOUT_SECONDS,
    tls: ssl.SSLContext | None = None,
) -> None:
    """Poll a health URL until it answers 200 (verifying an https one with ``tls``); fail early if the process died."""
    # No proxies: a proxy from the environment must not answer for a loopback server.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=tls))
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


class ChildServer:
    """Base class: subclasses say which command to run; this runs, polls and stops it."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        port: int | None = None,
        extra_args: tuple[str, ...] = (),
        region: str = "us-east-1",
        log_file: Path | None = None,
        cwd: Path | None = None,
        tls: ServerTls | None = None,
        ca_file: Path | None = None,
    ) -> None:
        """``tls``: serve HTTPS with that certificate; ``ca_file``: the CA this side trusts for https."""
        self.credentials = credentials
        self.tls, self.ca_file = tls, ca_file
        self.port = port or free_port()
        self.extra_args = extra_args
        self.region = region
        self.cwd = cwd
        # A log file, not a pipe: nobody reads a pipe, and a full one would stall the server.
        self._own_log = log_file is None
        self.log_file = log_file or Path(tempfile.mkstemp(prefix="pgs3v-server-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None
        self.ready_seconds = 0.0
        self.exit_code: int | None = None

    @property
    def endpoint(self) -> str:
        """The server's base URL."""
        return f"{'http' if self.tls is None else 'https'}://127.0.0.1:{self.port}"

    def tls_args(self) -> list[str]:
        """``--tls-cert`` and ``--tls-key`` when the server serves HTTPS."""
        if self.tls is None:
            return []
        return ["--tls-cert", str(self.tls.cert_file), "--tls-key", str(self.tls.key_file)]

    def verify(self) -> str | bool:
        """boto3's ``verify`` for this server: the CA file, else its default (verification on)."""
        return True if self.ca_file is None else str(self.ca_file)

    def command(self) -> list[str]:
        """The command line that runs the server in the foreground."""
        raise NotImplementedError

    def start(self, environ: Mapping[str, str] | None = None) -> ChildServer:
        """Start the server and wait until its health check answers."""
        env = dict(os.environ if environ is None else environ)
        env["PGS3V_ACCESS_KEY_ID"] = self.credentials.access_key_id
        env["PGS3V_SECRET_ACCESS_KEY"] = self.credentials.secret_access_key
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        with self.log_file.open("ab") as log:
            # Its own session: a Ctrl-C in the terminal reaches only the parent, which then
            # stops the server in order.
            self.process = subprocess.Popen(
                self.command(), env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, cwd=self.cwd,
            )
        process = self.process
        try:
            tls = client_context(self.ca_file) if self.tls is not None else None
            wait_until_healthy(f"{self.endpoint}/_pgs3v/health", lambda: process.poll() is None, self.log_file,
                               tls=tls)
        except RuntimeError:
            self.kill()
            raise
        self.ready_seconds = time.perf_counter() - started
        return self

    def stop(self) -> str:
        """Graceful shutdown (SIGTERM), then SIGKILL if it does not exit; returns its log."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            self.exit_code = self.process.returncode
        return self._release()

    def kill(self) -> str:
        """Crash the server with SIGKILL (nothing gets a chance to flush); returns its log."""
        if self.process is not None:
            self.process.kill()
            self.exit_code = self.process.wait()
        return self._release()

    def log_text(self) -> str:
        """Everything the server has logged so far."""
        try:
            return self.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def _release(self) -> str:
        text = self.log_text()
        self.process = None
        return text

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

    def __del__(self) -> None:
        if getattr(self, "_own_log", False) and self.process is None:
            self.log_file.unlink(missing_ok=True)
