"""``pgs3v bench sync``: how far behind its table an index stays, and how fast a backfill loads.

What a user runs, on the project's real parts (PostgreSQL 15, the store, the function host, on
loopback, as ``pgs3v bench sql`` starts them):

1. **Backfill.** A table of ``rows`` random ``dimension``-d vectors (two metadata columns) is
   filled, sync is enabled, and ``backfill`` (the code behind ``pgs3v sync backfill``) loads
   it: rows per second from the first queued key to the last acknowledged put.
2. **Lag under load.** ``pgs3v sync --follow`` runs as its own process, as a user runs it.
   Writers change ``rate`` rows per second (metadata updates of random rows, in transactions of
   ``rows_per_transaction``) for ``seconds``. Meanwhile a probe commits a new random embedding
   for one key and polls QueryVectors (topK 1, directly against the store) until that key comes
   back at distance ~0: the lag from COMMIT returning to the change being visible in a query.
   The probe repeats every 50–150 ms. Reported: p50, p95, p99 and max of the lag, the change
   rate reached, and the most changes pending at once.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from rich.console import Console

from pgs3v.bench.machine import machine_info
from pgs3v.bench.measurements import BenchResult, Measurement
from pgs3v.bridge.json_transport import JsonTransport
from pgs3v.child_server import PGS3V_COMMAND
from pgs3v.stack.startup import RunningStack, running_stack
from pgs3v.sync.backfill import backfill
from pgs3v.sync.drain import Drainer, load_mappings
from pgs3v.sync.target import SyncTarget

DATABASE = "sync_bench"
BUCKET = "sync-bench"
INDEX = "items"
SYSTEM = "pgs3v-sync"
# QueryVectors polls of the probe, at most this often.
_POLL_SECONDS = 0.002


@dataclass(frozen=True)
class SyncBenchParameters:
    """How big the table is, how hard it is changed, and for how long."""

    rows: int = 100_000
    dimension: int = 384
    rate: int = 1000  # changed rows per second
    seconds: float = 60.0
    rows_per_transaction: int = 50
    workers: int = 1  # of pgs3v sync --follow
    seed: int = 0
    keep_data: bool = False

    def command(self) -> str:
        """The command line that reproduces this run."""
        return (f"pgs3v bench sync --rows {self.rows} --dimension {self.dimension} --rate {self.rate} "
                f"--seconds {self.seconds:g} --rows-per-transaction {self.rows_per_transaction} "
                f"--workers {self.workers} --seed {self.seed}")


def run_sync_bench(parameters: SyncBenchParameters, console: Console) -> BenchResult:
    """Run both parts and return their figures (the caller writes and prints them)."""
    result = BenchResult(benchmark="sync", command=parameters.command(),
                         started_at=datetime.now(UTC).isoformat(timespec="seconds"),
                         parameters=asdict(parameters), machine=machine_info(),
                         systems={SYSTEM: "pgs3v sync (backfill; --follow as its own process)"})
    root = Path(tempfile.mkdtemp(prefix="pgs3v-bench-sync-"))
    root.chmod(0o755)  # the PostgreSQL server runs as the postgres OS user when we are root
    result.notes["data_dir"] = str(root)
    try:
        console.print("Starting PostgreSQL 15, the store and the function host…")
        with running_stack({DATABASE: "pgs3v-bridge"}, root=root) as stack:
            target = SyncTarget(stack.dsn(DATABASE), stack.store.endpoint, stack.store.region,
                                stack.credentials.access_key_id, stack.credentials.secret_access_key)
            _prepare(stack, parameters)
            with console.status(f"Backfilling {parameters.rows:,} rows"):
                result.measurements += _backfill(target, parameters, result.notes)
            console.print(f"Backfill: {result.notes['backfill']['rows_per_s']:,.0f} rows/s")
            with console.status(f"{parameters.rate:,} changed rows/s for {parameters.seconds:g} s, probing the lag"):
                result.measurements += _lag_under_load(stack, target, parameters, root, result.notes)
    finally:
        if not parameters.keep_data:
            shutil.rmtree(root, ignore_errors=True)
    return result


def _prepare(stack: RunningStack, parameters: SyncBenchParameters) -> None:
    rng = np.random.default_rng(parameters.seed)
    with psycopg.connect(stack.dsn(DATABASE), autocommit=True) as conn:
        conn.execute("SELECT s3vectors.create_vector_bucket(%s)", (BUCKET,))
        conn.execute("SELECT s3vectors.create_index(%s, %s, %s, 'cosine')", (BUCKET, INDEX, parameters.dimension))
        conn.execute("CREATE TABLE items (id bigint PRIMARY KEY, embedding real[] NOT NULL, category text, "
                     "version integer NOT NULL DEFAULT 0)")
        with conn.cursor().copy("COPY items (id, embedding, category) FROM STDIN") as copy:
            for start in range(0, parameters.rows, 10_000):
                block = rng.standard_normal((min(10_000, parameters.rows - start), parameters.dimension),
                                            dtype=np.float32)
                for offset, vector in enumerate(block):
                    row = start + offset
                    copy.write_row((row, vector.tolist(), f"c{row % 20}"))
        conn.execute("ANALYZE items")
        conn.execute("SELECT s3vectors.enable_sync('items', 'id', 'embedding', %s, %s, '{category,version}')",
                     (BUCKET, INDEX))


def _backfill(target: SyncTarget, parameters: SyncBenchParameters, notes: dict[str, Any]) -> list[Measurement]:
    drainer = Drainer(target)
    with drainer.connect() as conn:
        mapping = load_mappings(conn)[0]
        began = time.perf_counter()
        report = backfill(conn, drainer, mapping)
        seconds = time.perf_counter() - began
    notes["backfill"] = {"rows": report.queued, "seconds": seconds, "rows_per_s": report.queued / seconds,
                         "vectors_put": report.drained.put}
    return [Measurement("backfill", SYSTEM, "rows_per_s", report.queued / seconds, "rows/s"),
            Measurement("backfill", SYSTEM, "seconds", seconds, "s")]


def _lag_under_load(stack: RunningStack, target: SyncTarget, parameters: SyncBenchParameters, root: Path,
                    notes: dict[str, Any]) -> list[Measurement]:
    env = {**os.environ, "PGS3V_ACCESS_KEY_ID": target.access_key_id or "",
           "PGS3V_SECRET_ACCESS_KEY": target.secret_access_key or ""}
    log = (root / "sync-follow.log").open("wb")
    follower = subprocess.Popen([*PGS3V_COMMAND, "sync", "--follow", "--workers", str(parameters.workers),
                                 "--dsn", target.dsn, "--endpoint", target.endpoint or "",
                                 "--data-dir", str(root)], stdout=log, stderr=log, env=env)
    stop = threading.Event()
    changed = [0]
    pending_max = [0]
    writer = threading.Thread(target=_change_rows, args=(target.dsn, parameters, stop, changed))
    watcher = threading.Thread(target=_watch_pending, args=(target.dsn, stop, pending_max))
    try:
        writer.start()
        watcher.start()
        began = time.perf_counter()
        lags = _probe(target, parameters, began + parameters.seconds)
        elapsed = time.perf_counter() - began
    finally:
        stop.set()
        writer.join()
        watcher.join()
        follower.send_signal(signal.SIGTERM)
        try:
            follower.wait(timeout=30)
        except subprocess.TimeoutExpired:
            follower.kill()
        log.close()
    lag_ms = np.asarray(lags) * 1000.0
    notes["lag"] = {"probes": len(lags), "changed_rows": changed[0], "seconds": elapsed,
                    "changed_rows_per_s": changed[0] / elapsed, "pending_max": pending_max[0]}
    workload = f"lag at {parameters.rate:,} changed rows/s"
    figures = [Measurement(workload, SYSTEM, f"{name}_ms", float(np.percentile(lag_ms, q)), "ms")
               for name, q in (("p50", 50), ("p95", 95), ("p99", 99))]
    figures += [Measurement(workload, SYSTEM, "max_ms", float(lag_ms.max()), "ms"),
                Measurement(workload, SYSTEM, "changed_rows_per_s", changed[0] / elapsed, "rows/s"),
                Measurement(workload, SYSTEM, "pending_max", float(pending_max[0]), "changes")]
    return figures


def _change_rows(dsn: str, parameters: SyncBenchParameters, stop: threading.Event, changed: list[int]) -> None:
    """Update ``rate`` random rows a second, ``rows_per_transaction`` per transaction, paced evenly."""
    rng = random.Random(parameters.seed)
    interval = parameters.rows_per_transaction / parameters.rate
    with psycopg.connect(dsn, autocommit=True) as conn:
        next_at = time.perf_counter()
        while not stop.is_set():
            ids = rng.sample(range(1, parameters.rows), parameters.rows_per_transaction)
            conn.execute("UPDATE items SET version = version + 1, category = %s WHERE id = ANY (%s)",
                         (f"c{rng.randrange(20)}", ids))
            changed[0] += len(ids)
            next_at += interval
            delay = next_at - time.perf_counter()
            if delay > 0:
                stop.wait(delay)


def _watch_pending(dsn: str, stop: threading.Event, most: list[int]) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        while not stop.wait(0.25):
            row = conn.execute("SELECT coalesce(sum(pending), 0) FROM s3vectors.sync_status()").fetchone()
            most[0] = max(most[0], int(row[0]) if row else 0)


def _probe(target: SyncTarget, parameters: SyncBenchParameters, until: float) -> list[float]:
    """Seconds from COMMIT to visible in QueryVectors, one probe after another until ``until``."""
    rng = np.random.default_rng(parameters.seed + 1)
    transport: JsonTransport = target.transport()
    lags: list[float] = []
    with psycopg.connect(target.dsn, autocommit=True) as conn:
        while time.perf_counter() < until:
            vector = rng.standard_normal(parameters.dimension, dtype=np.float32)
            conn.execute("UPDATE items SET embedding = %s::real[] WHERE id = 0", (vector.tolist(),))
            committed = time.perf_counter()
            request = {"vectorBucketName": BUCKET, "indexName": INDEX, "topK": 1,
                       "queryVector": {"float32": vector.tolist()}, "returnDistance": True}
            while True:
                found = transport.call("QueryVectors", request)["vectors"]
                if found and found[0]["key"] == "0" and found[0]["distance"] < 1e-4:
                    lags.append(time.perf_counter() - committed)
                    break
                if time.perf_counter() - committed > 60:
                    raise TimeoutError("a committed change was not visible after 60 s")
                time.sleep(_POLL_SECONDS)
            time.sleep(random.uniform(0.05, 0.15))
    transport.close()
    return lags
