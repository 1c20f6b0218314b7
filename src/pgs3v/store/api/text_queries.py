"""QueryVectors with queryTexts: full-text-only (BM25, summed over the keys) and hybrid (RRF) rankings.

What AWS documents and what pgs3v chose where it is silent: docs/full-text-notes.md (part 1, and
"Wiring: done"). Each key's list comes exact from the engine (:meth:`VectorIndex.text_search`);
this module combines them. Like a vector query, one with topK above the page size answers page
after page by nextToken; the ranking is computed whole for topK and kept between pages
(:mod:`pgs3v.store.api.rankings` says why a cursor alone would not do).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from pgs3v.store.api.errors import ValidationException
from pgs3v.store.api.query_cursor import Cursor
from pgs3v.store.api.rankings import Ranked
from pgs3v.store.api.state import StoreState
from pgs3v.store.engine.distances import exact_distances
from pgs3v.store.engine.filters import CompiledFilter
from pgs3v.store.engine.text_index import KeyBuilding, TextHit
from pgs3v.store.engine.vector_index import VectorIndex
from pgs3v.store.engine.vector_table import StoredVector
from pgs3v.store.storage.catalog import IndexRecord

Request = dict[str, Any]
Response = dict[str, Any]


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
    if len(texts) == 1:
        # One key: its list is the ranking itself, exact with ties broken by key. The threshold
        # rule below would read deeper for nothing whenever the last places tie (a common word
        # in short texts ties thousands of rows), up to _DEEPEST_TEXT_LIST rows.
        (text,) = texts
        (hits,) = _text_lists(data, texts, top, row_filter)
        return [(hit.key, hit.score, {text["metadataKey"]: hit.score}) for hit in hits]
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


def _ranking(data: VectorIndex, texts: list[dict[str, Any]], vector: npt.NDArray[np.float32] | None, top: int,
             row_filter: CompiledFilter | None) -> list[Ranked]:
    """The whole ``top`` ranking, best first, ties to the smaller key (so the order is total)."""
    if vector is None:
        return [Ranked(key, score, {"bm25Scores": [{"metadataKey": k, "score": s} for k, s in parts.items()]})
                for key, score, parts in _summed(data, texts, top, row_filter)]
    neighbours = data.query(vector, top, 0, row_filter)
    lists = _text_lists(data, texts, top, row_filter)
    fused: dict[str, float] = {}
    distances: dict[str, float] = {}
    for rank, neighbour in enumerate(neighbours, start=1):
        fused[neighbour.key] = fused.get(neighbour.key, 0.0) + 1.0 / (RRF_K + rank)
        distances[neighbour.key] = neighbour.distance
    bm25: dict[str, list[dict[str, Any]]] = {}
    for text, hits in zip(texts, lists, strict=True):
        for rank, hit in enumerate(hits, start=1):
            fused[hit.key] = fused.get(hit.key, 0.0) + 1.0 / (RRF_K + rank)
            bm25.setdefault(hit.key, []).append({"metadataKey": text["metadataKey"], "score": hit.score})
    ranked = []
    for key, score in sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:top]:
        scores: dict[str, Any] = {"fused": score}
        if key in bm25:
            scores["bm25Scores"] = bm25[key]
        if key in distances:
            scores["vectorDistance"] = distances[key]
        ranked.append(Ranked(key, score, scores))
    return ranked


def _beyond(item: Ranked, after: tuple[float, str] | None) -> bool:
    # The ranking's total order: score descending, then key ascending.
    return after is None or (-item.score, item.key) > (-after[0], after[1])


def text_query(
    state: StoreState, index: IndexRecord, request: Request, vector: npt.NDArray[np.float32] | None,
    row_filter: CompiledFilter | None, cursor: Cursor,
) -> Response:
    """A full-text-only (BM25) or hybrid (RRF) query: the page of the ``topK`` ranking after ``cursor``.

    The first page computes the whole ranking (the lists' depths depend on topK) and, when more
    pages follow, keeps it for them (rankings.py says why a cursor alone cannot carry it).
    """
    texts: list[dict[str, Any]] = request["queryTexts"] or []
    top = request["topK"]
    size = min(state.limits.query_page_size, top - cursor.returned)
    return_distance = bool(request.get("returnDistance"))
    return_metadata = bool(request.get("returnMetadata"))
    return_scores = bool(request.get("returnScores"))
    with state.using(index) as opened:
        ranking = None
        if cursor.session is not None:
            ranking = state.rankings.ranking(index.storage_id, cursor.session, state.clock())
        kept = ranking is not None
        if ranking is None:
            ranking = _ranking(opened, texts, vector, top, row_filter)
        rest = [item for item in ranking if _beyond(item, cursor.after)]
        # A kept ranking may name rows deleted since it was computed: they are left out, so the
        # rows must be read whether or not the page returns their metadata.
        read = kept or return_metadata or (return_distance and vector is not None)
        page: list[Ranked] = []
        found: dict[str, StoredVector] = {}
        position = 0
        while len(page) < size and position < len(rest):
            chunk = rest[position:position + size - len(page)]
            position += len(chunk)
            if read:
                rows = {stored.key: stored for stored in opened.get([item.key for item in chunk])}
                found.update(rows)
                if kept:
                    chunk = [item for item in chunk if item.key in rows]
            page.extend(chunk)
    results = []
    for ranked in page:
        item: dict[str, Any] = {"key": ranked.key}
        if return_distance and vector is not None:
            distance = ranked.scores.get("vectorDistance")
            if distance is None and ranked.key in found:
                distance = float(exact_distances(index.distance_metric, vector, found[ranked.key].data[None, :])[0])
            if distance is not None:
                item["distance"] = distance
        if return_metadata:
            item["metadata"] = (found[ranked.key].metadata if ranked.key in found else None) or {}
        if return_scores:
            item["scores"] = ranked.scores
        results.append(item)
    response: Response = {"vectors": results, "distanceMetric": index.distance_metric}
    # topK is the total over all pages; a token only while fewer have been returned and more rank.
    if page and cursor.returned + len(page) < top and position < len(rest):
        session = cursor.session if kept else state.rankings.keep(
            index.storage_id, ranking, cursor.started + 60 * state.limits.query_token_minutes, cursor.session)
        response["nextToken"] = cursor.next_token(state, request, len(page), (page[-1].score, page[-1].key), session)
    elif cursor.session is not None:
        state.rankings.forget(cursor.session)
    return response
