"""``pgs3v bench``: a real store over HTTP against exact numpy search, in the same run.

Steps: generate seeded data; start ``pgs3v store serve`` on a free port; ingest with
PutVectors from several client threads; time QueryVectors with and without a filter, and the
same queries in numpy, in alternating blocks so both see the same spells of machine load;
compute the true answers in float64 and score every system's recall against them; stop the server.
"""

from __future__ import annotations

import queue
import shutil
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text

from pgs3v.bench.dataset import SyntheticDataset, category_name, generate_dataset
from pgs3v.bench.exact_search import Answer, ExactSearch, max_distance_error, oracle_answers, recall
from pgs3v.bench.machine import machine_info
from pgs3v.bench.measurements import BenchResult, Measurement, latency_measurements, phase, ratios_to
from pgs3v.bench.store_process import CLIENT_CONFIG, running_store
from pgs3v.bench.wire_clock import WireClock
from pgs3v.store.process import StoreProcess

STORE = "store"
STORE_WIRE = "store-wire"
NUMPY = "numpy"
SYSTEMS = {
    STORE: "pgs3v store over HTTP: boto3 s3vectors client, keep-alive; PutVectors from one client per thread",
    STORE_WIRE: "the same store calls timed from when botocore hands the signed request to HTTP until the call "
    "returns, leaving out botocore's request serialisation and SigV4 signing",
    NUMPY: "numpy exact search in the benchmark process: normalised float32 dot product + argpartition",
}
BASELINE = NUMPY
QUERY = "query"
FILTERED = "query-filtered"
_ROUNDS = 4
# OpenBLAS worker threads busy-wait for about 0.1 s after a call before they sleep.
_SETTLE_S = 0.25
_BUCKET = "bench"
_INDEX = "vectors"
_MB = 1_000_000


@dataclass(frozen=True)
class StoreBenchParameters:
    """What to run: data size, query count, top k, ingest clients and the seed."""

    vectors: int = 100_000
    dimension: int = 768
    queries: int = 200
    top_k: int = 10
    clients: int = 2
    seed: int = 0
    keep_data: bool = False
    batch_size: int = 500  # the API's most vectors per PutVectors
    warmup_queries: int = 10  # untimed, so connection set-up and first-call costs stay out

    def command(self) -> str:
        """The command line that reproduces this run."""
        return (
            f"pgs3v bench --vectors {self.vectors} --dimension {self.dimension} --queries {self.queries} "
            f"--top-k {self.top_k} --clients {self.clients} --seed {self.seed}"
        )


class _Call(NamedTuple):
    """One timed query: its whole duration, the part after botocore sent it (store only), the answer."""

    elapsed_ns: int
    wire_ns: int | None
    answer: Answer


@dataclass
class _Timed:
    """Per-call durations and answers of one system on one workload."""

    durations_ns: list[int]
    answers: list[Answer]


def run_store_bench(parameters: StoreBenchParameters, console: Console) -> BenchResult:
    """Run the whole benchmark and return its figures (the caller writes and prints them)."""
    machine = machine_info()
    # BLAS thread settings change the figures, so they are part of the command that reproduces them.
    settings = "".join(f"{name}={value} " for name, value in machine["thread_variables"].items())
    result = BenchResult(
        benchmark="store",
        command=settings + parameters.command(),
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        parameters=asdict(parameters),
        machine=machine,
        systems=dict(SYSTEMS),
    )
    phases: dict[str, float] = {}
    with phase(phases, "generate_s"), console.status("Generating synthetic vectors"):
        dataset = generate_dataset(parameters.vectors, parameters.dimension, parameters.queries, parameters.seed)
        search = ExactSearch(dataset.vectors, dataset.categories)
    timed = _against_store(result, phases, dataset, search, parameters, console)
    with phase(phases, "oracle_s"), console.status("Computing the true answers in float64"):
        top_k, vectors, queries, categories = parameters.top_k, dataset.vectors, dataset.queries, dataset.categories
        truth = {
            QUERY: oracle_answers(vectors, queries, top_k, categories, None),
            FILTERED: oracle_answers(vectors, queries, top_k, categories, dataset.query_categories),
        }
    result.measurements += _query_measurements(timed, truth, top_k)
    result.ratios = ratios_to(BASELINE, result.measurements)
    result.notes["phases_s"] = {name: round(seconds, 3) for name, seconds in phases.items()}
    result.notes["raw_vectors_mb"] = dataset.vectors.nbytes / _MB
    result.notes["filter"] = {"example": {"category": category_name(0)}, "selectivity": _selectivity(dataset)}
    result.notes["load_average_after"] = machine_info()["load_average"]
    return result


def _against_store(
    result: BenchResult,
    phases: dict[str, float],
    dataset: SyntheticDataset,
    search: ExactSearch,
    parameters: StoreBenchParameters,
    console: Console,
) -> dict[str, dict[str, _Timed]]:
    """Start a store in a temporary directory, ingest, run the queries; the directory goes unless kept."""
    root = Path(tempfile.mkdtemp(prefix="pgs3v-bench-"))
    result.notes["data_dir"] = str(root)
    result.notes["data_kept"] = parameters.keep_data
    try:
        console.print("Starting the store…")
        with running_store(root / "store") as server:
            console.print(f"Store ready at {server.endpoint} in {server.ready_seconds:.2f} s (data in {root})")
            result.measurements.append(Measurement("startup", STORE, "ready_s", server.ready_seconds, "s"))
            with phase(phases, "ingest_s"):
                _create_index(server, parameters)
                wall_s, put_durations, wire_durations = _ingest(server, dataset, parameters, console)
            result.measurements += [
                Measurement("ingest", STORE, "vectors_per_s", parameters.vectors / wall_s, "vectors/s"),
                Measurement("ingest", STORE, "wall_s", wall_s, "s"),
                *latency_measurements("ingest", STORE, put_durations),
                *latency_measurements("ingest", STORE_WIRE, wire_durations),
            ]
            _record_rss(result, server, "rss_mb_after_ingest")
            with phase(phases, "queries_s"):
                timed = _run_queries(server, dataset, search, parameters, console)
            _record_rss(result, server, "rss_mb_after_queries")
        result.notes["server_exit_code"] = server.exit_code
    finally:
        if not parameters.keep_data:
            shutil.rmtree(root, ignore_errors=True)
    return timed


def _query_measurements(
    timed: dict[str, dict[str, _Timed]], truth: dict[str, list[Answer]], top_k: int
) -> list[Measurement]:
    """Latency figures of every system, and recall and distance error where it gave answers."""
    measurements = []
    for workload, systems in timed.items():
        for system, run in systems.items():
            measurements += latency_measurements(workload, system, run.durations_ns)
            if run.answers:  # not for a second timing of another system's calls
                measurements += [
                    Measurement(workload, system, f"recall_at_{top_k}", recall(run.answers, truth[workload]),
                                "fraction"),
                    Measurement(workload, system, "max_distance_error",
                                max_distance_error(run.answers, truth[workload]), "cosine distance"),
                ]
    return measurements


def _create_index(server: StoreProcess, parameters: StoreBenchParameters) -> None:
    client = server.client(**CLIENT_CONFIG)
    client.create_vector_bucket(vectorBucketName=_BUCKET)
    client.create_index(
        vectorBucketName=_BUCKET, indexName=_INDEX, dataType="float32",
        dimension=parameters.dimension, distanceMetric="cosine",
    )


def _ingest(
    server: StoreProcess, dataset: SyntheticDataset, parameters: StoreBenchParameters, console: Console
) -> tuple[float, list[int], list[int]]:
    """PutVectors every vector from ``clients`` threads: wall-clock seconds, per-call and on-the-wire durations."""
    batches: queue.SimpleQueue[tuple[int, int]] = queue.SimpleQueue()
    for start in range(0, parameters.vectors, parameters.batch_size):
        batches.put((start, min(start + parameters.batch_size, parameters.vectors)))
    wire_clock = WireClock()
    # Created here: boto3's client set-up is not thread-safe.
    clients = [wire_clock.attach(server.client(**CLIENT_CONFIG)) for _ in range(parameters.clients)]
    durations: list[int] = []
    wire_durations: list[int] = []
    failures: list[BaseException] = []
    failed = threading.Event()
    # Everyone starts together, so the wall clock measures only the PutVectors phase.
    start_line = threading.Barrier(parameters.clients + 1)

    with _progress(console, "vectors") as progress:
        task = progress.add_task("Ingest", total=parameters.vectors)

        def work(client: Any) -> None:
            start_line.wait()
            while not failed.is_set():
                try:
                    start, stop = batches.get_nowait()
                except queue.Empty:
                    return
                # Building the request is part of a client's job, so it stays inside the wall clock.
                vectors = [
                    {"key": dataset.key(row), "data": {"float32": values}, "metadata": dataset.metadata(row)}
                    for row, values in zip(range(start, stop), dataset.vectors[start:stop].tolist(), strict=True)
                ]
                began = time.perf_counter_ns()
                try:
                    client.put_vectors(vectorBucketName=_BUCKET, indexName=_INDEX, vectors=vectors)
                except BaseException as problem:
                    failures.append(problem)
                    failed.set()
                    return
                finished = time.perf_counter_ns()
                durations.append(finished - began)
                wire_durations.append(finished - wire_clock.sent_ns())
                progress.advance(task, stop - start)

        threads = [threading.Thread(target=work, args=(c,), name=f"ingest-{i}") for i, c in enumerate(clients)]
        for thread in threads:
            thread.start()
        start_line.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join()
        wall_s = time.perf_counter() - began
    if failures:
        raise failures[0]
    return wall_s, durations, wire_durations


def _run_queries(
    server: StoreProcess,
    dataset: SyntheticDataset,
    search: ExactSearch,
    parameters: StoreBenchParameters,
    console: Console,
) -> dict[str, dict[str, _Timed]]:
    """Every query through the store and through numpy, with and without the category filter."""
    wire_clock = WireClock()
    client = wire_clock.attach(server.client(**CLIENT_CONFIG))
    query_lists = dataset.queries.tolist()
    top_k = parameters.top_k

    def store_query(i: int, filtered: bool) -> _Call:
        request: dict[str, Any] = {
            "vectorBucketName": _BUCKET, "indexName": _INDEX, "topK": top_k,
            "queryVector": {"float32": query_lists[i]}, "returnDistance": True,
        }
        if filtered:
            request["filter"] = {"category": category_name(int(dataset.query_categories[i]))}
        began = time.perf_counter_ns()
        response = client.query_vectors(**request)
        finished = time.perf_counter_ns()
        found = response["vectors"]
        answer = Answer([dataset.row_of(v["key"]) for v in found], [float(v["distance"]) for v in found])
        return _Call(finished - began, finished - wire_clock.sent_ns(), answer)

    def numpy_query(i: int, filtered: bool) -> _Call:
        category = int(dataset.query_categories[i]) if filtered else None
        began = time.perf_counter_ns()
        answer = search.query(dataset.queries[i], top_k, category)
        return _Call(time.perf_counter_ns() - began, None, answer)

    runners = {STORE: store_query, NUMPY: numpy_query}
    for i in range(min(parameters.warmup_queries, parameters.queries)):
        for run in runners.values():
            run(i, False)
            run(i, True)

    timed = {w: {s: _Timed([], []) for s in (STORE, STORE_WIRE, NUMPY)} for w in (QUERY, FILTERED)}
    rounds = min(_ROUNDS, parameters.queries)
    with _progress(console, "queries") as progress:
        task = progress.add_task("Queries", total=parameters.queries * len(runners))
        # Alternating blocks rather than query by query: on 2 cores, BLAS threads still spinning
        # in one process after its matrix product would slow the other's next call. Several
        # rounds still spread load bursts from other users of the machine over both systems.
        for block in np.array_split(np.arange(parameters.queries), rounds):
            for system, run in runners.items():
                time.sleep(_SETTLE_S)
                for i in block.tolist():
                    for workload, filtered in ((QUERY, False), (FILTERED, True)):
                        call = run(i, filtered)
                        timed[workload][system].durations_ns.append(call.elapsed_ns)
                        timed[workload][system].answers.append(call.answer)
                        if call.wire_ns is not None:
                            timed[workload][STORE_WIRE].durations_ns.append(call.wire_ns)
                    progress.advance(task)
    return timed


def _record_rss(result: BenchResult, server: StoreProcess, metric: str) -> None:
    rss = server.rss_bytes()
    if rss is not None:
        result.measurements.append(Measurement("memory", STORE, metric, rss / _MB, "MB"))


def _selectivity(dataset: SyntheticDataset) -> float:
    """Mean share of rows the queries' filters match."""
    return float(np.mean([np.mean(dataset.categories == c) for c in dataset.query_categories]))


class _RateColumn(ProgressColumn):
    """Items per second so far."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self._unit = unit

    def render(self, task: Task) -> Text:
        """The rate, or nothing before the first step."""
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} {self._unit}/s" if speed else "", style="progress.data.speed")


def _progress(console: Console, unit: str) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), _RateColumn(unit), TimeElapsedColumn(),
        console=console,
    )
