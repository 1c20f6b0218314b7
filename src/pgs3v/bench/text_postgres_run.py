"""PostgreSQL's side of the text benchmark: tsvector + GIN + ts_rank, and RRF over FTS and pgvector HNSW in SQL.

A private PostgreSQL 18 with pgvector 0.8.2 (:mod:`pgs3v.bench.pgvector_server`), for one size:

1. ``docs_plain (key text primary key, body text, embedding vector(d))``: one binary COPY of
   every row, timed; then the text made searchable afterwards (a generated ``tsvector`` column
   ``to_tsvector('english', body)`` added with ALTER TABLE, and a GIN index on it), timed; the
   table is dropped;
2. ``docs``, the same with the generated column and its GIN index created before the load (as
   PutVectors into a searchable key): the same COPY, timed; then the HNSW index (pgvector's
   defaults: m = 16, ef_construction = 64, cosine), timed, and VACUUM ANALYZE (what a bulk load
   is followed by);
3. text-only ``plainto_tsquery`` + ``ts_rank`` queries, the same with the words OR'ed (a labelled
   variant: pgs3v's BM25 matches any word, plainto_tsquery all of them), and hybrid queries (RRF,
   k = 60, of the FTS top k and the HNSW top k, as pgs3v fuses its lists), one at a time on one
   connection with prepared statements (the vector in binary), no warm-up; then the HNSW list
   alone (vector-only).
"""

from __future__ import annotations

import re
import struct
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from psycopg.types.numeric import Int8

from pgs3v.bench.pgvector_baseline import register_vector_dumper, suggested_memory
from pgs3v.bench.pgvector_server import Connection, PrivatePostgres

Progress = Callable[[str, int, int], None]
Vectors = npt.NDArray[np.float32]

CONFIGURATION = "english"
RRF_K = 60  # as pgs3v's hybrid queries (store/api/text_queries.py)
_COPY_ROWS = 10_000
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_COPY_TRAILER = struct.pack(">h", -1)
_VECTOR_LITERAL = re.compile(r"'\[[^']*\]'::vector")
_TSV = f"tsv tsvector GENERATED ALWAYS AS (to_tsvector('{CONFIGURATION}', body)) STORED"

TEXT_QUERY = (f"SELECT key, ts_rank(tsv, q) AS rank FROM docs, plainto_tsquery('{CONFIGURATION}', %s) q "
              "WHERE tsv @@ q ORDER BY rank DESC, key LIMIT %s")
TEXT_QUERY_OR = (f"SELECT key, ts_rank(tsv, q) AS rank FROM docs, to_tsquery('{CONFIGURATION}', %s) q "
                 "WHERE tsv @@ q ORDER BY rank DESC, key LIMIT %s")
VECTOR_QUERY = "SELECT key FROM docs ORDER BY embedding <=> %s LIMIT %s"
HYBRID_QUERY = f"""
WITH fts AS (
    SELECT key, row_number() OVER (ORDER BY rank DESC, key) AS position FROM (
        SELECT key, ts_rank(tsv, q) AS rank FROM docs, plainto_tsquery('{CONFIGURATION}', %(text)s) q
        WHERE tsv @@ q ORDER BY rank DESC, key LIMIT %(k)s) best_text),
ann AS (
    SELECT key, row_number() OVER (ORDER BY distance, key) AS position FROM (
        SELECT key, embedding <=> %(vector)s AS distance FROM docs
        ORDER BY embedding <=> %(vector)s LIMIT %(k)s) best_vectors)
SELECT key, sum(1.0 / ({RRF_K} + position)) AS fused FROM (
    SELECT key, position FROM fts UNION ALL SELECT key, position FROM ann) lists
GROUP BY key ORDER BY fused DESC, key LIMIT %(k)s"""


@dataclass
class PostgresTextRun:
    """What PostgreSQL did for one size: seconds per step, per-query durations (ns) and answers (keys)."""

    settings: dict[str, str] = field(default_factory=dict)
    copy_plain_s: float = 0.0
    add_text_later_s: float = 0.0
    copy_searchable_s: float = 0.0
    hnsw_build_s: float = 0.0
    vacuum_analyze_s: float = 0.0
    table_bytes: int = 0
    gin_bytes: int = 0
    queries: dict[str, tuple[list[int], list[list[str]], float]] = field(default_factory=dict)
    version: str = ""
    plan: dict[str, str] = field(default_factory=dict)


def postgres_settings(rows: int, dimension: int) -> dict[str, str]:
    """The server's settings: the ANN baseline's memory for an in-memory HNSW build, one core per query."""
    return {
        **suggested_memory(rows, dimension),
        "max_parallel_maintenance_workers": "1",
        "max_parallel_workers_per_gather": "0",  # every system answers a query on one core
        "max_wal_size": "'16GB'",  # no checkpoint storm in the middle of a bulk load
        "jit": "off",
    }


def run_postgres_text(
    work_dir: Path | None, keys: Sequence[str], texts: Sequence[str], vectors: Vectors, queries: Sequence[str],
    query_vectors: Vectors, top_k: int, progress: Progress,
) -> PostgresTextRun:
    """Measure PostgreSQL on these rows and queries (see the module docstring)."""
    dimension = int(vectors.shape[1])
    run = PostgresTextRun(settings=postgres_settings(len(keys), dimension))
    server = PrivatePostgres(run.settings, work_dir)
    server.start()
    try:
        with server.connect() as conn:
            conn.execute("CREATE EXTENSION vector")
            register_vector_dumper(conn)
            row = conn.execute("SELECT version()").fetchone()
            run.version = str(row[0]) if row else ""
            columns = f"key text PRIMARY KEY, body text NOT NULL, embedding vector({dimension}) NOT NULL"
            conn.execute(f"CREATE TABLE docs_plain ({columns})")
            run.copy_plain_s = _copy(conn, "docs_plain", keys, texts, vectors, progress)
            progress("PostgreSQL: tsvector column and GIN index added to the loaded table", 0, 1)
            began = time.perf_counter()
            conn.execute(f"ALTER TABLE docs_plain ADD COLUMN {_TSV}")
            conn.execute("CREATE INDEX docs_plain_tsv ON docs_plain USING gin (tsv)")
            run.add_text_later_s = time.perf_counter() - began
            conn.execute("DROP TABLE docs_plain")
            conn.execute(f"CREATE TABLE docs ({columns}, {_TSV})")
            conn.execute("CREATE INDEX docs_tsv ON docs USING gin (tsv)")
            run.copy_searchable_s = _copy(conn, "docs", keys, texts, vectors, progress)
            run.hnsw_build_s = _build_hnsw(server, conn, len(keys), progress)
            began = time.perf_counter()
            conn.execute("VACUUM ANALYZE docs")
            run.vacuum_analyze_s = time.perf_counter() - began
            sizes = conn.execute("SELECT pg_table_size('docs'), pg_relation_size('docs_tsv')").fetchone()
            assert sizes is not None
            run.table_bytes, run.gin_bytes = int(sizes[0]), int(sizes[1])
            k = Int8(top_k)
            or_texts = [" | ".join(text.split()) for text in queries]
            run.plan = {
                "text-only": _explain(conn, TEXT_QUERY, (queries[0], k)),
                "hybrid": _explain(conn, HYBRID_QUERY, {"text": queries[0], "vector": query_vectors[0], "k": k}),
            }
            run.queries["text-only"] = _timed(conn, TEXT_QUERY, [(text, k) for text in queries], progress,
                                              "PostgreSQL: text-only queries (plainto_tsquery, ts_rank)")
            run.queries["text-only-or"] = _timed(conn, TEXT_QUERY_OR, [(text, k) for text in or_texts], progress,
                                                 "PostgreSQL: text-only queries, words OR'ed")
            run.queries["hybrid"] = _timed(
                conn, HYBRID_QUERY,
                [{"text": text, "vector": vector, "k": k} for text, vector in zip(queries, query_vectors, strict=True)],
                progress, "PostgreSQL: hybrid queries (RRF of FTS and HNSW)")
            run.queries["vector-only"] = _timed(conn, VECTOR_QUERY, [(vector, k) for vector in query_vectors],
                                                progress, "PostgreSQL: vector-only queries (HNSW)")
    finally:
        server.stop()
    return run


def _copy_chunks(keys: Sequence[str], texts: Sequence[str], vectors: Vectors) -> Iterator[tuple[int, bytes]]:
    """Binary COPY data a chunk at a time: (rows so far, bytes), built as it is sent."""
    dimension = int(vectors.shape[1])
    vector_record = np.dtype([("size", ">i4"), ("dimension", ">i2"), ("unused", ">i2"),
                              ("values", ">f4", (dimension,))])
    field_count = struct.pack(">h", 3)
    for start in range(0, len(keys), _COPY_ROWS):
        stop = min(len(keys), start + _COPY_ROWS)
        records = np.zeros(stop - start, dtype=vector_record)
        records["size"], records["dimension"] = 4 + 4 * dimension, dimension
        records["values"] = vectors[start:stop]
        packed = records.tobytes()
        width = vector_record.itemsize
        parts = []
        for offset, row in enumerate(range(start, stop)):
            key, body = keys[row].encode(), texts[row].encode()
            parts += [field_count, struct.pack(">i", len(key)), key, struct.pack(">i", len(body)), body,
                      packed[offset * width:(offset + 1) * width]]
        yield stop, b"".join(parts)


def _copy(conn: Connection, table: str, keys: Sequence[str], texts: Sequence[str], vectors: Vectors,
          progress: Progress) -> float:
    """One binary COPY of every row into ``table``, in its own transaction; the seconds taken."""
    began = time.perf_counter()
    with conn.transaction(), conn.cursor().copy(
            f"COPY {table} (key, body, embedding) FROM STDIN WITH (FORMAT binary)") as copy:
        copy.write(_COPY_HEADER)
        for done, chunk in _copy_chunks(keys, texts, vectors):
            copy.write(chunk)
            if done % 50_000 < _COPY_ROWS or done == len(keys):
                progress(f"PostgreSQL: COPY into {table}", done, len(keys))
        copy.write(_COPY_TRAILER)
    return time.perf_counter() - began


def _build_hnsw(server: PrivatePostgres, conn: Connection, rows: int, progress: Progress) -> float:
    """CREATE INDEX ... USING hnsw with pgvector's defaults; the seconds taken, progress polled meanwhile."""
    failure: list[BaseException] = []

    def build() -> None:
        try:
            conn.execute("CREATE INDEX docs_embedding ON docs USING hnsw (embedding vector_cosine_ops)")
        except BaseException as problem:  # handed to the calling thread
            failure.append(problem)

    began = time.perf_counter()
    worker = threading.Thread(target=build, name="hnsw-build", daemon=True)
    worker.start()
    with server.connect() as watcher:
        while worker.is_alive():
            worker.join(5.0)
            row = watcher.execute("SELECT coalesce(tuples_done, 0) FROM pg_stat_progress_create_index").fetchone()
            if worker.is_alive() and row is not None:
                progress("PostgreSQL: HNSW build", int(row[0]), rows)
    if failure:
        raise failure[0]
    return time.perf_counter() - began


def _explain(conn: Connection, statement: str, params: Any) -> str:
    """The plan PostgreSQL picks for the statement, the vector's 384 numbers elided."""
    rows = conn.execute("EXPLAIN " + statement, params).fetchall()
    return _VECTOR_LITERAL.sub("'[...]'::vector", "\n".join(str(row[0]) for row in rows))


def _timed(conn: Connection, statement: str, params: Sequence[Any], progress: Progress, label: str,
           ) -> tuple[list[int], list[list[str]], float]:
    """Each query's duration (ns) and answer (keys), one after the other; and the wall time of them all."""
    durations: list[int] = []
    answers: list[list[str]] = []
    began = time.perf_counter()
    for number, values in enumerate(params):
        started = time.perf_counter_ns()
        rows = conn.execute(statement, values, prepare=True, binary=True).fetchall()
        durations.append(time.perf_counter_ns() - started)
        answers.append([str(row[0]) for row in rows])
        if number % 200 == 0 or number + 1 == len(params):
            progress(label, number + 1, len(params))
    return durations, answers, time.perf_counter() - began
