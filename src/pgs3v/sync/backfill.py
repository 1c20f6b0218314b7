"""``pgs3v sync backfill``: put a table's existing rows into its index, resumably.

Keys are read in the key column's order, a page at a time, and queued in the outbox together
with the position reached (one transaction); the drain then sends them like any change. So a
backfill running beside live writes cannot overwrite a newer row with the older one it read,
and an interrupted backfill resumes after the last queued key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from psycopg import sql

from pgs3v.sync.drain import Connection, Drainer, DrainTotals, Mapping

PAGE_ROWS = 5000


@dataclass
class BackfillReport:
    """What a backfill did."""

    queued: int
    resumed_after: str | None
    drained: DrainTotals


def backfill(conn: Connection, drainer: Drainer, mapping: Mapping, *, restart: bool = False,
             page_rows: int = PAGE_ROWS, progress: Callable[[int, int], None] | None = None) -> BackfillReport:
    """Queue every key of the mapping's table (from where the last backfill stopped) and drain them."""
    state = conn.execute("SELECT backfill_started_at, backfill_after, backfill_finished_at "
                         "FROM s3vectors.sync_status() WHERE mapping_id = %s", (mapping.mapping_id,)).fetchone()
    if state is None:
        raise LookupError(f"no sync mapping {mapping.mapping_id}")
    started, after, finished = state
    if restart or started is None or finished is not None:
        conn.execute("SELECT s3vectors._sync_mark(%s, 'backfill started')", (mapping.mapping_id,))
        after = None
    resumed_after = after
    total = _row_count(conn, mapping)
    queued = 0
    drained = DrainTotals()
    while True:
        keys = [row[0] for row in conn.execute("SELECT k FROM s3vectors._sync_keys_after(%s, %s, %s) AS k",
                                               (mapping.mapping_id, after, page_rows))]
        if not keys:
            break
        with conn.transaction():
            conn.execute("SELECT s3vectors._sync_enqueue(%s, %s, %s)", (mapping.mapping_id, keys, keys[-1]))
        drained.add(drainer.drain_mapping(conn, mapping))
        after = keys[-1]
        queued += len(keys)
        if progress is not None:
            progress(queued, total)
    conn.execute("SELECT s3vectors._sync_mark(%s, 'backfill finished')", (mapping.mapping_id,))
    return BackfillReport(queued, resumed_after, drained)


def _row_count(conn: Connection, mapping: Mapping) -> int:
    """The table's rows: the planner's estimate once the table was analyzed (exact counts of big
    tables take long), else counted."""
    row = conn.execute("SELECT c.reltuples::bigint, n.nspname, c.relname FROM pg_class AS c "
                       "JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE c.oid = %s::regclass",
                       (mapping.source,)).fetchone()
    if row is None:
        return 0
    estimate, schema, name = row
    if estimate >= 0:
        return int(estimate)
    counted = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, name))).fetchone()
    return int(counted[0]) if counted else 0
