"""The ports a first ``up`` picks, and pid files that never point ``down`` at a stranger."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgs3v.stack.daemon import Daemon
from pgs3v.stack.local_stack import DEFAULT_PORTS, PORT_ENV, LocalStack, preferred_ports
from pgs3v.store.process import free_port


@pytest.fixture
def no_port_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in PORT_ENV.values():
        monkeypatch.delenv(variable, raising=False)


def test_the_preferred_ports_are_the_documented_ones_unless_the_environment_says_otherwise() -> None:
    assert DEFAULT_PORTS == {"postgres": 54329, "store": 8750, "functions": 8760}
    assert preferred_ports({}) == DEFAULT_PORTS
    assert preferred_ports({"PGS3V_STORE_PORT": "0", "PGS3V_POSTGRES_PORT": " 6000 "}) == {
        "postgres": 6000, "store": 0, "functions": 8760}
    for bad in ("eighty", "-1", "70000"):
        with pytest.raises(ValueError, match="PGS3V_FUNCTIONS_PORT"):
            preferred_ports({"PGS3V_FUNCTIONS_PORT": bad})


def test_a_first_up_takes_the_preferred_ports_when_free(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_port_variables: None) -> None:
    wanted = {name: free_port() for name in PORT_ENV}
    if len(set(wanted.values())) < len(wanted):
        pytest.skip("the kernel handed out one port twice")
    for name, port in wanted.items():
        monkeypatch.setenv(PORT_ENV[name], str(port))
    settings = LocalStack(tmp_path).settings(create=True)
    assert settings is not None
    assert (settings.postgres_port, settings.store_port, settings.functions_port) == (
        wanted["postgres"], wanted["store"], wanted["functions"])
    assert (tmp_path / "stack.json").stat().st_mode & 0o777 == 0o600


def test_a_first_up_moves_off_taken_ports_and_then_keeps_its_own(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_port_variables: None) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        for variable in PORT_ENV.values():
            monkeypatch.setenv(variable, str(busy))
        settings = LocalStack(tmp_path).settings(create=True)
    assert settings is not None
    ports = [settings.postgres_port, settings.store_port, settings.functions_port]
    assert busy not in ports
    assert len(set(ports)) == 3
    # Saved: the next `up` wants the same ports back, whatever the environment says now.
    monkeypatch.setenv(PORT_ENV["store"], "1")
    again = LocalStack(tmp_path).settings(create=True)
    assert again == settings
    assert json.loads((tmp_path / "stack.json").read_text())["store_port"] == settings.store_port


def test_any_free_port_when_asked_for_zero(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in PORT_ENV.values():
        monkeypatch.setenv(variable, "0")
    settings = LocalStack(tmp_path).settings(create=True)
    assert settings is not None
    ports = {settings.postgres_port, settings.store_port, settings.functions_port}
    assert len(ports) == 3 and 0 not in ports


@pytest.fixture
def stranger() -> Iterator[subprocess.Popen[bytes]]:
    """A live process the stack did not start."""
    process = subprocess.Popen(["sleep", "60"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def _daemon(directory: Path) -> Daemon:
    return Daemon("store", directory / "store.pid", directory / "store.log", f"http://127.0.0.1:{free_port()}/")


def test_a_stale_pid_file_naming_a_reused_pid_is_ignored(tmp_path: Path, stranger: subprocess.Popen[bytes]) -> None:
    daemon = _daemon(tmp_path)
    # What a reboot leaves behind: our pid file, whose pid now belongs to someone else.
    daemon.pid_file.write_text(f"{stranger.pid} 1\n")
    assert daemon.pid() is None
    assert daemon.stop() is False
    assert stranger.poll() is None, "down killed a process it did not start"
    assert not daemon.pid_file.exists()


def test_a_started_daemon_is_recognised_and_stopped(tmp_path: Path) -> None:
    port = free_port()
    daemon = Daemon("server", tmp_path / "server.pid", tmp_path / "server.log", f"http://127.0.0.1:{port}/")
    try:
        pid = daemon.start([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)], {})
        recorded = daemon.pid_file.read_text().split()
        assert int(recorded[0]) == pid and len(recorded) == 2  # the pid and its start time
        assert daemon.pid() == pid and daemon.healthy()
        assert daemon.start(["false"], {}) == pid  # already running: not started twice
    finally:
        stopped = daemon.stop()
    assert stopped is True
    assert daemon.pid() is None and not daemon.healthy()
