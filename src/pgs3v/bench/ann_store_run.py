"""pgs3v's side of the ANN benchmark: one data set through a real store, then in-process.

In order, on one fresh data directory:

1. start ``pgs3v store serve``; PutVectors every row with the lean ingest client (durable
   ingest rate, the indexer working in the background as in production);
2. from the end of the load, a few queries every 10 s until the indexer reports the layout
   settled (:mod:`pgs3v.bench.settling`): the latency users get during indexing, and the time
   until the settled layout (the build time). No optimize call, no warm-up;
3. in that settled layout, QueryVectors over HTTP with a kept-alive connection, one query at a
   time, unfiltered and at every selectivity (recall@k, p50/p95/p99): the headline figures;
   then QPS with concurrent clients; the server's own memory and the page cache it maps;
   then Pgs3vOptimizeIndex and the same queries again, reported beside as ``pgs3v-http-optimized``;
   bytes on disk;
4. stop; drop the OS page cache (where permitted); start a fresh server and time its start and
   its first query (cold);
5. stop; open the same files in this process and time the engine's query alone, with the
   default probes and a sweep of probe counts (the recall/latency curve).
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from botocore.credentials import Credentials as BotoCredentials

from pgs3v.auth.credentials import generate_credentials
from pgs3v.bench.ann_data.dataset import AnnDataset, selectivity_filter
from pgs3v.bench.ann_data.ground_truth import GroundTruth
from pgs3v.bench.ingest import ingest
from pgs3v.bench.measurements import Measurement, latency_measurements
from pgs3v.bench.process_metrics import directory_bytes, drop_page_cache, process_memory
from pgs3v.bench.query_timing import throughput, timed_queries, untimed_pass
from pgs3v.bench.settling import watch_settling
from pgs3v.bridge.json_transport import JsonTransport
from pgs3v.store.process import StoreProcess
from pgs3v.store.storage.store_storage import ObjectStoreStorage, StoreStorage

Selectivity = float | None
Progress = Callable[[str, int, int], None]

BUCKET, INDEX = "bench", "ann"
HTTP, IN_PROCESS = "pgs3v-http", "pgs3v"
HTTP_OPTIMIZED = "pgs3v-http-optimized"
SERVICE = "pgs3v-service"
# Store processes behind one address for the shared-storage QPS figure: one per core here.
_WORKERS = 2


@dataclass(frozen=True)
class StoreRunOptions:
    """What to measure and how hard."""

    data_dir: Path
    top_k: int = 10
    selectivities: tuple[Selectivity, ...] = (None, 0.5, 0.1, 0.01, 0.001, 0.0001)
    ingest_clients: int = 2
    qps_clients: int = 2
    qps_seconds: float = 10.0
    probe_sweep: tuple[int, ...] = (8, 16, 32, 64, 128, 256)
    cold: bool = True
    # Store settings (rows of the limits table) for the server and the in-process engine alike.
    limits: tuple[tuple[str, int], ...] = ()
    # The store's data in a bucket instead of data_dir (which then holds only the segment cache).
    bucket: BenchBucket | None = None

    def server_args(self) -> tuple[str, ...]:
        """``--limit NAME=VALUE`` for each setting, and ``--storage`` for a bucket."""
        limits = tuple(part for name, value in self.limits for part in ("--limit", f"{name}={value}"))
        if self.bucket is None:
            return limits
        endpoint = () if self.bucket.endpoint is None else ("--s3-endpoint", self.bucket.endpoint)
        return (*limits, "--storage", self.bucket.url, *endpoint)

    def environ(self) -> dict[str, str] | None:
        """The servers' environment: the bucket's keys when there is one."""
        return None if self.bucket is None else {**os.environ, **self.bucket.keys}


@dataclass(frozen=True)
class BenchBucket:
    """Shared storage for the store's data (a bucket prefix or a ``file://`` directory), and how to reach it."""

    url: str
    endpoint: str | None = None
    keys: dict[str, str] = field(default_factory=dict)  # AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY

    def storage(self, data_dir: Path) -> StoreStorage:
        """The store's storage on this bucket, caching under ``data_dir``."""
        from pgs3v.store.storage.location import StorageOptions, open_storage

        return open_storage(StorageOptions(self.url, self.endpoint), data_dir, self.keys)

    def stored_bytes(self) -> int:
        """Bytes of every object under the prefix."""
        from pgs3v.store.storage.objects import Prefixed

        storage = self.storage(Path(tempfile.mkdtemp(prefix="pgs3v-bench-probe-")))
        assert isinstance(storage, ObjectStoreStorage)
        return sum(info.size for part in ("catalog", "indexes") for info in Prefixed(storage.objects, part).list())


@dataclass
class StoreRunResult:
    """Figures, the recall/latency curve and what the engine reported."""

    measurements: list[Measurement] = field(default_factory=list)
    curve: list[dict[str, float]] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)


def labelled(progress: Progress, label: str) -> Callable[[int, int], None]:
    """``progress`` as a (done, total) callback that always shows ``label``."""
    def report(done: int, total: int) -> None:
        progress(label, done, total)
    return report


def recall_metric(top_k: int) -> str:
    """The name of the recall figure: recall_at_10 for k = 10."""
    return f"recall_at_{top_k}"


def workload_name(dataset: AnnDataset, selectivity: Selectivity) -> str:
    """``<data set>`` unfiltered, ``<data set> filter 1%`` and so on."""
    if selectivity is None:
        return dataset.name
    return f"{dataset.name} filter {selectivity * 100:g}%"


def run_store(dataset: AnnDataset, truth: GroundTruth, options: StoreRunOptions, progress: Progress) -> StoreRunResult:
    """Measure pgs3v on ``dataset`` (see the module docstring)."""
    result = StoreRunResult()
    figures = result.measurements
    credentials = generate_credentials()
    boto_credentials = BotoCredentials(credentials.access_key_id, credentials.secret_access_key)
    rows, raw_bytes = len(dataset), len(dataset) * dataset.dimension * 4
    server = StoreProcess(options.data_dir, credentials, extra_args=options.server_args()).start(options.environ())
    try:
        transport = JsonTransport(server.endpoint, boto_credentials, server.region, 10.0, 3600.0)
        transport.call("CreateVectorBucket", {"vectorBucketName": BUCKET})
        transport.call("CreateIndex", {"vectorBucketName": BUCKET, "indexName": INDEX, "dataType": "float32",
                                       "dimension": dataset.dimension, "distanceMetric": dataset.metric})
        done = [0]

        def ingested(count: int) -> None:
            done[0] += count
            progress("ingest (PutVectors, durable)", done[0], rows)

        outcome = ingest(server.endpoint, boto_credentials, server.region, BUCKET, INDEX, dataset.keys(),
                         dataset.vectors, dataset.metadata_rows(), clients=options.ingest_clients, progress=ingested)
        figures.append(Measurement(dataset.name, HTTP, "vectors_per_s", outcome.vectors_per_second, "vectors/s"))
        index_name = {"vectorBucketName": BUCKET, "indexName": INDEX}
        ask = _http_query(transport)
        points = watch_settling(
            dataset.queries, partial(_unfiltered, ask, options.top_k),
            lambda: dict(transport.call("Pgs3vDescribeIndexEngine", index_name)["engine"]), progress,
        )
        result.notes["settling"] = [point.as_dict() for point in points]
        figures.append(Measurement(dataset.name, HTTP, "build_s", points[-1].seconds, "s"))
        figures.append(Measurement(dataset.name, HTTP, "settling_worst_p50_ms", max(p.p50_ms for p in points), "ms"))
        result.notes["engine"] = transport.call("Pgs3vDescribeIndexEngine", index_name)["engine"]
        _http_workloads(dataset, truth, options, ask, HTTP, figures, progress)
        progress(f"QPS, {options.qps_clients} clients", 0, 1)
        qps = _throughput(dataset, options, _http_query(transport))
        figures.append(Measurement(dataset.name, HTTP, f"qps_{options.qps_clients}_clients", qps, "queries/s"))
        if options.bucket is not None:
            progress(f"QPS, {options.qps_clients} clients, a server of {_WORKERS} workers", 0, 1)
            figures.append(Measurement(dataset.name, HTTP, f"qps_{options.qps_clients}_clients_{_WORKERS}_workers",
                                       _workers_throughput(dataset, options, credentials), "queries/s"))
        assert server.process is not None
        memory = process_memory(server.process.pid)
        figures.append(Measurement(dataset.name, HTTP, "memory_own_bytes", memory.anonymous_bytes, "bytes"))
        figures.append(Measurement(dataset.name, HTTP, "memory_own_per_raw", memory.anonymous_bytes / raw_bytes,
                                   "ratio"))
        figures.append(Measurement(dataset.name, HTTP, "memory_mapped_cache_bytes", memory.file_bytes, "bytes"))
        progress("Pgs3vOptimizeIndex", 0, 1)
        began = time.perf_counter()
        result.notes["engine_optimized"] = transport.call("Pgs3vOptimizeIndex", index_name)["engine"]
        figures.append(Measurement(dataset.name, HTTP_OPTIMIZED, "optimize_s", time.perf_counter() - began, "s"))
        _http_workloads(dataset, truth, options, ask, HTTP_OPTIMIZED, figures, progress)
        transport.close()
    finally:
        server.stop()
    stored = directory_bytes(options.data_dir) if options.bucket is None else options.bucket.stored_bytes()
    figures.append(Measurement(dataset.name, HTTP, "storage_bytes_per_vector", stored / rows, "bytes"))
    figures.append(Measurement(dataset.name, HTTP, "storage_per_raw", stored / raw_bytes, "ratio"))
    if options.cold:
        _cold_start(dataset, options, credentials, boto_credentials, result, progress)
    _in_process(dataset, truth, options, result, progress)
    return result


def _cold_start(
    dataset: AnnDataset, options: StoreRunOptions, credentials: Any, boto_credentials: Any, result: StoreRunResult,
    progress: Progress,
) -> None:
    progress("cold start", 0, 1)
    dropped = drop_page_cache()
    result.notes["page_cache_dropped"] = dropped
    # On a bucket, a fresh server on an empty cache: everything it answers comes from the bucket.
    data_dir = options.data_dir if options.bucket is None else options.data_dir.with_name("cold-cache")
    server = StoreProcess(data_dir, credentials, extra_args=options.server_args()).start(options.environ())
    try:
        transport = JsonTransport(server.endpoint, boto_credentials, server.region, 10.0, 600.0)
        query = _http_query(transport)
        began = time.perf_counter_ns()
        query(dataset.queries[0], options.top_k, None)
        first = time.perf_counter_ns() - began
        # The serving footprint without the ingest's and the build's leftovers in the allocator:
        # this server only opened the index and answered queries.
        for selectivity in options.selectivities:
            for vector in dataset.queries[:100]:
                query(vector, options.top_k, selectivity)
        assert server.process is not None
        memory = process_memory(server.process.pid)
        transport.close()
    finally:
        server.stop()
    result.measurements.append(Measurement(dataset.name, HTTP, "cold_start_s", server.ready_seconds, "s"))
    result.measurements.append(Measurement(dataset.name, HTTP, "cold_first_query_ms", first / 1e6, "ms"))
    raw_bytes = len(dataset) * dataset.dimension * 4
    result.measurements.append(Measurement(dataset.name, HTTP, "restarted_memory_own_bytes", memory.anonymous_bytes,
                                           "bytes"))
    result.measurements.append(Measurement(dataset.name, HTTP, "restarted_memory_own_per_raw",
                                           memory.anonymous_bytes / raw_bytes, "ratio"))
    result.measurements.append(Measurement(dataset.name, HTTP, "restarted_memory_mapped_cache_bytes",
                                           memory.file_bytes, "bytes"))
    progress("cold start", 1, 1)


def _in_process(
    dataset: AnnDataset, truth: GroundTruth, options: StoreRunOptions, result: StoreRunResult, progress: Progress
) -> None:
    from pgs3v.store.api.arns import ArnScope
    from pgs3v.store.api.limits import load_limits
    from pgs3v.store.api.service import VectorStore
    from pgs3v.store.engine.filters import compile_filter
    from pgs3v.store.engine.segment_search import SearchKnobs

    limits = load_limits(dict(options.limits), environ={})
    storage = None if options.bucket is None else options.bucket.storage(options.data_dir)
    store = VectorStore(options.data_dir, limits=limits, scope=ArnScope(), token_secret=b"bench", storage=storage)
    held = ExitStack()
    try:
        record = store.state.catalog.indexes[(BUCKET, INDEX)]
        index = held.enter_context(store.state.using(record))
        defaults = index.settings.search

        def engine_query(knobs: SearchKnobs) -> Callable[[np.ndarray, int, Selectivity], list[int]]:
            def run(vector: np.ndarray, top: int, selectivity: Selectivity) -> list[int]:
                row_filter = None
                if selectivity is not None:
                    row_filter = compile_filter(selectivity_filter(selectivity), non_filterable_keys=frozenset(),
                                                max_depth=8)
                return [int(n.key[1:]) for n in index.query(vector, top, 0, row_filter, knobs)]
            return run

        # The server before this process left the page cache cold (the cold-start step drops it):
        # one untimed pass warms the pages these queries touch, as the HTTP figures had them warm.
        for selectivity in options.selectivities:
            _timed(dataset, selectivity, options.top_k, engine_query(defaults), progress,
                   f"in-process warm-up, {workload_name(dataset, selectivity)}")
        for selectivity in options.selectivities:
            label = workload_name(dataset, selectivity)
            durations, found = _timed(dataset, selectivity, options.top_k, engine_query(defaults), progress,
                                      f"in-process queries, {label}")
            result.measurements += latency_measurements(label, IN_PROCESS, durations)
            result.measurements.append(
                Measurement(label, IN_PROCESS, recall_metric(options.top_k),
                            truth.recall(selectivity, found, options.top_k), "ratio"))
            result.measurements.append(Measurement(label, IN_PROCESS, "short_answers",
                                                   _short(found, truth, selectivity, options.top_k), "count"))
        # The request path without HTTP: the service call (validation against the model, the
        # operation, the response document) on the request the HTTP client sends, decoded.
        def service_query(vector: np.ndarray, top: int, selectivity: Selectivity) -> list[int]:
            request = orjson.loads(_query_body(vector, top, selectivity))
            return [int(item["key"][1:]) for item in store.call("QueryVectors", request)["vectors"]]

        # Unfiltered, and the loosest filter (which most of the model's filter checks see).
        filtered = [s for s in options.selectivities if s is not None][:1]
        for selectivity in (None, *filtered):
            label = workload_name(dataset, selectivity)
            durations, _ = _timed(dataset, selectivity, options.top_k, service_query, progress,
                                  f"service calls, {label}")
            result.measurements += latency_measurements(label, SERVICE, durations)
        for probes in options.probe_sweep:
            knobs = SearchKnobs(probes=probes, rerank=defaults.rerank, exact_scan_floats=defaults.exact_scan_floats,
                                widening=defaults.widening)
            durations, found = _timed(dataset, None, options.top_k, engine_query(knobs), progress,
                                      f"probe sweep, {probes} probes")
            milliseconds = np.asarray(durations, dtype=np.float64) / 1e6
            result.curve.append({"probes": probes, "recall": truth.recall(None, found, options.top_k),
                                 "p50_ms": float(np.percentile(milliseconds, 50))})
    finally:
        held.close()
        store.close()


QueryFunction = Callable[[np.ndarray, int, Selectivity], list[int]]


def _unfiltered(query: QueryFunction, top: int, vector: np.ndarray) -> list[int]:
    return query(vector, top, None)


def _http_workloads(
    dataset: AnnDataset, truth: GroundTruth, options: StoreRunOptions, query: QueryFunction, system: str,
    figures: list[Measurement], progress: Progress,
) -> None:
    """Latency, recall and short answers over HTTP at every selectivity, as ``system``."""
    for selectivity in options.selectivities:
        label = workload_name(dataset, selectivity)
        durations, found = _timed(dataset, selectivity, options.top_k, query, progress, f"{system} queries, {label}")
        figures += latency_measurements(label, system, durations)
        figures.append(Measurement(label, system, recall_metric(options.top_k),
                                   truth.recall(selectivity, found, options.top_k), "ratio"))
        figures.append(Measurement(label, system, "short_answers",
                                   _short(found, truth, selectivity, options.top_k), "count"))


def _query_body(vector: np.ndarray, top: int, selectivity: Selectivity) -> bytes:
    request: dict[str, Any] = {"vectorBucketName": BUCKET, "indexName": INDEX, "topK": top,
                               "queryVector": {"float32": vector}}
    if selectivity is not None:
        request["filter"] = selectivity_filter(selectivity)
    return orjson.dumps(request, option=orjson.OPT_SERIALIZE_NUMPY)


def _http_query(transport: JsonTransport) -> QueryFunction:
    def run(vector: np.ndarray, top: int, selectivity: Selectivity) -> list[int]:
        answer = transport.call_body("QueryVectors", _query_body(vector, top, selectivity))
        return [int(item["key"][1:]) for item in answer["vectors"]]
    return run


def _timed(
    dataset: AnnDataset, selectivity: Selectivity, top: int, query: QueryFunction, progress: Progress, label: str
) -> tuple[list[int], list[list[int]]]:
    return timed_queries(dataset.queries, partial(_asked, query, top, selectivity), progress, label)


def _asked(query: QueryFunction, top: int, selectivity: Selectivity, vector: np.ndarray) -> list[int]:
    return query(vector, top, selectivity)


def _short(found: Sequence[Sequence[int]], truth: GroundTruth, selectivity: Selectivity, top: int) -> float:
    """Queries that returned fewer than min(k, matching rows) results (must be 0)."""
    wanted = min(top, truth.matching_rows[selectivity])
    return float(sum(len(rows) < wanted for rows in found))


def _workers_throughput(dataset: AnnDataset, options: StoreRunOptions, credentials: Any) -> float:
    """QPS with the clients on a second server, of ``_WORKERS`` workers, over this run's shared storage.

    Each client's connection goes to another worker (the parent takes turns). A first round
    makes every worker open the index (on a bucket: fetch its segments) before the clock runs,
    as the run's own server had opened it before its QPS phase.
    """
    server = StoreProcess(options.data_dir.with_name("workers-server"), credentials,
                          extra_args=(*options.server_args(), "--workers", str(_WORKERS))).start(options.environ())
    try:
        boto_credentials = BotoCredentials(credentials.access_key_id, credentials.secret_access_key)
        transport = JsonTransport(server.endpoint, boto_credentials, server.region, 10.0, 600.0)
        query = _http_query(transport)
        # The transport keeps a connection per thread: a thread per worker opens one each.
        for number in range(_WORKERS):
            opener = threading.Thread(target=query, args=(dataset.queries[number], options.top_k, None))
            opener.start()
            opener.join()
        qps = _throughput(dataset, options, query)
        transport.close()
        return qps
    finally:
        server.stop()


def throughput_with_settings(dataset: AnnDataset, options: StoreRunOptions, limits: tuple[tuple[str, int], ...],
                             progress: Progress, workers: int = 1) -> float:
    """QPS of a fresh server (of ``workers`` processes) on this run's data with extra ``--limit`` settings.

    A labelled variant, for after :func:`run_store`, whose server is stopped by then. The other
    phases of the run (pgvector's load and build) may have pushed the segment's pages out of
    the page cache, so one untimed pass over the queries comes first, as the headline server
    had answered them all before its QPS phase; then the clock runs as for the headline.
    """
    credentials = generate_credentials()
    settings = StoreRunOptions(**{**options.__dict__, "limits": (*options.limits, *limits)})
    if options.bucket is None:  # the data directory itself, which one process opens
        server = StoreProcess(options.data_dir, credentials, extra_args=settings.server_args())
    else:  # shared storage: a cache of its own, and the workers asked for
        workers_args = () if workers == 1 else ("--workers", str(workers))
        server = StoreProcess(options.data_dir.with_name(f"variant-{workers}"), credentials,
                              extra_args=(*settings.server_args(), *workers_args))
    server.start(options.environ())
    try:
        label = ", ".join(f"{name}={value}" for name, value in limits)
        boto_credentials = BotoCredentials(credentials.access_key_id, credentials.secret_access_key)
        transport = JsonTransport(server.endpoint, boto_credentials, server.region, 10.0, 600.0)
        query = _http_query(transport)

        def warm(client: int, vector: np.ndarray) -> object:
            return query(vector, options.top_k, None)

        progress(f"warming a server of {workers} ({label})", 0, 1)
        untimed_pass(dataset.queries, warm, options.qps_clients)
        progress(f"QPS, {options.qps_clients} clients, {workers} worker(s), {label}", 0, 1)
        qps = _throughput(dataset, options, query)
        transport.close()
        return qps
    finally:
        server.stop()


def _throughput(dataset: AnnDataset, options: StoreRunOptions, query: QueryFunction) -> float:
    # The transport keeps one connection per thread, so the client number is not needed.
    def ask(_: int, vector: np.ndarray) -> object:
        return query(vector, options.top_k, None)
    return throughput(dataset.queries, ask, options.qps_clients, options.qps_seconds)
