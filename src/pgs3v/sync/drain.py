"""``pgs3v sync``: move the outbox's changes to the indexes, batch by batch, from outside the database.

A batch is one transaction: claim outbox rows (``s3vectors._sync_claim``: locked with SKIP
LOCKED, so several workers share the work, and a key only when all its rows are claimable),
decide what each key needs (``s3vectors._sync_batch``, reading the row as it is now), send the
puts and deletes to the store with retries, then delete the claimed outbox rows
(``s3vectors._sync_done``) and commit. A crash before the commit leaves the rows for the next
batch, which sends the same idempotent writes again: delivery is at least once, the result exact.

With ``follow`` the workers wait for the capture trigger's ``NOTIFY pgs3v_sync`` (sent at
commit) when the outbox is empty, and poll every few seconds in case a notification was missed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from pgs3v.bridge.json_transport import JsonTransport
from pgs3v.sync.target import SyncTarget
from pgs3v.sync.writes import MAX_BATCH, IndexWriter, VectorRow

log = logging.getLogger("pgs3v.sync")

Connection = psycopg.Connection[Any]

# Reasons _sync_batch gives for deleting a key that are not a problem with the row.
_ABSENT = ("no row", "no embedding")
# follow: how long an idle worker waits for a notification before it looks at the outbox anyway.
_POLL_SECONDS = 5.0
# follow: after a failed batch, wait this long (doubling up to the maximum) before the next try.
_FAILURE_BACKOFF_SECONDS = (1.0, 30.0)


@dataclass(frozen=True)
class Mapping:
    """A synced table and its index."""

    mapping_id: int
    source: str
    vector_bucket_name: str
    index_name: str


@dataclass
class DrainTotals:
    """What drained batches did."""

    changes: int = 0  # outbox rows removed
    put: int = 0
    deleted: int = 0
    without_embedding: int = 0
    skipped: int = 0
    batches: int = 0
    failures: int = 0
    last_skip: str | None = field(default=None, repr=False)

    def add(self, other: DrainTotals) -> None:
        """Count ``other`` in too."""
        self.changes += other.changes
        self.put += other.put
        self.deleted += other.deleted
        self.without_embedding += other.without_embedding
        self.skipped += other.skipped
        self.batches += other.batches
        self.failures += other.failures
        self.last_skip = other.last_skip or self.last_skip


def load_mappings(conn: Connection, only: Sequence[int] = ()) -> list[Mapping]:
    """The mappings of the database (or those of ``only``), by id."""
    rows = conn.execute(
        "SELECT mapping_id, source::text, vector_bucket_name, index_name FROM s3vectors.sync_mappings "
        "WHERE cardinality(%s::integer[]) = 0 OR mapping_id = ANY (%s::integer[]) ORDER BY mapping_id",
        (list(only), list(only))).fetchall()
    return [Mapping(*row) for row in rows]


def pending_changes(conn: Connection, only: Sequence[int] = ()) -> int:
    """Outbox rows of these mappings (all when empty) not drained yet."""
    row = conn.execute("SELECT coalesce(sum(pending), 0)::bigint FROM s3vectors.sync_status() "
                       "WHERE cardinality(%s::integer[]) = 0 OR mapping_id = ANY (%s::integer[])",
                       (list(only), list(only))).fetchone()
    return int(row[0]) if row else 0


def drain_batch(conn: Connection, writer: IndexWriter, mapping_id: int, max_rows: int = MAX_BATCH) -> DrainTotals:
    """Claim up to ``max_rows`` outbox rows of a mapping, send what they need, and remove them; one transaction."""
    with conn.transaction():
        claimed = conn.execute("SELECT key, change_ids FROM s3vectors._sync_claim(%s, %s)",
                               (mapping_id, max_rows)).fetchall()
        if not claimed:
            return DrainTotals()
        keys = [key for key, _ in claimed]
        change_ids = [change for _, changes in claimed for change in changes]
        decided = conn.execute("SELECT key, data, metadata, reason FROM s3vectors._sync_batch(%s, %s)",
                               (mapping_id, keys)).fetchall()
        puts = [VectorRow(key, data, metadata) for key, data, metadata, reason in decided if reason is None]
        deletes = [key for key, _, _, reason in decided if reason is not None]
        unfit = [f"key {key}: {reason}" for key, _, _, reason in decided if reason not in (None, *_ABSENT)]
        without_embedding = sum(1 for *_, reason in decided if reason == "no embedding")
        writer.put(puts)
        writer.delete(deletes)
        conn.execute("SELECT s3vectors._sync_done(%s, %s, %s, %s, %s, %s, %s)",
                     (mapping_id, change_ids, len(puts), len(deletes), without_embedding, len(unfit),
                      unfit[-1] if unfit else None))
    return DrainTotals(len(change_ids), len(puts), len(deletes), without_embedding, len(unfit), 1, 0,
                       unfit[-1] if unfit else None)


def record_failure(conn: Connection, mapping_id: int, error: BaseException) -> None:
    """Put ``error`` into the mapping's sync_status (its batch stays in the outbox)."""
    try:
        conn.execute("SELECT s3vectors._sync_failed(%s, %s)", (mapping_id, _describe(error)))
    except psycopg.Error as problem:  # the database itself may be what failed
        log.warning("could not record the failure of mapping %s: %s", mapping_id, problem)


def _describe(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:1000]


class Drainer:
    """Workers that drain the outbox of some mappings (or all) into the store."""

    def __init__(self, target: SyncTarget, *, workers: int = 1, batch_rows: int = MAX_BATCH,
                 mapping_ids: Sequence[int] = (), on_batch: Callable[[Mapping, DrainTotals], None] | None = None,
                 transport: JsonTransport | None = None) -> None:
        if workers < 1 or not 1 <= batch_rows <= 10_000:
            raise ValueError("workers must be at least 1 and batch_rows within 1..10000")
        self._target = target
        self._workers = workers
        self._batch_rows = batch_rows
        self._mapping_ids = tuple(mapping_ids)
        self._on_batch = on_batch
        self._transport = transport or target.transport()
        self._lock = threading.Lock()
        self.totals = DrainTotals()

    def connect(self) -> Connection:
        """An autocommit connection to the database (batches open their own transactions)."""
        return psycopg.connect(self._target.dsn, autocommit=True, application_name="pgs3v sync")

    def writer(self, mapping: Mapping) -> IndexWriter:
        """Writes to the mapping's index."""
        return IndexWriter(self._transport, mapping.vector_bucket_name, mapping.index_name)

    def run_once(self) -> DrainTotals:
        """Drain until no worker finds anything to claim; raise the first batch failure."""
        errors: list[BaseException] = []
        self._run_workers(lambda: self._once_worker(errors))
        if errors:
            raise errors[0]
        return self.totals

    def follow(self, stop: threading.Event) -> DrainTotals:
        """Drain, then wait for changes, until ``stop`` is set; failures are recorded and retried."""
        self._run_workers(lambda: self._follow_worker(stop))
        return self.totals

    def drain_mapping(self, conn: Connection, mapping: Mapping) -> DrainTotals:
        """Drain one mapping with this connection until nothing is left to claim (no retry on failure)."""
        drained = DrainTotals()
        writer = self.writer(mapping)
        while True:
            try:
                batch = drain_batch(conn, writer, mapping.mapping_id, self._batch_rows)
            except Exception as error:
                record_failure(conn, mapping.mapping_id, error)
                raise
            if batch.batches == 0:
                return drained
            drained.add(batch)
            self._count(mapping, batch)

    def _count(self, mapping: Mapping, batch: DrainTotals) -> None:
        with self._lock:
            self.totals.add(batch)
        if self._on_batch is not None:
            self._on_batch(mapping, batch)

    def _run_workers(self, work: Callable[[], None]) -> None:
        threads = [threading.Thread(target=work, name=f"pgs3v-sync-{n}", daemon=True) for n in range(self._workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _once_worker(self, errors: list[BaseException]) -> None:
        try:
            with self.connect() as conn:
                while True:
                    found = 0
                    for mapping in load_mappings(conn, self._mapping_ids):
                        found += self.drain_mapping(conn, mapping).changes
                    if found == 0:
                        return
        except BaseException as error:  # reported by run_once, in the caller's thread
            with self._lock:
                errors.append(error)

    def _follow_worker(self, stop: threading.Event) -> None:
        backoff = _FAILURE_BACKOFF_SECONDS[0]
        while not stop.is_set():
            try:
                with self.connect() as conn:
                    conn.execute("LISTEN pgs3v_sync")
                    while not stop.is_set():
                        found = 0
                        for mapping in load_mappings(conn, self._mapping_ids):
                            found += self.drain_mapping(conn, mapping).changes
                        backoff = _FAILURE_BACKOFF_SECONDS[0]
                        if found == 0:
                            _wait_for_notification(conn, stop)
            except Exception as error:
                with self._lock:
                    self.totals.failures += 1
                log.warning("sync: %s; trying again in %.0f s", _describe(error), backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, _FAILURE_BACKOFF_SECONDS[1])


def _wait_for_notification(conn: Connection, stop: threading.Event) -> None:
    """Return at the next NOTIFY pgs3v_sync, after the poll interval, or soon after ``stop`` is set."""
    waited = 0.0
    while not stop.is_set() and waited < _POLL_SECONDS:
        for _ in conn.notifies(timeout=0.5, stop_after=1):
            return
        waited += 0.5

