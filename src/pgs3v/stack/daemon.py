"""Background servers that outlive the command that started them, tracked by pid files.

``pgs3v up`` starts the store and the function host this way; ``pgs3v down`` and
``pgs3v status`` find them again through their pid files.
"""

from __future__ import annotations

import contextlib
import os
import signal
import ssl
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pgs3v.child_server import wait_until_healthy
from pgs3v.tls import client_context

STOP_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Daemon:
    """A named background server: how to start it, where it logs, how to tell it is healthy."""

    name: str
    pid_file: Path
    log_file: Path
    health_url: str
    # The CA the health check trusts when health_url is https (None: the system's CAs).
    ca_file: str | None = None

    def pid(self) -> int | None:
        """The recorded pid, if that process is still alive and still the one we started."""
        try:
            pid, *started = (int(field) for field in self.pid_file.read_text().split())
        except (OSError, ValueError):
            return None
        # A pid file outlives its process (a reboot, a kill -9), and the kernel reuses pids: the
        # start time recorded with the pid keeps `down` from signalling an unrelated process.
        if started and started[0] != _start_time(pid):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        return pid if not _is_zombie(pid) else None

    def healthy(self) -> bool:
        """Whether the server answers its health check right now."""
        try:
            wait_until_healthy(self.health_url, lambda: True, self.log_file, timeout=1.0, tls=self._tls())
        except RuntimeError:
            return False
        return True

    def start(self, command: Sequence[str], environ: Mapping[str, str]) -> int:
        """Start the server in its own session unless it already runs; wait until healthy."""
        running = self.pid()
        if running is not None and self.healthy():
            return running
        if running is not None:
            self.stop()
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                list(command), env=dict(environ), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, cwd="/",
            )
        started = _start_time(process.pid)
        self.pid_file.write_text(f"{process.pid}{'' if started is None else f' {started}'}\n")
        try:
            wait_until_healthy(self.health_url, lambda: process.poll() is None, self.log_file, tls=self._tls())
        except RuntimeError as problem:
            self.stop()
            raise RuntimeError(f"{self.name} did not start: {problem}") from None
        return process.pid

    def _tls(self) -> ssl.SSLContext | None:
        return client_context(self.ca_file) if self.health_url.startswith("https:") else None

    def stop(self) -> bool:
        """SIGTERM, wait, then SIGKILL; True when something was running."""
        pid = self.pid()
        self.pid_file.unlink(missing_ok=True)
        if pid is None:
            return False
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:  # it exited since we looked
            return True
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if not _alive(pid):
                return True
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    if _is_zombie(pid):
        # Our own child that exited: reap it so it does not linger.
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return True


def _stat_fields(pid: int) -> list[str] | None:
    # The fields after the command name, which may itself hold spaces and parentheses.
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return None


def _is_zombie(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is not None and fields[0] == "Z"


def _start_time(pid: int) -> int | None:
    """When the process started, in clock ticks since boot (None without /proc)."""
    fields = _stat_fields(pid)
    # Field 22 of /proc/PID/stat; fields[0] is field 3.
    return int(fields[19]) if fields is not None and len(fields) > 19 else None
