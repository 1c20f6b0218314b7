"""Vector operations (Put, Get, List, Delete, Query), named after the API."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import orjson

from pgs3v.store.catalog import IndexRecord
from pgs3v.store.errors import INDEX_NOT_FOUND, NotFoundException, ValidationException
from pgs3v.store.filters import compile_filter
from pgs3v.store.mutations import DeleteBatch, Mutation
from pgs3v.store.state import StoreState
from pgs3v.store.vector_table import StoredVector
from pgs3v.store.vector_validation import put_batch, vector_array
from pgs3v.store.wal import WalClosedError

Request = dict[str, Any]
Response = dict[str, Any]

# JSON text of one float32 element, used to keep a ListVectors page near its byte budget.
_BYTES_PER_FLOAT = 12


def _write(state: StoreState, index: IndexRecord, mutation: Mutation) -> None:
    try:
        state.vectors_of(index).write(mutation)
    except WalClosedError:
        # The index was deleted while this write was in flight (its log closed under us).
        if state.catalog.indexes.get((index.bucket, index.name)) is not index:
            raise NotFoundException(INDEX_NOT_FOUND) from None
        raise


def put_vectors(state: StoreState, request: Request) -> Response:
    """PutVectors: insert or replace up to 500 vectors, durable before the reply."""
    index = state.index(request)
    batch = put_batch(request["vectors"], index, state.limits)
    state.admit_write(index, len(batch.keys))
    _write(state, index, batch)
    return {}


def delete_vectors(state: StoreState, request: Request) -> Response:
    """DeleteVectors: unknown keys are ignored."""
    index = state.index(request)
    state.admit_write(index, len(request["keys"]))
    _write(state, index, DeleteBatch(keys=list(request["keys"])))
    return {}


def _output(vector: StoredVector, return_data: bool, return_metadata: bool) -> dict[str, Any]:
    item: dict[str, Any] = {"key": vector.key}
    if return_data:
        item["data"] = {"float32": vector.data.tolist()}
    if return_metadata:
        item["metadata"] = vector.metadata or {}
    return item


def get_vectors(state: StoreState, request: Request) -> Response:
    """GetVectors: the live vectors among the keys, each once; unknown keys are absent."""
    index = state.index(request)
    keys = list(dict.fromkeys(request["keys"]))
    found = state.vectors_of(index).get(keys)
    data, metadata = bool(request.get("returnData")), bool(request.get("returnMetadata"))
    return {"vectors": [_output(v, data, metadata) for v in found]}


def list_vectors(state: StoreState, request: Request) -> Response:
    """ListVectors: pages in key-hash order; segments partition the keys."""
    index = state.index(request)
    segment_count, segment_index = request.get("segmentCount"), request.get("segmentIndex")
    if (segment_count is None) != (segment_index is None):
        raise ValidationException("segmentCount and segmentIndex must be specified together")
    segment_count, segment_index = segment_count or 1, segment_index or 0
    if segment_index >= segment_count:
        raise ValidationException.for_field(
            "/segmentIndex", f"segmentIndex must be less than segmentCount ({segment_count})"
        )
    after = None
    purpose = f"ListVectors/{state.index_arn(index)}/{segment_count}/{segment_index}"
    if request.get("nextToken"):
        token = state.tokens.decode(purpose, request["nextToken"])
        after = (int(token["h"]), int(token["l"]))
    limit = request.get("maxResults") or state.limits.default_list_vectors
    data, metadata = bool(request.get("returnData")), bool(request.get("returnMetadata"))
    page = state.vectors_of(index).list_page(segment_count, segment_index, after, limit + 1)
    vectors: list[dict[str, Any]] = []
    budget = state.limits.list_vectors_page_bytes
    last = None
    for position, vector in page[:limit]:
        size = len(vector.key) + (index.dimension * _BYTES_PER_FLOAT if data else 0)
        if metadata and vector.metadata:
            size += len(orjson.dumps(vector.metadata))
        if vectors and size > budget:
            break
        budget -= size
        vectors.append(_output(vector, data, metadata))
        last = position
    response: Response = {"vectors": vectors}
    if last is not None and len(page) > len(vectors):
        response["nextToken"] = state.tokens.encode(purpose, {"h": last[0], "l": last[1]})
    return response


def _query_fingerprint(request: Request) -> str:
    # Binds a nextToken to the query that produced it, so it cannot page another query.
    fields = {k: request.get(k) for k in ("queryVector", "filter", "topK")}
    return hashlib.sha256(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)).hexdigest()[:24]


def query_vectors(state: StoreState, request: Request) -> Response:
    """QueryVectors: exact nearest neighbours among the vectors that match the filter."""
    index = state.index(request)
    if request.get("queryTexts"):
        raise ValidationException.for_field(
            "/queryTexts", "Full-text search (queryTexts) is not supported by this store yet; query by queryVector"
        )
    if request.get("queryVector") is None:
        raise ValidationException.for_field("/queryVector", "queryVector is required")
    try:
        vector = vector_array(request["queryVector"]["float32"], index.dimension, "Query vector")
    except ValueError as problem:
        raise ValidationException.for_field("/queryVector", str(problem)) from None
    if index.distance_metric == "cosine" and not np.any(vector):
        raise ValidationException.for_field("/queryVector", "A zero query vector has no cosine distance")
    row_filter = None
    if request.get("filter") is not None:
        row_filter = compile_filter(
            request["filter"],
            non_filterable_keys=index.non_filterable_keys,
            max_depth=state.limits.max_filter_depth,
        )
    top = request["topK"]
    fingerprint = _query_fingerprint(request)
    purpose = f"QueryVectors/{state.index_arn(index)}"
    skip, after = 0, None
    if request.get("nextToken"):
        token = state.tokens.decode(purpose, request["nextToken"])
        if token.get("q") != fingerprint:
            raise ValidationException.for_field("/nextToken", "The provided token belongs to a different query")
        skip = int(token["skip"])
        if "k" in token:
            after = (float(token["d"]), str(token["k"]))
    depth = min(top, max(state.limits.max_query_depth - skip, 0))
    # Pages continue from the last result (a cursor), so none repeats a vector of an earlier one.
    neighbours = state.vectors_of(index).query(vector, depth + 1, skip, row_filter, after=after) if depth else []
    return_distance = bool(request.get("returnDistance"))
    return_metadata = bool(request.get("returnMetadata"))
    results = []
    for neighbour in neighbours[:depth]:
        item: dict[str, Any] = {"key": neighbour.key}
        if return_distance:
            item["distance"] = neighbour.distance
        if return_metadata:
            item["metadata"] = neighbour.metadata or {}
        if request.get("returnScores"):
            item["scores"] = {"vectorDistance": neighbour.distance}
        results.append(item)
    response: Response = {"vectors": results, "distanceMetric": index.distance_metric}
    if len(neighbours) > depth:
        last = neighbours[depth - 1]
        cursor = {"skip": skip + depth, "q": fingerprint, "d": last.distance, "k": last.key}
        response["nextToken"] = state.tokens.encode(purpose, cursor)
    return response
