"""Bulk PutVectors for benchmarks: orjson bodies, SigV4, one kept-alive connection per thread.

boto3 needs about half a second of Python to serialise 500 × 768 floats, so a boto3 client
measures itself rather than the store. This one writes each batch with orjson straight from the
numpy rows (float32 shortest text, which the store reads back bit for bit), signs it with the
bridge's :class:`~pgs3v.bridge.json_transport.JsonTransport` and sends it from ``clients``
threads. Bodies are built one batch at a time per thread, so memory stays bounded by the
threads' batches in flight, whatever the number of vectors. The rows may also come from a source
that is read a slice at a time and never whole (:class:`SlicedRows`: rows generated on demand),
and the keys and metadata from sequences that make each item when read.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
import orjson
from botocore.exceptions import BotoCoreError, ClientError

from pgs3v.bridge.json_transport import JsonTransport

# Answers that mean "not now": the store's write throttle (429) and a busy index (503).
RETRYABLE_STATUSES = frozenset({429, 503})
_FIRST_BACKOFF_SECONDS = 0.05
_MAX_BACKOFF_SECONDS = 2.0


@runtime_checkable
class SlicedRows(Protocol):
    """Rows read a slice at a time and never as one array (a generated matrix)."""

    @property
    def shape(self) -> tuple[int, ...]: ...

    def __getitem__(self, index: slice, /) -> npt.NDArray[np.float32]: ...


class IngestError(RuntimeError):
    """A PutVectors call failed with something other than a throttle, or kept being throttled."""


@dataclass(frozen=True)
class IngestResult:
    """What one :func:`ingest` run did and how fast."""

    vectors: int
    seconds: float
    vectors_per_second: float
    requests: int  # PutVectors calls sent, retries included
    retries: int


def put_vectors_body(
    bucket: str, index: str, keys: Sequence[str], vectors: npt.NDArray[np.float32],
    metadata: Sequence[Mapping[str, Any] | None] | None,
) -> bytes:
    """The JSON body of one PutVectors call for these rows (float32, C-contiguous)."""
    items: list[dict[str, Any]] = []
    for row, key in enumerate(keys):
        item: dict[str, Any] = {"key": key, "data": {"float32": vectors[row]}}
        if metadata is not None and metadata[row] is not None:
            item["metadata"] = metadata[row]
        items.append(item)
    return orjson.dumps(
        {"vectorBucketName": bucket, "indexName": index, "vectors": items}, option=orjson.OPT_SERIALIZE_NUMPY
    )


def ingest(
    endpoint: str,
    credentials: Any,
    region: str,
    bucket: str,
    index: str,
    keys: Sequence[str],
    vectors: npt.ArrayLike | SlicedRows,
    metadata: Sequence[Mapping[str, Any] | None] | None = None,
    *,
    clients: int = 2,
    batch_size: int = 500,
    progress: Callable[[int], None] | None = None,
    max_attempts: int = 10,
    timeout: float = 120.0,
) -> IngestResult:
    """PutVectors every row of ``vectors`` under ``keys`` (botocore ``credentials``); raises IngestError on failure.

    ``progress`` is called with the number of vectors of each batch once the store has it
    durably; calls never overlap. 429 and 503 answers are retried with jittered exponential
    backoff, up to ``max_attempts`` tries per batch.
    """
    rows = _checked_rows(vectors, len(keys), metadata)
    if clients < 1 or batch_size < 1 or max_attempts < 1:
        raise ValueError("clients, batch_size and max_attempts must be at least 1")
    transport = JsonTransport(endpoint, credentials, region, connect_timeout=timeout, read_timeout=timeout)
    starts = iter(range(0, len(keys), batch_size))
    take_lock, report_lock = threading.Lock(), threading.Lock()
    counts = {"requests": 0, "retries": 0}
    failures: list[BaseException] = []
    failed = threading.Event()

    def next_start() -> int | None:
        with take_lock:
            return next(starts, None)

    def work() -> None:
        try:
            while not failed.is_set() and (start := next_start()) is not None:
                stop = min(start + batch_size, len(keys))
                body = put_vectors_body(
                    bucket, index, keys[start:stop], _batch(rows, start, stop),
                    None if metadata is None else metadata[start:stop],
                )
                requests = _send(transport, body, start, stop, max_attempts, failed)
                with report_lock:
                    counts["requests"] += requests
                    counts["retries"] += requests - 1
                    if progress is not None:
                        progress(stop - start)
        except BaseException as problem:
            failures.append(problem)
            failed.set()
        finally:
            transport.close()

    threads = [threading.Thread(target=work, name=f"ingest-{i}", daemon=True) for i in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    if failures:
        raise failures[0]
    return IngestResult(
        vectors=len(keys), seconds=seconds, vectors_per_second=len(keys) / seconds if seconds > 0 else 0.0,
        requests=counts["requests"], retries=counts["retries"],
    )


def _checked_rows(
    vectors: npt.ArrayLike | SlicedRows, count: int, metadata: Sequence[Mapping[str, Any] | None] | None
) -> npt.NDArray[np.float32] | SlicedRows:
    """Arrays are checked whole before anything is sent; sliced rows a batch at a time as they are read."""
    if isinstance(vectors, SlicedRows) and not isinstance(vectors, np.ndarray):
        rows: npt.NDArray[np.float32] | SlicedRows = vectors
        shape = tuple(vectors.shape)
    else:
        rows = np.ascontiguousarray(vectors, dtype=np.float32)
        shape = rows.shape
        _check_finite(rows)
    if len(shape) != 2 or shape[0] != count:
        raise ValueError(f"vectors must be a 2-D array with one row per key ({count}), got shape {shape}")
    if metadata is not None and len(metadata) != count:
        raise ValueError(f"metadata must have one entry per key ({count}), got {len(metadata)}")
    return rows


def _batch(rows: npt.NDArray[np.float32] | SlicedRows, start: int, stop: int) -> npt.NDArray[np.float32]:
    if isinstance(rows, np.ndarray):
        return rows[start:stop]
    batch = np.ascontiguousarray(rows[start:stop], dtype=np.float32)
    _check_finite(batch)
    return batch


def _check_finite(matrix: npt.NDArray[np.float32]) -> None:
    if not np.isfinite(matrix).all():
        # orjson would write them as null; the store would refuse the batch anyway.
        raise ValueError("vectors must be finite in float32 (no NaN, no Infinity, nothing beyond ±3.4e38)")


def _send(transport: JsonTransport, body: bytes, start: int, stop: int, max_attempts: int,
          failed: threading.Event) -> int:
    """Send one batch until it is stored; the number of requests it took."""
    for attempt in range(1, max_attempts + 1):
        try:
            transport.call_body("PutVectors", body)
            return attempt
        except ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            details = error.response.get("Error", {})
            what = f"{details.get('Code')} (HTTP {status}): {details.get('Message')}"
            if status not in RETRYABLE_STATUSES:
                raise IngestError(f"PutVectors of rows {start}..{stop - 1} failed: {what}") from error
            if attempt == max_attempts or failed.is_set():
                raise IngestError(
                    f"PutVectors of rows {start}..{stop - 1} still refused after {attempt} attempts: {what}"
                ) from error
        except BotoCoreError as error:
            raise IngestError(f"PutVectors of rows {start}..{stop - 1} failed: {error}") from error
        backoff = min(_MAX_BACKOFF_SECONDS, _FIRST_BACKOFF_SECONDS * 2 ** (attempt - 1))
        time.sleep(backoff * random.uniform(0.5, 1.0))
    raise AssertionError("unreachable")
