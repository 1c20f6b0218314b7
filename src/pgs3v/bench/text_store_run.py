"""pgs3v's side of the text benchmark: ingest with and without a searchable key, then text and hybrid queries.

On one store started as a user starts it (``pgs3v store serve``, every setting at its default),
for one size:

1. an index without text search (the text in a non-filterable key): PutVectors every row
   (batches of 500, the lean ingest client), timed; then UpdateMetadataConfiguration adds the key
   to text search and GetIndex is polled until the key is ``ACTIVE`` (the backfill), timed; the
   index is deleted;
2. an index created with the key searchable: the same rows, timed (the ingest cost of text
   indexing is this over step 1's); then Pgs3vDescribeIndexEngine is polled until the indexer
   reports the layout settled (no optimize call), timed;
3. text-only QueryVectors (``queryTexts``) and hybrid (``queryVector`` + ``queryTexts``, RRF)
   one at a time over one kept-alive connection of the bridge's JSON transport (SigV4, TCP_NODELAY,
   no retries), no warm-up: p50/p95/mean, and queries per second of that single client; then
   the hybrid queries' vectors alone (vector-only), the other list a hybrid query fuses.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from botocore.credentials import Credentials as BotoCredentials

from pgs3v.bench.ingest import ingest
from pgs3v.bench.store_process import running_store
from pgs3v.bridge.json_transport import JsonTransport

BUCKET = "text-bench"
PLAIN, SEARCHABLE = "plain", "searchable"
TEXT_KEY = "body"
LANGUAGE = "en"
BATCH = 500
INGEST_CLIENTS = 2  # one per core of the 2-core machine the figures come from
_POLL_S = 0.5

Progress = Callable[[str, int, int], None]
Vectors = npt.NDArray[np.float32]


@dataclass
class StoreTextRun:
    """What the store did for one size: seconds per step, per-query durations (ns) and answers (keys)."""

    ingest_plain_s: float = 0.0
    add_text_until_active_s: float = 0.0
    ingest_searchable_s: float = 0.0
    settled_after_s: float = 0.0
    text_ns: list[int] = field(default_factory=list)
    text_keys: list[list[str]] = field(default_factory=list)
    text_wall_s: float = 0.0
    hybrid_ns: list[int] = field(default_factory=list)
    hybrid_keys: list[list[str]] = field(default_factory=list)
    hybrid_wall_s: float = 0.0
    vector_ns: list[int] = field(default_factory=list)
    vector_keys: list[list[str]] = field(default_factory=list)
    vector_wall_s: float = 0.0
    engine: dict[str, Any] = field(default_factory=dict)


def _metadata_configuration(searchable: bool) -> dict[str, Any]:
    # Long text belongs in a non-filterable key (it does not count against the 2 KB filterable budget).
    configuration: dict[str, Any] = {"nonFilterableMetadataKeys": [TEXT_KEY]}
    if searchable:
        configuration["textSearchConfigurations"] = [{"metadataKey": TEXT_KEY, "language": LANGUAGE}]
    return configuration


def run_store_text(
    data_dir: Path, keys: Sequence[str], texts: Sequence[str], vectors: Vectors, queries: Sequence[str],
    query_vectors: Vectors, top_k: int, progress: Progress,
) -> StoreTextRun:
    """Measure pgs3v on these rows and queries (see the module docstring)."""
    run = StoreTextRun()
    metadata = [{TEXT_KEY: text} for text in texts]
    dimension = int(vectors.shape[1])
    with running_store(data_dir) as server:
        credentials = BotoCredentials(server.credentials.access_key_id, server.credentials.secret_access_key)
        transport = JsonTransport(server.endpoint, credentials, server.region, 10.0, 600.0)
        try:
            transport.call("CreateVectorBucket", {"vectorBucketName": BUCKET})

            def load(index: str) -> float:
                transport.call("CreateIndex", {
                    "vectorBucketName": BUCKET, "indexName": index, "dataType": "float32", "dimension": dimension,
                    "distanceMetric": "cosine", "metadataConfiguration": _metadata_configuration(index == SEARCHABLE)})
                done = [0]

                def ingested(count: int) -> None:
                    done[0] += count
                    if done[0] % 50_000 < count or done[0] == len(keys):
                        progress(f"pgs3v: PutVectors into {index!r}", done[0], len(keys))

                outcome = ingest(server.endpoint, credentials, server.region, BUCKET, index, keys, vectors, metadata,
                                 clients=INGEST_CLIENTS, batch_size=BATCH, progress=ingested)
                return outcome.seconds

            run.ingest_plain_s = load(PLAIN)
            run.add_text_until_active_s = _add_text_key(transport, progress)
            transport.call("DeleteIndex", {"vectorBucketName": BUCKET, "indexName": PLAIN})
            run.ingest_searchable_s = load(SEARCHABLE)
            run.settled_after_s, run.engine = _until_settled(transport, progress)
            run.text_ns, run.text_keys, run.text_wall_s = _timed(
                transport, [_request(top_k, text, None) for text in queries], progress, "pgs3v: text-only queries")
            run.hybrid_ns, run.hybrid_keys, run.hybrid_wall_s = _timed(
                transport, [_request(top_k, text, vector) for text, vector in zip(queries, query_vectors, strict=True)],
                progress, "pgs3v: hybrid queries")
            run.vector_ns, run.vector_keys, run.vector_wall_s = _timed(
                transport, [_request(top_k, None, vector) for vector in query_vectors], progress,
                "pgs3v: vector-only queries (the hybrid's other list)")
        finally:
            transport.close()
    return run


def _add_text_key(transport: JsonTransport, progress: Progress) -> float:
    """UpdateMetadataConfiguration adding the key to the plain index; seconds until GetIndex says ACTIVE."""
    index = {"vectorBucketName": BUCKET, "indexName": PLAIN}
    began = time.perf_counter()
    transport.call("UpdateMetadataConfiguration", {
        **index, "add": {"textSearchConfigurations": [{"metadataKey": TEXT_KEY, "language": LANGUAGE}]}})
    while True:
        described = transport.call("GetIndex", index)["index"]
        statuses = [c["status"] for c in described["metadataConfiguration"]["textSearchConfigurations"]]
        elapsed = time.perf_counter() - began
        if statuses == ["ACTIVE"]:
            return elapsed
        progress("pgs3v: text key added to the loaded index, BUILDING", int(elapsed), 0)
        time.sleep(_POLL_S)


def _until_settled(transport: JsonTransport, progress: Progress, limit_s: float = 7200.0,
                   ) -> tuple[float, dict[str, Any]]:
    """Seconds from the end of the load until the indexer reports the layout settled, and that layout."""
    index = {"vectorBucketName": BUCKET, "indexName": SEARCHABLE}
    began = time.perf_counter()
    while True:
        engine: dict[str, Any] = transport.call("Pgs3vDescribeIndexEngine", index)["engine"]
        elapsed = time.perf_counter() - began
        if engine["settled"] or elapsed > limit_s:
            return elapsed, engine
        progress(f"pgs3v: indexer settling ({len(engine['segments'])} segments, "
                 f"{engine['unindexedRows']:,} rows unindexed)", int(elapsed), 0)
        time.sleep(_POLL_S)


def _request(top_k: int, text: str | None, vector: npt.NDArray[np.float32] | None) -> dict[str, Any]:
    request: dict[str, Any] = {"vectorBucketName": BUCKET, "indexName": SEARCHABLE, "topK": top_k}
    if text is not None:
        request["queryTexts"] = [{"metadataKey": TEXT_KEY, "text": text}]
    if vector is not None:
        request["queryVector"] = {"float32": [float(value) for value in vector]}
    return request


def _timed(transport: JsonTransport, requests: Sequence[dict[str, Any]], progress: Progress, label: str,
           ) -> tuple[list[int], list[list[str]], float]:
    """Each request's duration (ns) and answer (keys), one after the other; and the wall time of them all."""
    durations: list[int] = []
    answers: list[list[str]] = []
    began = time.perf_counter()
    for number, request in enumerate(requests):
        started = time.perf_counter_ns()
        response = transport.call("QueryVectors", request)
        durations.append(time.perf_counter_ns() - started)
        answers.append([item["key"] for item in response["vectors"]])
        if number % 200 == 0 or number + 1 == len(requests):
            progress(label, number + 1, len(requests))
    return durations, answers, time.perf_counter() - began
