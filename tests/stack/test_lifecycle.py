"""``up`` twice, ``status``, ``down`` and ``up`` again: harmless, accurate, complete, and the data stays."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from pgs3v.cli import main
from pgs3v.stack import postgres
from tests.stack.conftest import Stack, gone, new_directory, pgs3v, port_open, wait_until_gone

PARTS = ("PostgreSQL", "store", "function host")


def _status_rows(output: str) -> dict[str, str]:
    """component -> state, from the lines of status's table."""
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip("│┃ ").split("│")]
        if len(cells) == 4 and cells[1] in ("running", "stopped"):
            rows[cells[0]] = cells[1]
    return rows


def test_up_twice_in_a_row_changes_nothing(healthy_stack: Stack) -> None:
    before = (healthy_stack.connection(), healthy_stack.pids())
    output = healthy_stack.up()
    assert (healthy_stack.connection(), healthy_stack.pids()) == before
    assert "Creating" not in output and "failed" not in output


def test_status_then_down_then_status(healthy_stack: Stack) -> None:
    running = healthy_stack.run("status")
    assert running.returncode == 0, running.stdout
    assert _status_rows(running.stdout) == {"PostgreSQL 15": "running", "store": "running",
                                            "function host": "running"}
    for port in healthy_stack.ports().values():
        assert f"127.0.0.1:{port}" in running.stdout
    pids, ports = healthy_stack.pids(), healthy_stack.ports()

    stopped = healthy_stack.run("down")
    assert stopped.returncode == 0, stopped.stdout
    for part in PARTS:
        assert f"{part}: stopped" in stopped.stdout
    for part, pid in pids.items():
        wait_until_gone(pid, timeout=5)
        assert not port_open(ports[part]), f"{part} still listens on {ports[part]}"
    assert not healthy_stack.local.cluster(healthy_stack.settings).running()
    assert not (healthy_stack.data_dir / "run" / "store.pid").exists()

    after = healthy_stack.run("status")
    assert after.returncode != 0
    assert _status_rows(after.stdout) == {"PostgreSQL 15": "stopped", "store": "stopped",
                                          "function host": "stopped"}
    again = healthy_stack.run("down")
    assert again.returncode == 0 and again.stdout.count("was not running") == 3, again.stdout


def test_a_second_up_reuses_the_data(healthy_stack: Stack) -> None:
    bucket, index = f"keep-{uuid.uuid4().hex[:12]}", "kept"
    with healthy_stack.sql() as connection:
        connection.execute("SELECT s3vectors.create_vector_bucket(vector_bucket_name => %s)", (bucket,))
        connection.execute("SELECT s3vectors.create_index(%s, %s, dimension => 3, distance_metric => 'cosine')",
                           (bucket, index))
        connection.execute("SELECT s3vectors.put_vectors(%s, %s, %s, %s::real[], %s::jsonb[])",
                           (bucket, index, ["a", "b"], [[1, 0, 0], [0, 1, 0]], ['{"n": 1}', '{"n": 2}']))
        connection.execute("CREATE TABLE IF NOT EXISTS kept_rows (key text)")
        connection.execute("INSERT INTO kept_rows VALUES ('a')")
    old_pids = healthy_stack.pids()
    assert healthy_stack.run("down").returncode == 0
    for pid in old_pids.values():
        wait_until_gone(pid, timeout=5)

    output = healthy_stack.up()
    assert "Creating" not in output
    assert all(gone(pid) for pid in old_pids.values())  # really new processes serve the old data
    store = healthy_stack.client("s3vectors", "store_endpoint")
    assert store.get_vector_bucket(vectorBucketName=bucket)["vectorBucket"]["vectorBucketName"] == bucket
    got = store.get_vectors(vectorBucketName=bucket, indexName=index, keys=["a", "b"], returnData=True,
                            returnMetadata=True)["vectors"]
    assert {v["key"]: (v["data"]["float32"], v["metadata"]) for v in got} == {
        "a": ([1.0, 0.0, 0.0], {"n": 1}), "b": ([0.0, 1.0, 0.0], {"n": 2})}
    with healthy_stack.sql() as connection:
        rows = connection.execute(
            "SELECT v.key, v.distance FROM s3vectors.query_vectors(%s, %s, query_vector => '{1,0,0}'::real[], "
            "top_k => 2) AS v JOIN kept_rows USING (key)", (bucket, index)).fetchall()
    assert [key for key, _ in rows] == ["a"]


def test_status_and_down_without_a_stack() -> None:
    root = new_directory("pgs3v-nostack-")
    try:
        missing = root / "none"
        status = pgs3v("status", "--data-dir", str(missing))
        assert status.returncode == 1
        assert f"pgs3v up --data-dir {missing}" in status.stdout
        down = pgs3v("down", "--data-dir", str(missing))
        assert down.returncode == 0 and "nothing to stop" in down.stdout
        assert not missing.exists()
    finally:
        root.rmdir()


def test_status_without_the_postgresql_binaries(healthy_stack: Stack, monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    monkeypatch.setattr(postgres, "BIN_DIR", tmp_path / "not-installed")
    result = CliRunner().invoke(main, ["status", "--data-dir", str(healthy_stack.data_dir)], terminal_width=200,
                                env={"COLUMNS": "200"})
    assert result.exit_code == 3, result.output
    assert _status_rows(result.output) == {"PostgreSQL 15": "stopped", "store": "running", "function host": "running"}
    assert "apt-get install -y postgresql-15" in result.output
