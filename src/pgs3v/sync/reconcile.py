"""``pgs3v sync reconcile``: compare a table with its index key by key and repair every difference.

The index is read by parallel ListVectors walks (its ``segmentCount``; data and metadata); the
table is read in key order through the same decision the drains use (``s3vectors._sync_batch``),
so "what the index should hold" has one definition. Each side becomes a content hash per key (float32 bytes
of the vector and the metadata as canonical JSON); keys missing from the index, extra in it, or
with other content are queued in the outbox and drained, and the report says how many of each.
After a TRUNCATE (which records no keys) this is what brings the index back in step.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import orjson

from pgs3v.bridge.json_transport import JsonTransport
from pgs3v.bridge.retry import call_with_retries, idempotent_retry_reason
from pgs3v.sync.drain import Connection, Drainer, DrainTotals, Mapping
from pgs3v.sync.writes import SYNC_RETRY

PAGE_ROWS = 1000
# Examples of each kind of difference kept for the report.
_EXAMPLES = 5


@dataclass
class ReconcileReport:
    """What a reconcile found and repaired."""

    table_keys: int = 0
    index_keys: int = 0
    missing: int = 0  # in the table (with an embedding), not in the index
    extra: int = 0  # in the index, not in the table (or without an embedding there)
    different: int = 0  # in both, other vector or metadata
    examples: dict[str, list[str]] = field(default_factory=dict)
    drained: DrainTotals = field(default_factory=DrainTotals)

    @property
    def repaired(self) -> int:
        """Keys queued for repair."""
        return self.missing + self.extra + self.different


def content_hash(data: Sequence[float], metadata: dict[str, Any] | None) -> bytes:
    """A digest of what the index holds for a key: float32 vector bytes, then canonical metadata."""
    digest = hashlib.blake2b(np.asarray(data, dtype="<f4").tobytes(), digest_size=16)
    digest.update(orjson.dumps(metadata or {}, option=orjson.OPT_SORT_KEYS))
    return digest.digest()


def index_hashes(transport: JsonTransport, mapping: Mapping, walks: int = 4,
                 progress: Callable[[int], None] | None = None) -> dict[str, bytes]:
    """Every key of the index with its content hash, read in ``walks`` parallel ListVectors walks."""
    def walk(number: int) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        token: str | None = None
        while True:
            request: dict[str, Any] = {
                "vectorBucketName": mapping.vector_bucket_name, "indexName": mapping.index_name,
                "segmentCount": walks, "segmentIndex": number, "maxResults": PAGE_ROWS,
                "returnData": True, "returnMetadata": True}
            if token:
                request["nextToken"] = token
            page = call_with_retries(partial(transport.call, "ListVectors", request), SYNC_RETRY,
                                     reason=idempotent_retry_reason, what="ListVectors")
            for vector in page.get("vectors", []):
                found[vector["key"]] = content_hash(vector["data"]["float32"], vector.get("metadata"))
            if progress is not None:
                progress(len(page.get("vectors", [])))
            token = page.get("nextToken")
            if not token:
                return found

    hashes: dict[str, bytes] = {}
    with ThreadPoolExecutor(max_workers=walks, thread_name_prefix="pgs3v-reconcile") as pool:
        for part in pool.map(walk, range(walks)):
            hashes.update(part)
    return hashes


def reconcile(conn: Connection, transport: JsonTransport, drainer: Drainer, mapping: Mapping, *,
              walks: int = 4, progress: Callable[[str, int], None] | None = None) -> ReconcileReport:
    """Compare the mapping's table and index, queue every key that differs, drain; report what was repaired."""
    row = conn.execute("SELECT now()").fetchone()
    started = row[0] if row else None
    report = ReconcileReport()
    index = index_hashes(transport, mapping, walks,
                         None if progress is None else (lambda n: progress("index", n)))
    report.index_keys = len(index)
    after: str | None = None
    queued: list[str] = []
    while True:
        keys = [r[0] for r in conn.execute("SELECT k FROM s3vectors._sync_keys_after(%s, %s, %s) AS k",
                                           (mapping.mapping_id, after, PAGE_ROWS))]
        if not keys:
            break
        after = keys[-1]
        for key, data, metadata, reason in conn.execute(
                "SELECT key, data, metadata, reason FROM s3vectors._sync_batch(%s, %s)", (mapping.mapping_id, keys)):
            held = index.pop(key, None)
            if reason is not None:
                if held is not None:
                    _note(report, "extra", key)
                    queued.append(key)
                continue
            report.table_keys += 1
            if held is None:
                _note(report, "missing", key)
                queued.append(key)
            elif held != content_hash(data, metadata):
                _note(report, "different", key)
                queued.append(key)
        if progress is not None:
            progress("table", len(keys))
    for key in index:  # keys the table does not have at all
        _note(report, "extra", key)
        queued.append(key)
    for start in range(0, len(queued), PAGE_ROWS):
        with conn.transaction():
            conn.execute("SELECT s3vectors._sync_enqueue(%s, %s)",
                         (mapping.mapping_id, queued[start : start + PAGE_ROWS]))
    report.drained = drainer.drain_mapping(conn, mapping)
    conn.execute("SELECT s3vectors._sync_mark(%s, 'reconciled', %s)", (mapping.mapping_id, started))
    return report


def _note(report: ReconcileReport, kind: str, key: str) -> None:
    setattr(report, kind, getattr(report, kind) + 1)
    examples = report.examples.setdefault(kind, [])
    if len(examples) < _EXAMPLES:
        examples.append(key)
