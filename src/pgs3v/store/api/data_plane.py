"""Vector operations (Put, Get, List, Delete, Query), named after the API."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from pgs3v.store.api.errors import INDEX_NOT_FOUND, NotFoundException, ValidationException
from pgs3v.store.api.query_cursor import resume
from pgs3v.store.api.state import StoreState
from pgs3v.store.api.text_queries import text_query
from pgs3v.store.api.text_search import check_query, check_query_on
from pgs3v.store.api.vector_validation import put_batch, vector_array
from pgs3v.store.engine.filters import CompiledFilter, compile_filter
from pgs3v.store.engine.mutations import DeleteBatch, Mutation
from pgs3v.store.engine.vector_index import VectorIndex
from pgs3v.store.engine.vector_table import Neighbour, StoredVector
from pgs3v.store.storage.catalog import IndexRecord
from pgs3v.store.storage.wal import WalClosedError

Request = dict[str, Any]
Response = dict[str, Any]

# JSON text of one float32 element, used to keep a ListVectors page near its byte budget.
_BYTES_PER_FLOAT = 12


def _write(state: StoreState, index: IndexRecord, mutation: Mutation) -> None:
    try:
        with state.using(index) as opened:
            opened.write(mutation)
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
    with state.using(index) as opened:
        found = opened.get(keys)
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
    with state.using(index) as opened:
        page = opened.list_page(segment_count, segment_index, after, limit + 1)
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


# How much deeper than a page _page may search to settle a tie at its end.
_WIDEST_TIE_SEARCH = 64


def _page(
    data: VectorIndex, vector: npt.NDArray[np.float32], size: int, returned: int, row_filter: CompiledFilter | None,
    after: tuple[float, str] | None,
) -> list[Neighbour]:
    """The next ``size`` results beyond the cursor, and one more when there is one."""
    # The engine keeps its `asked` nearest whichever way a tie at that cut falls, then sorts them
    # by (distance, key); a page cut inside that tie could skip a key the next page's cursor then
    # passes. So ask deeper until the page ends before the cut's distance, or the matches run out.
    # Bounded: a tie among thousands of identical vectors costs a few searches, then keeps the
    # engine's order.
    asked, widest = size + 1, _WIDEST_TIE_SEARCH * (size + 1)
    while True:
        found = data.query(vector, asked, returned, row_filter, after=after)
        if len(found) < asked or found[size - 1].distance < found[-1].distance or asked >= widest:
            return found[: size + 1]
        asked *= 4


def query_vectors(state: StoreState, request: Request) -> Response:
    """QueryVectors: the topK nearest vectors that match the filter, a page at a time."""
    check_query(request)
    index = state.index(request)
    check_query_on(index, request)
    vector = None
    if request.get("queryVector") is not None:
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
    purpose = f"QueryVectors/{state.index_arn(index)}"
    cursor = resume(state, purpose, request)
    if request.get("queryTexts") is not None or vector is None:
        return text_query(state, index, request, vector, row_filter, cursor)
    # topK is the total over all pages (AWS: "When topK exceeds the page size, results are returned
    # across multiple pages"); a token is issued only while fewer than topK have been returned.
    size = min(state.limits.query_page_size, top - cursor.returned)
    # Pages continue from the last result (a cursor), so none repeats a vector of an earlier one;
    # the one extra neighbour tells whether another page exists.
    with state.using(index) as opened:
        neighbours = _page(opened, vector, size, cursor.returned, row_filter, cursor.after)
    return_distance = bool(request.get("returnDistance"))
    return_metadata = bool(request.get("returnMetadata"))
    # returnScores adds nothing to a vector-only query (AWS: "This setting doesn't add scores to
    # vector-only requests"); its scores are those of full-text and hybrid results.
    results = []
    for neighbour in neighbours[:size]:
        item: dict[str, Any] = {"key": neighbour.key}
        if return_distance:
            item["distance"] = neighbour.distance
        if return_metadata:
            item["metadata"] = neighbour.metadata or {}
        results.append(item)
    response: Response = {"vectors": results, "distanceMetric": index.distance_metric}
    if cursor.returned + size < top and len(neighbours) > size:
        last = neighbours[size - 1]
        response["nextToken"] = cursor.next_token(state, request, size, (last.distance, last.key))
    return response

