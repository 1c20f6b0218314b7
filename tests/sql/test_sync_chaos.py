"""Sync under faults: the index ends equal to the table whatever was killed along the way.

Random inserts, upserts, updates of the embedding or the metadata, NULL embeddings, deletes and
rolled-back transactions run in PostgreSQL while the store is killed (SIGKILL) and restarted, and
the drain is killed mid-batch: the ``pgs3v sync --follow`` process by SIGKILL, or the backend
running ``s3vectors.sync_run`` by pg_terminate_backend. After the faults stop, one last drain,
and then the index must hold exactly the table's rows: keys, float32 vectors, metadata.

Each case has its own store (the one killed), function host and database.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest

from pgs3v.bridge.process import FunctionHostProcess
from pgs3v.child_server import PGS3V_COMMAND
from pgs3v.sql_schema.installer import install_schema
from tests.sql.conftest import SqlStack, start_function_host
from tests.support import ACCESS_KEY_ID, SECRET_ACCESS_KEY, StoreProcess, client

KEYS = 400
DIMENSION = 4
CHAOS_SECONDS = float(os.environ.get("PGS3V_SYNC_CHAOS_SECONDS", "20"))


@pytest.fixture
def chaos_stack(sql_stack: SqlStack, tmp_path: Path) -> Iterator[tuple[StoreProcess, FunctionHostProcess]]:
    store = StoreProcess(tmp_path / "store").start()
    host = start_function_host(store.endpoint)
    try:
        yield store, host
    finally:
        host.stop()
        store.stop()


def _connect(dsn: str) -> psycopg.Connection[Any]:
    return psycopg.connect(dsn, autocommit=True)


def _write_randomly(dsn: str, seed: int, stop: threading.Event, counts: dict[str, int]) -> None:
    """Random changes of random keys, some in transactions that roll back, until ``stop``."""
    rng = random.Random(seed)
    with _connect(dsn) as conn:
        while not stop.is_set():
            rolled_back = rng.random() < 0.15
            try:
                with conn.transaction(force_rollback=rolled_back):
                    for _ in range(rng.randint(1, 5)):
                        _change(conn, rng)
            except (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected):
                # The two writers lock random rows in random order; PostgreSQL rolls one back,
                # as an application would see it, and nothing of it was recorded.
                continue
            counts["rolled back" if rolled_back else "committed"] += 1


def _change(conn: psycopg.Connection[Any], rng: random.Random) -> None:
    key = rng.randint(1, KEYS)
    vector = [round(rng.uniform(-1, 1), 6) for _ in range(DIMENSION)]
    kind = rng.random()
    if kind < 0.45:
        conn.execute("INSERT INTO chaos VALUES (%s, %s::real[], %s) ON CONFLICT (id) DO UPDATE "
                     "SET embedding = excluded.embedding, tag = excluded.tag", (key, vector, f"t{rng.randint(0, 9)}"))
    elif kind < 0.6:
        conn.execute("UPDATE chaos SET tag = %s WHERE id = %s", (rng.choice([None, "x", "y"]), key))
    elif kind < 0.7:
        conn.execute("UPDATE chaos SET embedding = NULL WHERE id = %s", (key,))
    elif kind < 0.8:
        conn.execute("UPDATE chaos SET notes = %s WHERE id = %s", (str(rng.random()), key))  # not synced
    else:
        conn.execute("DELETE FROM chaos WHERE id = %s", (key,))


def _follow_process(dsn: str, store: StoreProcess, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PGS3V_ACCESS_KEY_ID": ACCESS_KEY_ID, "PGS3V_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY}
    with log.open("ab") as output:
        return subprocess.Popen([*PGS3V_COMMAND, "sync", "--follow", "--workers", "2", "--batch-rows", "40",
                                 "--dsn", dsn, "--endpoint", store.endpoint, "--data-dir", str(log.parent)],
                                stdout=output, stderr=output, env=env)


def _run_sync_run(dsn: str, stop: threading.Event, pids: list[int]) -> None:
    """s3vectors.sync_run in a loop, on a new connection whenever its backend was terminated."""
    while not stop.is_set():
        try:
            with _connect(dsn) as conn:
                pids.append(conn.info.backend_pid)
                while not stop.is_set():
                    conn.execute("SELECT s3vectors.sync_run(60)")
        except psycopg.OperationalError:
            continue  # terminated by the chaos thread


def _index_rows(store: StoreProcess, bucket: str) -> dict[str, tuple[bytes, dict[str, Any]]]:
    s3v = client(store.endpoint)
    found = {}
    for page in s3v.get_paginator("list_vectors").paginate(vectorBucketName=bucket, indexName="chaos",
                                                           returnData=True, returnMetadata=True):
        for vector in page["vectors"]:
            found[vector["key"]] = (np.asarray(vector["data"]["float32"], dtype="<f4").tobytes(),
                                    vector.get("metadata") or {})
    return found


def _table_rows(dsn: str) -> dict[str, tuple[bytes, dict[str, Any]]]:
    with _connect(dsn) as conn:
        rows = conn.execute("SELECT id::text, embedding, tag FROM chaos WHERE embedding IS NOT NULL").fetchall()
    return {key: (np.asarray(data, dtype="<f4").tobytes(), {"tag": tag} if tag is not None else {})
            for key, data, tag in rows}


@pytest.mark.parametrize("drain", ["pgs3v sync --follow", "s3vectors.sync_run"])
def test_the_index_ends_equal_to_the_table_after_kills(sql_stack: SqlStack, chaos_stack: Any, tmp_path: Path,
                                                       drain: str) -> None:
    store, host = chaos_stack
    dsn = sql_stack.create_database("pgs3v_sync_chaos")
    install_schema(dsn, function_endpoint=host.endpoint, access_key_id=ACCESS_KEY_ID,
                   secret_access_key=SECRET_ACCESS_KEY, timeout_seconds=10)
    bucket = f"chaos-{os.getpid()}-{'cli' if drain.startswith('pgs3v') else 'sql'}"
    with _connect(dsn) as conn:
        conn.execute("SELECT s3vectors.create_vector_bucket(%s)", (bucket,))
        conn.execute("SELECT s3vectors.create_index(%s, 'chaos', %s, 'euclidean')", (bucket, DIMENSION))
        conn.execute("CREATE TABLE chaos (id integer PRIMARY KEY, embedding real[], tag text, notes text)")
        conn.execute("SELECT s3vectors.enable_sync('chaos', 'id', 'embedding', %s, 'chaos', '{tag}')", (bucket,))

    stop = threading.Event()
    counts = {"committed": 0, "rolled back": 0}
    writers = [threading.Thread(target=_write_randomly, args=(dsn, seed, stop, counts)) for seed in (1, 2)]
    rng = random.Random(7)
    log = tmp_path / "sync.log"
    follower: subprocess.Popen[bytes] | None = None
    sync_run_pids: list[int] = []
    drainer_thread: threading.Thread | None = None
    kills = {"store": 0, "drain": 0}
    if drain == "pgs3v sync --follow":
        follower = _follow_process(dsn, store, log)
    else:
        drainer_thread = threading.Thread(target=_run_sync_run, args=(dsn, stop, sync_run_pids))
        drainer_thread.start()
    for writer in writers:
        writer.start()
    try:
        deadline = time.monotonic() + CHAOS_SECONDS
        while time.monotonic() < deadline:
            time.sleep(rng.uniform(0.3, 1.2))
            if rng.random() < 0.3:
                store.kill()
                time.sleep(rng.uniform(0.1, 0.8))
                store.start()
                kills["store"] += 1
            elif follower is not None:
                follower.send_signal(signal.SIGKILL)
                follower.wait()
                follower = _follow_process(dsn, store, log)
                kills["drain"] += 1
            elif sync_run_pids:
                with _connect(sql_stack.dsn("postgres")) as admin:
                    admin.execute("SELECT pg_terminate_backend(%s)", (sync_run_pids[-1],))
                kills["drain"] += 1
    finally:
        stop.set()
        for writer in writers:
            writer.join()
        if drainer_thread is not None:
            drainer_thread.join()
        if follower is not None:
            follower.send_signal(signal.SIGKILL)
            follower.wait()
    assert counts["committed"] > 50 and counts["rolled back"] > 5 and kills["store"] >= 1 and kills["drain"] >= 1

    # The last drain, with nothing killed: the same path again.
    if drain == "pgs3v sync --follow":
        env = {**os.environ, "PGS3V_ACCESS_KEY_ID": ACCESS_KEY_ID, "PGS3V_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY}
        finished = subprocess.run([*PGS3V_COMMAND, "sync", "--once", "--dsn", dsn, "--endpoint", store.endpoint,
                                   "--data-dir", str(tmp_path)], env=env, capture_output=True, timeout=300)
        assert finished.returncode == 0, finished.stderr.decode()[-2000:]
    else:
        with _connect(dsn) as conn:
            while conn.execute("SELECT s3vectors.sync_run()").fetchone() != (0,):
                pass
    with _connect(dsn) as conn:
        assert conn.execute("SELECT sum(pending) FROM s3vectors.sync_status()").fetchone() == (0,)
    table, index = _table_rows(dsn), _index_rows(store, bucket)
    assert len(table) > 50
    assert index.keys() == table.keys()
    assert index == table
