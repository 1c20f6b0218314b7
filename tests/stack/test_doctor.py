"""``pgs3v doctor`` on real breakage: each problem is named, explained, and its fix line repairs it."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from pgs3v.stack import postgres
from pgs3v.stack.least_privilege import invoke_credentials
from pgs3v.store.process import free_port
from tests.stack.conftest import Stack, new_directory, stack_environment, wait_until_gone

ALL_CHECKS = (
    "PostgreSQL 15 binaries", "PL/Python 3 for PostgreSQL 15", "PostgreSQL server", "store reachable",
    "function host reachable", "store accepts the saved credentials", "function host accepts the saved credentials",
    "schema s3vectors installed", "aws_lambda shim endpoint configured",
    "aws_lambda shim signs with the invoke key", "SQL reaches the store end to end",
)


def _failures(output: str) -> dict[str, tuple[str, str]]:
    """check -> (detail, fix) of every failed check in doctor's output."""
    failures: dict[str, tuple[str, str]] = {}
    lines = output.splitlines()
    for number, line in enumerate(lines):
        if line.startswith("FAIL "):
            check, _, detail = line[len("FAIL "):].partition(": ")
            following = lines[number + 1].strip() if number + 1 < len(lines) else ""
            failures[check] = (detail, following.removeprefix("fix: ") if following.startswith("fix: ") else "")
    return failures


def diagnosed(stack: Stack, check: str, detail: str, fix: str) -> tuple[str, dict[str, tuple[str, str]]]:
    """Run doctor, which must fail ``check`` with ``detail`` and ``fix`` in its lines; that fix line, all failures."""
    code, output = stack.doctor()
    assert code == 1, output
    failures = _failures(output)
    assert check in failures, output
    found_detail, found_fix = failures[check]
    assert detail in found_detail, output
    assert fix in found_fix, output
    assert f"{len(failures)} problem(s) found." in output
    # Output gets pasted into reports: no secret in it.
    assert stack.connection()["secret_access_key"] not in output
    assert stack.settings.postgres_password not in output
    return found_fix, failures


def apply(fix: str) -> None:
    """Run the command part of a fix line (what precedes its parenthesised note) with the real CLI."""
    command = fix.split("   (")[0]
    assert command.startswith("pgs3v "), fix
    result = subprocess.run(["bash", "-c", command], env=stack_environment(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout


def assert_healthy(stack: Stack) -> None:
    """doctor passes every check."""
    code, output = stack.doctor()
    assert code == 0, output
    assert "FAIL" not in output and "All checks passed." in output


def test_a_healthy_stack_passes_every_check(healthy_stack: Stack) -> None:
    code, output = healthy_stack.doctor()
    assert code == 0, output
    for check in ALL_CHECKS:
        assert f"ok   {check}: " in output, check
    assert "All checks passed." in output


@pytest.mark.parametrize("part", ["function host", "store"])
def test_a_dead_server_is_unreachable_and_up_restarts_it(healthy_stack: Stack, part: str) -> None:
    pid = healthy_stack.pids()[part]
    os.kill(pid, signal.SIGKILL)
    wait_until_gone(pid)
    check = "function host reachable" if part == "function host" else "store reachable"
    port = healthy_stack.ports()[part]
    fix, failures = diagnosed(healthy_stack, check, f"http://127.0.0.1:{port} does not answer",
                              f"pgs3v up --data-dir {healthy_stack.data_dir}")
    assert ("functions.log" if part == "function host" else "store.log") in fix
    other = "store reachable" if part == "function host" else "function host reachable"
    assert other not in failures and "SQL reaches the store end to end" in failures
    apply(fix)
    assert_healthy(healthy_stack)


def test_a_store_running_with_other_credentials(healthy_stack: Stack) -> None:
    local, settings = healthy_stack.local, healthy_stack.settings
    store = local.store_daemon(settings)
    store.stop()
    other = {**local.server_environment(), "PGS3V_ACCESS_KEY_ID": "PGS3VOTHERKEY0000000",
             "PGS3V_SECRET_ACCESS_KEY": "o" * 40}
    impostor = store.start(local.store_command(settings), other)
    try:
        fix, failures = diagnosed(healthy_stack, "store accepts the saved credentials", "UnrecognizedClientException",
                                  f"uses other credentials than {healthy_stack.data_dir}/store/credentials.json")
        assert "store reachable" not in failures
        assert "function host accepts the saved credentials" not in failures
        # `up` alone keeps a healthy store whatever its keys: the fix restarts.
        assert f"pgs3v down --data-dir {healthy_stack.data_dir} && pgs3v up" in fix
        apply(fix)
        assert_healthy(healthy_stack)
    finally:
        if store.pid() == impostor:
            store.stop()


def test_a_shim_signing_with_other_keys(healthy_stack: Stack) -> None:
    connection = healthy_stack.connection()
    with healthy_stack.sql() as sql:
        sql.execute("SELECT aws_lambda_shim.configure(%s, %s, %s, %s)",
                    (connection["function_endpoint"], connection["region"], "PGS3VOTHERKEY0000000", "o" * 40))
    invoke_key = invoke_credentials(healthy_stack.data_dir / "store").access_key_id
    fix, _ = diagnosed(healthy_stack, "aws_lambda shim signs with the invoke key",
                    f"the shim signs with access key PGS3VOTHERKEY0000000, the stack's invoke key is {invoke_key}",
                    f"pgs3v up --data-dir {healthy_stack.data_dir}")
    apply(fix)
    assert_healthy(healthy_stack)


def test_schema_not_installed(healthy_stack: Stack) -> None:
    dsn = healthy_stack.connection()["postgres_dsn"]
    removed = subprocess.run(["bash", "-c", 'pgs3v schema uninstall --dsn "$DSN"'],
                             env={**stack_environment(), "DSN": dsn}, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, timeout=60, check=False)
    assert removed.returncode == 0 and "removed schema s3vectors" in removed.stdout, removed.stdout
    fix, _ = diagnosed(healthy_stack, "schema s3vectors installed", "database pgs3v has no schema s3vectors",
                    f"pgs3v up --data-dir {healthy_stack.data_dir}")
    apply(fix)
    assert_healthy(healthy_stack)


@pytest.mark.parametrize("how", ["elsewhere", "not configured"])
def test_shim_endpoint_not_pointing_at_the_function_host(healthy_stack: Stack, how: str) -> None:
    connection = healthy_stack.connection()
    nowhere = f"http://127.0.0.1:{free_port()}"
    with healthy_stack.sql() as sql:
        if how == "elsewhere":
            sql.execute("SELECT aws_lambda_shim.configure(%s, %s, %s, %s)",
                        (nowhere, connection["region"], connection["access_key_id"], connection["secret_access_key"]))
        else:
            sql.execute("DELETE FROM aws_lambda_shim.settings")
    seen = nowhere if how == "elsewhere" else "not set"
    fix, failures = diagnosed(healthy_stack, "aws_lambda shim endpoint configured",
                              f"{seen} (expected {connection['function_endpoint']})",
                              f"pgs3v up --data-dir {healthy_stack.data_dir}")
    end_to_end = failures["SQL reaches the store end to end"][0]
    assert (nowhere if how == "elsewhere" else "no endpoint configured") in end_to_end
    apply(fix)
    assert_healthy(healthy_stack)


def test_postgresql_stopped(healthy_stack: Stack) -> None:
    healthy_stack.local.cluster(healthy_stack.settings).stop()
    fix, failures = diagnosed(healthy_stack, "PostgreSQL server",
                              f"127.0.0.1:{healthy_stack.settings.postgres_port} is not running",
                              f"pgs3v up --data-dir {healthy_stack.data_dir}")
    assert "postgres.log" in fix
    # The servers are still checked; the database checks are skipped, not failed.
    assert set(failures) == {"PostgreSQL server"}
    apply(fix)
    assert_healthy(healthy_stack)


@pytest.mark.parametrize(("constant", "check", "package"), [
    ("BIN_DIR", "PostgreSQL 15 binaries", "postgresql-15"),
    ("PLPYTHON_CONTROL", "PL/Python 3 for PostgreSQL 15", "postgresql-plpython3-15"),
])
def test_missing_packages(healthy_stack: Stack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                          constant: str, check: str, package: str) -> None:
    nowhere = tmp_path / "not-installed"
    monkeypatch.setattr(postgres, constant, nowhere)
    assert postgres.missing_packages() == [package]
    _, failures = diagnosed(healthy_stack, check, str(nowhere), f"apt-get install -y {package}")
    if constant == "BIN_DIR":
        # Without pg_ctl the server's state cannot be asked: said so, not a traceback.
        assert set(failures) == {check, "PostgreSQL server"}
        assert failures["PostgreSQL server"][0].startswith("cannot check:")
        assert f"apt-get install -y {package}" in failures["PostgreSQL server"][1]
    else:
        assert set(failures) == {check}


def test_no_stack_in_the_directory() -> None:
    root = new_directory("pgs3v-nostack-")
    try:
        missing = Stack(root / "none")
        code, output = missing.doctor()
        assert code == 1
        failures = _failures(output)
        assert failures["local stack"] == (f"no stack.json in {missing.data_dir}",
                                           f"pgs3v up --data-dir {missing.data_dir}")
        assert not missing.data_dir.exists()  # diagnosing changes nothing
    finally:
        root.rmdir()
