"""``pgs3v sync``: the drain from outside the database, backfill, reconcile, follow, the command line.

Real parts throughout: the test cluster, the session's store, boto3-signed HTTP. walter
(pgs3v_writer, SELECT on the tables) drains; the index is then compared with the table.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from pgs3v.cli import main
from pgs3v.sync.backfill import backfill
from pgs3v.sync.drain import Drainer, load_mappings
from pgs3v.sync.reconcile import content_hash, reconcile
from pgs3v.sync.target import SyncTarget
from tests.sql.conftest import Connection, SqlStack, scalar, unique
from tests.sql.test_sync import index_contents
from tests.support import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY


@pytest.fixture
def target(sql_stack: SqlStack) -> SyncTarget:
    return SyncTarget(sql_stack.dsn(user="walter"), sql_stack.store.endpoint, REGION, ACCESS_KEY_ID,
                      SECRET_ACCESS_KEY)


@pytest.fixture
def items(db: Connection, index: tuple[str, str]) -> Iterator[str]:
    """A table owned by ada (id bigint key, embedding real[], color text), readable by walter."""
    table = unique("items").replace("-", "_")
    db.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, embedding real[], color text)")
    db.execute(f"ALTER TABLE {table} OWNER TO ada")
    db.execute(f"GRANT SELECT ON {table} TO walter")
    yield table
    db.execute(f"DROP TABLE IF EXISTS {table}")


def enable(admin: Connection, table: str, index: tuple[str, str]) -> int:
    mapping = scalar(admin, "SELECT s3vectors.enable_sync(%s::regclass, 'id', 'embedding', %s, %s, '{color}')",
                     (table, *index))
    assert isinstance(mapping, int)
    return mapping


def table_contents(db: Connection, table: str) -> dict[str, tuple[list[float], Any]]:
    """What the index should hold: rows with an embedding, metadata without NULLs."""
    rows = db.execute(f"SELECT id::text, embedding, color FROM {table} WHERE embedding IS NOT NULL").fetchall()
    return {key: (data, {"color": color} if color is not None else {}) for key, data, color in rows}


def assert_in_step(db: Connection, table: str, index: tuple[str, str]) -> None:
    expected = table_contents(db, table)
    held = index_contents(db, index)
    assert held.keys() == expected.keys()
    for key, (data, metadata) in expected.items():
        assert content_hash(held[key][0], held[key][1]) == content_hash(data, metadata), key


def test_drain_makes_the_index_equal_to_the_table(db: Connection, admin: Connection, items: str,
                                                  index: tuple[str, str], target: SyncTarget) -> None:
    mapping = enable(admin, items, index)
    db.execute(f"INSERT INTO {items} SELECT n, ARRAY[n % 7, n % 5, 1]::real[], "
               f"CASE WHEN n % 3 = 0 THEN 'red' END FROM generate_series(1, 2000) n")
    db.execute(f"UPDATE {items} SET embedding = NULL WHERE id % 100 = 0")
    db.execute(f"DELETE FROM {items} WHERE id % 250 = 1")
    totals = Drainer(target, workers=3, batch_rows=200).run_once()
    # 2,000 inserts, 20 updates, 8 deletes; each key's changes were claimed together.
    assert (totals.changes, totals.put, totals.deleted, totals.without_embedding) == (2028, 1972, 28, 20)
    status = db.execute("SELECT pending, vectors_put, vectors_deleted FROM s3vectors.sync_status() "
                        "WHERE mapping_id = %s", (mapping,)).fetchone()
    assert status == (0, 1972, 28)
    assert_in_step(db, items, index)


def test_concurrent_workers_and_writers_end_in_step(db: Connection, admin: Connection, items: str,
                                                    index: tuple[str, str], target: SyncTarget,
                                                    sql_stack: SqlStack) -> None:
    enable(admin, items, index)
    stop = threading.Event()
    drainer = Drainer(target, workers=3, batch_rows=50)
    follower = threading.Thread(target=drainer.follow, args=(stop,))
    follower.start()
    try:
        with sql_stack.connect() as writer:
            for round_number in range(40):
                # The same few keys over and over: workers race for them while they change.
                writer.execute(f"INSERT INTO {items} SELECT n, ARRAY[%s, n, 1]::real[], 'c' || %s "
                               f"FROM generate_series(1, 60) n ON CONFLICT (id) DO UPDATE "
                               f"SET embedding = excluded.embedding, color = excluded.color",
                               (round_number, round_number))
                writer.execute(f"DELETE FROM {items} WHERE id = %s", (round_number % 60 + 1,))
        _wait_until(lambda: scalar(db, "SELECT sum(pending) FROM s3vectors.sync_status()") == 0)
    finally:
        stop.set()
        follower.join(timeout=30)
    assert not follower.is_alive()
    assert_in_step(db, items, index)


def test_follow_sends_a_commit_within_moments(db: Connection, admin: Connection, items: str,
                                              index: tuple[str, str], target: SyncTarget) -> None:
    enable(admin, items, index)
    stop = threading.Event()
    follower = threading.Thread(target=Drainer(target).follow, args=(stop,))
    follower.start()
    try:
        db.execute(f"INSERT INTO {items} VALUES (1, '{{1,0,0}}', 'blue')")
        _wait_until(lambda: "1" in index_contents(db, index))
        db.execute(f"UPDATE {items} SET color = 'green' WHERE id = 1")
        _wait_until(lambda: index_contents(db, index)["1"][1] == {"color": "green"})
    finally:
        stop.set()
        follower.join(timeout=30)


def test_backfill_loads_existing_rows_and_resumes(db: Connection, admin: Connection, items: str,
                                                   index: tuple[str, str], target: SyncTarget) -> None:
    db.execute(f"INSERT INTO {items} SELECT n, ARRAY[n, 1, 0]::real[], 'old' FROM generate_series(1, 1234) n")
    mapping_id = enable(admin, items, index)
    drainer = Drainer(target)
    with drainer.connect() as conn:
        mapping = load_mappings(conn, [mapping_id])[0]

        def interrupt(done: int, total: int) -> None:
            if done >= 500:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            backfill(conn, drainer, mapping, page_rows=250, progress=interrupt)
        assert len(index_contents(db, index)) == 500
        report = backfill(conn, drainer, mapping, page_rows=250)
    assert report.resumed_after == "500" and report.queued == 734
    assert_in_step(db, items, index)
    assert scalar(db, "SELECT backfill_finished_at IS NOT NULL FROM s3vectors.sync_status() WHERE mapping_id = %s",
                  (mapping_id,))


def test_reconcile_repairs_and_reports_every_difference(db: Connection, admin: Connection, items: str,
                                                        index: tuple[str, str], target: SyncTarget,
                                                        s3v: Any) -> None:
    mapping_id = enable(admin, items, index)
    db.execute(f"INSERT INTO {items} SELECT n, ARRAY[n, 1, 0]::real[], 'c' FROM generate_series(1, 300) n")
    drainer = Drainer(target)
    drainer.run_once()
    bucket, name = index
    # Behind sync's back: one vector gone, one extra, one changed, one with other metadata.
    s3v.delete_vectors(vectorBucketName=bucket, indexName=name, keys=["7"])
    s3v.put_vectors(vectorBucketName=bucket, indexName=name, vectors=[
        {"key": "stray", "data": {"float32": [1, 1, 1]}},
        {"key": "8", "data": {"float32": [0, 0, 1]}, "metadata": {"color": "c"}},
        {"key": "9", "data": {"float32": [9, 1, 0]}, "metadata": {"color": "x"}}])
    with drainer.connect() as conn:
        mapping = load_mappings(conn, [mapping_id])[0]
        report = reconcile(conn, target.transport(), drainer, mapping, walks=3)
        assert (report.table_keys, report.index_keys) == (300, 300)
        assert (report.missing, report.extra, report.different) == (1, 1, 2)
        assert report.examples == {"missing": ["7"], "extra": ["stray"], "different": ["8", "9"]}
        assert_in_step(db, items, index)
        again = reconcile(conn, target.transport(), drainer, mapping)
        assert again.repaired == 0
        # A TRUNCATE records no keys: the index keeps its vectors until a reconcile removes them.
        db.execute(f"TRUNCATE {items}")
        assert scalar(db, "SELECT reconcile_needed_since IS NOT NULL FROM s3vectors.sync_status() "
                          "WHERE mapping_id = %s", (mapping_id,))
        assert reconcile(conn, target.transport(), drainer, mapping).extra == 300
    assert index_contents(db, index) == {}
    assert scalar(db, "SELECT reconcile_needed_since IS NULL FROM s3vectors.sync_status() WHERE mapping_id = %s",
                  (mapping_id,))


def test_the_command_line_drains_backfills_and_reports(db: Connection, admin: Connection, items: str,
                                                       index: tuple[str, str], sql_stack: SqlStack,
                                                       tmp_path: Any) -> None:
    db.execute(f"INSERT INTO {items} VALUES (1, '{{1,0,0}}', 'a'), (2, '{{0,1,0}}', NULL)")
    mapping = enable(admin, items, index)
    options = ["--data-dir", str(tmp_path), "--dsn", sql_stack.dsn(user="walter"),
               "--endpoint", sql_stack.store.endpoint, "--mapping", str(mapping)]
    env = {"PGS3V_ACCESS_KEY_ID": ACCESS_KEY_ID, "PGS3V_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY}
    runner = CliRunner()
    result = runner.invoke(main, ["sync", "backfill", *options], env=env)
    assert result.exit_code == 0, result.output
    assert "2 rows queued" in result.output
    db.execute(f"INSERT INTO {items} VALUES (3, '{{0,0,1}}', 'c')")
    result = runner.invoke(main, ["sync", "--once", *options], env=env)
    assert result.exit_code == 0, result.output
    assert_in_step(db, items, index)
    result = runner.invoke(main, ["sync", *options, "status"], env={**env, "COLUMNS": "200"})  # options first
    assert result.exit_code == 0, result.output
    assert items in result.output
    result = runner.invoke(main, ["sync", "--once", "--data-dir", str(tmp_path)], env=env)
    assert result.exit_code == 2 and "no database" in result.output


def _wait_until(condition: Any, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
