"""Stack fixtures: one real local stack (``pgs3v up``) for the package, on ports nobody else wants.

Every test starts from a healthy stack: ``healthy_stack`` runs ``pgs3v up`` again, which is
harmless when all runs and repairs what an earlier test broke on purpose. The preferred ports are
switched off (``PGS3V_*_PORT=0``), so the tests neither collide with a developer's running stack
nor take the ports a stopped one will want back.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from botocore.config import Config
from click.testing import CliRunner

from pgs3v.auth.credentials import ACCESS_KEY_ENV, SECRET_KEY_ENV
from pgs3v.cli import main
from pgs3v.stack.local_stack import CLI, PORT_ENV, LocalStack, StackSettings
from pgs3v.stack.postgres import missing_packages

# Variables that would steer a stack command somewhere else than the directory under test.
_FOREIGN_VARIABLES = (ACCESS_KEY_ENV, SECRET_KEY_ENV, "PGS3V_DATA_DIR")


def stack_environment() -> dict[str, str]:
    """The environment of the CLI under test: any free ports, no outside credentials or data dir."""
    env = {name: value for name, value in os.environ.items() if name not in _FOREIGN_VARIABLES}
    env.update({variable: "0" for variable in PORT_ENV.values()})
    env["COLUMNS"] = "200"  # status's table on one line per component
    # `pgs3v` on the PATH, for running the fix lines doctor prints.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def pgs3v(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the real command line in a subprocess; stdout and stderr together in ``.stdout``."""
    return subprocess.run([*CLI, *args], env=stack_environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=120, check=False)


def new_directory(prefix: str) -> Path:
    """A fresh directory the postgres OS user can walk through (pytest's tmp_path is 0700)."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    root.chmod(0o755)
    return root


@dataclass
class Stack:
    """A stack started with ``pgs3v up --data-dir data_dir``."""

    data_dir: Path
    first_up_output: str = ""

    @property
    def local(self) -> LocalStack:
        """The stack's own view of its directory."""
        return LocalStack(self.data_dir)

    @property
    def settings(self) -> StackSettings:
        """Its saved ports and password."""
        settings = self.local.settings()
        assert settings is not None, f"no stack.json in {self.data_dir}"
        return settings

    def connection(self) -> dict[str, Any]:
        """connection.json as written by ``up``."""
        document: dict[str, Any] = json.loads((self.data_dir / "connection.json").read_text())
        return document

    def pids(self) -> dict[str, int]:
        """The pid of each running part, from the files PostgreSQL and ``up`` write."""
        run = self.data_dir / "run"
        files = {"PostgreSQL": self.data_dir / "postgres" / "pgdata" / "postmaster.pid",
                 "store": run / "store.pid", "function host": run / "functions.pid"}
        return {name: int(path.read_text().split()[0]) for name, path in files.items()}

    def ports(self) -> dict[str, int]:
        """The port of each part."""
        settings = self.settings
        return {"PostgreSQL": settings.postgres_port, "store": settings.store_port,
                "function host": settings.functions_port}

    def run(self, command: str, *args: str) -> subprocess.CompletedProcess[str]:
        """``pgs3v COMMAND --data-dir DIR ARGS`` in a subprocess."""
        return pgs3v(command, "--data-dir", str(self.data_dir), *args)

    def up(self) -> str:
        """``pgs3v up``, which must succeed; its output."""
        result = self.run("up")
        assert result.returncode == 0, result.stdout
        return result.stdout

    def doctor(self) -> tuple[int, str]:
        """``pgs3v doctor`` in this process (so tests can move the paths it checks): exit code, output."""
        result = CliRunner().invoke(main, ["doctor", "--data-dir", str(self.data_dir)], env=_doctor_environment())
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.output

    def sql(self) -> psycopg.Connection[tuple[Any, ...]]:
        """A connection with connection.json's DSN, as an application would open it."""
        return psycopg.connect(self.connection()["postgres_dsn"], autocommit=True)

    def client(self, service: str, endpoint_key: str, secret_access_key: str | None = None) -> Any:
        """A boto3 client for the store (``store_endpoint``) or function host (``function_endpoint``)."""
        connection = self.connection()
        return boto3.session.Session().client(
            service, endpoint_url=connection[endpoint_key], region_name=connection["region"],
            aws_access_key_id=connection["access_key_id"],
            aws_secret_access_key=secret_access_key or connection["secret_access_key"],
            config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30),
        )


def _doctor_environment() -> dict[str, str | None]:
    # CliRunner's env sets variables, and None removes one, for the length of the call.
    return {name: None for name in _FOREIGN_VARIABLES}


@pytest.fixture(scope="package")
def stack() -> Iterator[Stack]:
    """The package's stack, started by ``pgs3v up`` on a fresh directory; stopped and removed at the end."""
    if missing_packages():
        pytest.skip(f"Debian packages missing: {', '.join(missing_packages())}")
    root = new_directory("pgs3v-stack-")
    started = Stack(root / "data")
    try:
        started.first_up_output = started.up()
        yield started
    finally:
        try:
            started.run("down")
        finally:
            shutil.rmtree(root, ignore_errors=True)


def gone(pid: int) -> bool:
    """Whether the process has exited (a zombie nobody reaped yet counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return True
    return state == "Z"


def wait_until_gone(pid: int, timeout: float = 10.0) -> None:
    """Wait for a process we signalled to exit."""
    deadline = time.monotonic() + timeout
    while not gone(pid):
        assert time.monotonic() < deadline, f"process {pid} still runs"
        time.sleep(0.02)


def port_open(port: int) -> bool:
    """Whether something accepts TCP connections on the loopback port."""
    with socket.socket() as probe:
        probe.settimeout(1.0)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def healthy_stack(stack: Stack) -> Stack:
    """The package's stack, brought back up in case an earlier test broke it on purpose."""
    stack.up()
    return stack
