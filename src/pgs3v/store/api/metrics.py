"""The store's metrics, in the format Prometheus scrapes (``GET /metrics``).

- ``pgs3v_requests_seconds``: a histogram of request latency by operation and HTTP status, as
  the server measured it from the request's arrival to its answer (its ``_count`` is the
  request count). Unknown operation names count as ``unknown``, so no client can grow the
  label set.
- ``pgs3v_open_indexes``, ``pgs3v_unindexed_rows`` (summed over open indexes: the indexer's
  lag), ``pgs3v_data_disk_free_bytes`` and ``pgs3v_data_disk_total_bytes``: read when scraped.

Only totals are exposed, never bucket or index names. The endpoint needs no signature (as
Prometheus scrapes), which is why it says nothing about the data.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from pgs3v.store.api.shapes import operation_names
from pgs3v.store.api.state import StoreState

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# From a warm query on a small index (about 0.5 ms) to a PutVectors waiting on a slow fsync.
_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class StoreMetrics:
    """Counters the request path feeds, and gauges read from the store when scraped."""

    def __init__(self, state: StoreState, extra_operations: frozenset[str] = frozenset()) -> None:
        self._registry = CollectorRegistry(auto_describe=True)
        self._known = frozenset(operation_names()) | extra_operations
        self._requests = Histogram(
            "pgs3v_requests_seconds", "Requests by operation and HTTP status: latency from arrival to answer.",
            ("operation", "status"), buckets=_LATENCY_BUCKETS, registry=self._registry,
        )
        self._registry.register(_StoreState(state))

    def observe(self, operation: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        label = operation if operation in self._known else "unknown"
        self._requests.labels(label, str(status)).observe(seconds)

    def exposition(self) -> bytes:
        """Every metric, as Prometheus' text format."""
        return generate_latest(self._registry)


class _StoreState(Collector):
    def __init__(self, state: StoreState) -> None:
        self._state = state

    def collect(self) -> Iterator[GaugeMetricFamily]:
        indexes = self._state.open_indexes()
        yield GaugeMetricFamily("pgs3v_open_indexes", "Indexes open in the server now.", value=len(indexes))
        yield GaugeMetricFamily("pgs3v_unindexed_rows",
                                "Rows written but not yet in an indexed segment, over the open indexes.",
                                value=sum(index.unindexed_rows for index in indexes))
        disk = os.statvfs(self._state.data_dir)
        yield GaugeMetricFamily("pgs3v_data_disk_free_bytes", "Free bytes on the data directory's filesystem.",
                                value=disk.f_bavail * disk.f_frsize)
        yield GaugeMetricFamily("pgs3v_data_disk_total_bytes", "Size of the data directory's filesystem.",
                                value=disk.f_blocks * disk.f_frsize)
