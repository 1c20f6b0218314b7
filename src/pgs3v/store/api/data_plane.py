"""Vector operations (Put, Get, List, Delete, Query), named after the API."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from pgs3v.store.api.errors import INDEX_NOT_FOUND, NotFoundException, ValidationException
from pgs3v.store.api.state import StoreState
from pgs3v.store.api.text_search import check_query, check_query_on
from pgs3v.store.api.vector_validation import put_batch, vector_array
from pgs3v.store.engine.distances import exact_distances
from pgs3v.store.engine.filters import CompiledFilter, compile_filter
from pgs3v.store.engine.mutations import DeleteBatch, Mutation
from pgs3v.store.engine.text_index import KeyBuilding, TextHit
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


# The fields AWS says a nextToken belongs to: "Continue making QueryVectors requests with the same
# queryVector, topK, filter, and queryMode parameters" (user guide, Querying vectors). returnMetadata,
# returnDistance and returnScores are not among them: they shape each page, not the ranking.
_TOKEN_BOUND_FIELDS = ("queryVector", "queryTexts", "topK", "filter", "queryMode")


def _query_fingerprint(request: Request) -> str:
    fields = {name: request.get(name) for name in _TOKEN_BOUND_FIELDS}
    return hashlib.sha256(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)).hexdigest()[:24]


def _resume(state: StoreState, purpose: str, request: Request) -> tuple[int, tuple[float, str] | None, float]:
    # (results returned so far, the last one's distance and key, when the query's first page ran).
    if not request.get("nextToken"):
        return 0, None, state.clock()
    token = state.tokens.decode(purpose, request["nextToken"])
    if token.get("q") != _query_fingerprint(request):
        raise ValidationException.for_field(
            "/nextToken", "The provided token belongs to a different query: send the same queryVector, topK, "
            "filter and queryMode as the request that returned it")
    started = float(token["t"])
    # Counted from the first page, not the last, as AWS counts "after the query is executed".
    if state.clock() > started + 60 * state.limits.query_token_minutes:
        raise ValidationException.for_field(
            "/nextToken", "The provided token has expired: send the query again without a nextToken")
    return int(token["n"]), (float(token["d"]), str(token["k"])), started


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
    returned, after, started = _resume(state, purpose, request)
    if request.get("queryTexts") is not None or vector is None:
        return _text_query(state, index, request, vector, row_filter)
    # topK is the total over all pages (AWS: "When topK exceeds the page size, results are returned
    # across multiple pages"); a token is issued only while fewer than topK have been returned.
    size = min(state.limits.query_page_size, top - returned)
    # Pages continue from the last result (a cursor), so none repeats a vector of an earlier one;
    # the one extra neighbour tells whether another page exists.
    with state.using(index) as opened:
        neighbours = _page(opened, vector, size, returned, row_filter, after)
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
    if returned + size < top and len(neighbours) > size:
        last = neighbours[size - 1]
        cursor = {"q": _query_fingerprint(request), "n": returned + size, "d": last.distance, "k": last.key,
                  "t": started}
        response["nextToken"] = state.tokens.encode(purpose, cursor)
    return response


# Reciprocal Rank Fusion's constant (Cormack, Clarke and Büttcher; Elasticsearch's and OpenSearch's default).
RRF_K = 60
# A full-text-only query over several keys reads each key's list this deep at most (its first
# depth is topK), however the threshold rule below stands.
_DEEPEST_TEXT_LIST = 10_000


def _text_lists(
    data: VectorIndex, texts: list[dict[str, Any]], depth: int, row_filter: CompiledFilter | None,
) -> list[list[TextHit]]:
    try:
        return [data.text_search(text["metadataKey"], text["text"], depth, row_filter) for text in texts]
    except (KeyBuilding, KeyError):
        # The catalog said ACTIVE, the open index has not caught up yet (a configuration changed
        # by another server, or a moment ago): the key is not serving queries here yet.
        raise ValidationException.for_field(
            "/queryTexts", "The text search configuration of a metadata key in queryTexts is BUILDING: "
            "its existing vectors are being indexed and it does not serve queries yet") from None


def _summed(data: VectorIndex, texts: list[dict[str, Any]], top: int, row_filter: CompiledFilter | None,
            ) -> list[tuple[str, float, dict[str, float]]]:
    """Full-text only: the ``top`` rows by the sum of their per-key BM25 scores, each with its parts.

    Each key's list is exact (the engine's), read deeper until no row outside the top can beat it
    (Fagin's threshold rule: a row missing from a full list scores at most that list's last score).
    """
    depth = top
    while True:
        lists = _text_lists(data, texts, depth, row_filter)
        parts: dict[str, dict[str, float]] = {}
        for text, hits in zip(texts, lists, strict=True):
            for hit in hits:
                parts.setdefault(hit.key, {})[text["metadataKey"]] = hit.score
        # A list shorter than asked holds every row that matches its key: a row absent scores 0 there.
        bounds = {text["metadataKey"]: hits[-1].score for text, hits in zip(texts, lists, strict=True)
                  if len(hits) == depth}
        ranked = sorted(parts.items(), key=lambda item: (-sum(item[1].values()), item[0]))
        best = ranked[:top]
        complete = all(len(scores) == len(texts) or not (bounds.keys() - scores.keys()) for _, scores in best)
        unseen = sum(bounds.values())
        others = [sum(scores.values()) + sum(bound for key, bound in bounds.items() if key not in scores)
                  for _, scores in ranked[top:]]
        floor = sum(best[-1][1].values()) if len(best) == top else 0.0
        if not bounds or depth >= _DEEPEST_TEXT_LIST or (
                complete and len(best) == top and floor > max([unseen, *others])):
            return [(key, sum(scores.values()), scores) for key, scores in best]
        depth = min(_DEEPEST_TEXT_LIST, depth * 4)


def _text_query(
    state: StoreState, index: IndexRecord, request: Request, vector: npt.NDArray[np.float32] | None,
    row_filter: CompiledFilter | None,
) -> Response:
    """A full-text-only (BM25) or hybrid (RRF) query: the first page only, never a nextToken.

    A text ranking is computed whole for each request (the lists' depths depend on topK), so
    pages of it cannot be cut safely by a cursor the way distances can: a text or hybrid query
    answers its first page (up to the page size of results) and issues no token.
    """
    texts: list[dict[str, Any]] = request["queryTexts"] or []
    top = request["topK"]
    size = min(state.limits.query_page_size, top)
    return_distance = bool(request.get("returnDistance"))
    return_metadata = bool(request.get("returnMetadata"))
    return_scores = bool(request.get("returnScores"))
    ranked: list[tuple[str, dict[str, Any]]] = []  # key, then its scores as QueryScores holds them
    distances: dict[str, float] = {}
    with state.using(index) as opened:
        if vector is None:
            for key, _, parts in _summed(opened, texts, top, row_filter)[:size]:
                ranked.append((key, {"bm25Scores": [{"metadataKey": k, "score": s} for k, s in parts.items()]}))
        else:
            neighbours = opened.query(vector, top, 0, row_filter)
            lists = _text_lists(opened, texts, top, row_filter)
            fused: dict[str, float] = {}
            for rank, neighbour in enumerate(neighbours, start=1):
                fused[neighbour.key] = fused.get(neighbour.key, 0.0) + 1.0 / (RRF_K + rank)
                distances[neighbour.key] = neighbour.distance
            bm25: dict[str, list[dict[str, Any]]] = {}
            for text, hits in zip(texts, lists, strict=True):
                for rank, hit in enumerate(hits, start=1):
                    fused[hit.key] = fused.get(hit.key, 0.0) + 1.0 / (RRF_K + rank)
                    bm25.setdefault(hit.key, []).append({"metadataKey": text["metadataKey"], "score": hit.score})
            # Ties (equal fused scores) go to the smaller key, so the order is total.
            for key, score in sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:size]:
                scores: dict[str, Any] = {"fused": score}
                if key in bm25:
                    scores["bm25Scores"] = bm25[key]
                if key in distances:
                    scores["vectorDistance"] = distances[key]
                ranked.append((key, scores))
        found = {stored.key: stored for stored in opened.get([key for key, _ in ranked])} \
            if return_metadata or (return_distance and vector is not None) else {}
    results = []
    for key, scores in ranked:
        item: dict[str, Any] = {"key": key}
        if return_distance and vector is not None:
            distance = distances.get(key)
            if distance is None and key in found:
                distance = float(exact_distances(index.distance_metric, vector, found[key].data[None, :])[0])
            if distance is not None:
                item["distance"] = distance
        if return_metadata:
            item["metadata"] = (found[key].metadata if key in found else None) or {}
        if return_scores:
            item["scores"] = scores
        results.append(item)
    return {"vectors": results, "distanceMetric": index.distance_metric}
