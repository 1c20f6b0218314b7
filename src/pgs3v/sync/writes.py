"""PutVectors and DeleteVectors as the drains send them: batches of at most 500, retried.

Both operations are idempotent (a put replaces, a delete of a missing key does nothing), so a
call that failed in any way may be repeated: throttling, 5xx answers and network failures are
retried with exponential backoff and full jitter (:mod:`pgs3v.bridge.retry`, the bridge's own loop).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pgs3v.bridge.json_transport import JsonTransport
from pgs3v.bridge.retry import RetryPolicy, call_with_retries, idempotent_retry_reason

# The API's limit for PutVectors and DeleteVectors.
MAX_BATCH = 500

# A drain waits out a store restart (tens of seconds) before it gives a batch back to the outbox.
SYNC_RETRY = RetryPolicy(max_attempts=10, base_delay=0.1, max_delay=5.0, max_total_delay=60.0)


@dataclass(frozen=True)
class VectorRow:
    """A row as the index should hold it."""

    key: str
    data: Sequence[float]
    metadata: dict[str, Any] | None


class IndexWriter:
    """Writes to one index of one store."""

    def __init__(self, transport: JsonTransport, vector_bucket_name: str, index_name: str,
                 policy: RetryPolicy = SYNC_RETRY) -> None:
        self._transport = transport
        self._address = {"vectorBucketName": vector_bucket_name, "indexName": index_name}
        self._policy = policy

    def put(self, rows: Sequence[VectorRow]) -> None:
        """Insert or replace ``rows``."""
        for start in range(0, len(rows), MAX_BATCH):
            vectors = [_vector(row) for row in rows[start : start + MAX_BATCH]]
            self._call("PutVectors", {**self._address, "vectors": vectors})

    def delete(self, keys: Sequence[str]) -> None:
        """Delete ``keys`` (missing ones are ignored)."""
        for start in range(0, len(keys), MAX_BATCH):
            self._call("DeleteVectors", {**self._address, "keys": list(keys[start : start + MAX_BATCH])})

    def _call(self, operation: str, request: dict[str, Any]) -> None:
        call_with_retries(lambda: self._transport.call(operation, request), self._policy,
                          reason=idempotent_retry_reason, what=f"{operation} to {self._address['indexName']}")


def _vector(row: VectorRow) -> dict[str, Any]:
    vector: dict[str, Any] = {"key": row.key, "data": {"float32": list(row.data)}}
    if row.metadata:
        vector["metadata"] = row.metadata
    return vector
