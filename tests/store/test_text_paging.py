"""Paging of full-text-only and hybrid QueryVectors results, as vector results page.

"When topK exceeds the page size, results are returned across multiple pages [...] passing the
nextToken from each response, until nextToken is no longer present" (S3 user guide, Querying
vectors). Through boto3's own client against a real server: the pages of a topK of 250 are 100,
100 and 50, repeat nothing, and together are the topK ranking computed in one piece by
``tests/reference/bm25.py`` (BM25, summed over keys) or by the RRF formula here (hybrid); writes
between pages never bring a result back. In process, with an injected clock: pages recomputed
without the kept ranking (a restart, another server) still equal the ranking, and tokens expire.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pgs3v.store.api.arns import ArnScope
from pgs3v.store.api.errors import ValidationException
from pgs3v.store.api.limits import Limits
from pgs3v.store.api.rankings import Ranked, RankingCache
from pgs3v.store.api.service import VectorStore
from pgs3v.store.engine.text_analyzers import analyze
from tests.store.text_layout import close, reference_bm25
from tests.support import error_of

PAGE = Limits().query_page_size
TOP = 250
ROWS = 420
RRF_K = 60  # AWS's fusion constant (docs/full-text-notes.md)
VOCABULARY = ("amber", "birch", "cedar", "dune", "ember", "fjord")
TEXTS = {"body": "amber birch", "title": "cedar"}
QUERY = [0.3, -0.2, 0.9, 0.1]

Metadata = dict[str, Any]


def _rows(count: int, seed: int = 7) -> dict[str, Metadata]:
    """Rows whose texts come from a six-word vocabulary: nearly all match, many tie (same words, same length)."""
    rng = np.random.default_rng(seed)
    return {f"r{i:04d}": {"body": " ".join(rng.choice(VOCABULARY, size=int(rng.integers(2, 10)))),
                          "title": " ".join(rng.choice(VOCABULARY, size=int(rng.integers(1, 4))))}
            for i in range(count)}


def _vector(key: str) -> list[float]:
    values: list[float] = np.random.default_rng(int(key[1:])).standard_normal(4).astype(np.float32).tolist()
    return values


def _put(call: Any, index: dict[str, str], rows: dict[str, Metadata]) -> None:
    keys = list(rows)
    for start in range(0, len(keys), 500):
        call(**index, vectors=[{"key": k, "data": {"float32": _vector(k)}, "metadata": rows[k]}
                               for k in keys[start:start + 500]])


def _text_lists(live: dict[str, Metadata], top: int) -> dict[str, list[tuple[str, float]]]:
    """Each query text's reference BM25 list over the live rows, best first (ties to the smaller key)."""
    return {key: reference_bm25(live, key, None).top(analyze(text, None), top) for key, text in TEXTS.items()}


def _expected_text(live: dict[str, Metadata], top: int) -> list[tuple[str, float]]:
    """Full-text only: the rows by the sum of their per-key scores."""
    summed: dict[str, float] = {}
    for ranking in _text_lists(live, len(live)).values():
        for key, score in ranking:
            summed[key] = summed.get(key, 0.0) + score
    return sorted(summed.items(), key=lambda item: (-item[1], item[0]))[:top]


def _expected_hybrid(vector_list: list[str], live: dict[str, Metadata], top: int) -> list[tuple[str, float]]:
    """Hybrid: RRF (k = 60, ranks from 1) of the vector list and each text list, each ``top`` deep."""
    fused: dict[str, float] = {}
    for ranking in [vector_list, *([k for k, _ in hits] for hits in _text_lists(live, top).values())]:
        for rank, key in enumerate(ranking, start=1):
            fused[key] = fused.get(key, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:top]


def _request(index: dict[str, str], hybrid: bool, top: int = TOP) -> dict[str, Any]:
    request: dict[str, Any] = {**index, "topK": top,
                               "queryTexts": [{"metadataKey": k, "text": t} for k, t in TEXTS.items()]}
    if hybrid:
        request["queryVector"] = {"float32": QUERY}
    return request


def _walk(s3v: Any, request: dict[str, Any], **shape: Any) -> list[dict[str, Any]]:
    """Every page of ``request``, following nextToken by hand."""
    pages = [s3v.query_vectors(**request, **shape)]
    while "nextToken" in pages[-1]:
        pages.append(s3v.query_vectors(**request, **shape, nextToken=pages[-1]["nextToken"]))
    return pages


def _keys(pages: list[dict[str, Any]]) -> list[str]:
    return [v["key"] for page in pages for v in page["vectors"]]


@pytest.fixture(scope="module")
def live() -> dict[str, Metadata]:
    return _rows(ROWS)


def _new_index(s3v: Any, live: dict[str, Metadata]) -> dict[str, str]:
    """A new bucket's index with ``body`` and ``title`` searchable, holding ``live``; its name parameters."""
    bucket = f"paging-{uuid.uuid4().hex[:10]}"
    s3v.create_vector_bucket(vectorBucketName=bucket)
    index = {"vectorBucketName": bucket, "indexName": "idx"}
    s3v.create_index(**index, dataType="float32", dimension=4, distanceMetric="cosine",
                     metadataConfiguration={"textSearchConfigurations": [{"metadataKey": "body"},
                                                                         {"metadataKey": "title"}]})
    _put(s3v.put_vectors, index, live)
    return index


@pytest.fixture(scope="module")
def loaded(s3v: Any, live: dict[str, Metadata]) -> dict[str, str]:
    return _new_index(s3v, live)


def _vector_list(s3v: Any, index: dict[str, str]) -> list[str]:
    pages = s3v.get_paginator("query_vectors").paginate(**index, topK=TOP, queryVector={"float32": QUERY})
    return [v["key"] for page in pages for v in page["vectors"]]


@pytest.mark.parametrize("hybrid", [False, True], ids=["text", "hybrid"])
def test_pages_of_top_k_are_the_ranking_in_one_piece(s3v: Any, loaded: dict[str, str], live: dict[str, Metadata],
                                                     hybrid: bool) -> None:
    expected = _expected_hybrid(_vector_list(s3v, loaded), live, TOP) if hybrid else _expected_text(live, TOP)
    assert len(expected) == TOP
    pages = _walk(s3v, _request(loaded, hybrid), returnScores=True)
    assert [len(p["vectors"]) for p in pages] == [PAGE, PAGE, TOP - 2 * PAGE]
    assert "nextToken" not in pages[-1] and all(p["distanceMetric"] == "cosine" for p in pages)
    walked = _keys(pages)
    assert len(set(walked)) == len(walked)
    assert walked == [key for key, _ in expected]
    # Each result keeps its scores, as on a single page.
    for result, (_, score) in zip((v for p in pages for v in p["vectors"]), expected, strict=True):
        scores = result["scores"]
        total = scores["fused"] if hybrid else sum(part["score"] for part in scores["bm25Scores"])
        assert close(total, score), (result, score)
    # boto3's paginator follows the same tokens to the same answer.
    paginated = list(s3v.get_paginator("query_vectors").paginate(**_request(loaded, hybrid)))
    assert [len(p["vectors"]) for p in paginated] == [PAGE, PAGE, TOP - 2 * PAGE]
    assert _keys(paginated) == walked


@pytest.mark.parametrize("hybrid", [False, True], ids=["text", "hybrid"])
def test_a_short_ranking_ends_without_a_token(s3v: Any, loaded: dict[str, str], hybrid: bool) -> None:
    # Fewer matches than topK: the pages end with the matches, and a topK within a page is one page.
    request = {**_request(loaded, hybrid, top=1000), "queryTexts": [{"metadataKey": "title", "text": "fjord"}]}
    pages = _walk(s3v, request)
    walked = _keys(pages)
    assert len(set(walked)) == len(walked) and "nextToken" not in pages[-1] and len(pages) > 1
    assert all(len(p["vectors"]) == PAGE for p in pages[:-1])
    one = s3v.query_vectors(**{**request, "topK": PAGE})
    assert "nextToken" not in one and len(one["vectors"]) == PAGE
    if not hybrid:  # (a fused ranking depends on topK: each list is topK deep; a BM25 sum does not)
        assert _keys([one]) == walked[:PAGE]


def test_a_token_belongs_to_its_query(raw_s3v: Any, s3v: Any, loaded: dict[str, str]) -> None:
    for hybrid in (False, True):
        request = _request(loaded, hybrid)
        token = s3v.query_vectors(**request)["nextToken"]
        changed: list[dict[str, Any]] = [
            {"queryTexts": [{"metadataKey": "body", "text": "amber"}]}, {"topK": TOP + 1},
            {"filter": {"title": "cedar"}}, {"queryMode": "ENHANCED"},
            {"queryVector": {"float32": [1.0, 0.0, 0.0, 0.0]}},
        ]
        for change in changed:
            code, status, response = error_of(raw_s3v.query_vectors, **{**request, **change}, nextToken=token)
            assert (code, status) == ("ValidationException", 400), change
            assert response["fieldList"][0]["path"] == "/nextToken"
        # What each page returns may change: the token binds the ranking's parameters only.
        rest = s3v.query_vectors(**request, nextToken=token, returnMetadata=True, returnScores=True)
        assert len(rest["vectors"]) == PAGE and all("metadata" in v and "scores" in v for v in rest["vectors"])


@pytest.mark.parametrize("hybrid", [False, True], ids=["text", "hybrid"])
def test_writes_between_pages_repeat_nothing(s3v: Any, hybrid: bool) -> None:
    live = _rows(360, seed=11)
    index = _new_index(s3v, live)
    request = _request(index, hybrid)
    before = _keys(_walk(s3v, request))
    assert len(before) == TOP
    first = s3v.query_vectors(**request)
    assert _keys([first]) == before[:PAGE]
    # A newcomer that ranks first, rows of the first page rewritten to rank last, rows of later pages
    # deleted: every score and rank moves (N, df, the mean length, each list's ranks), so a cursor
    # alone would see rows of the first page again.
    newcomer = {"body": "amber amber birch birch", "title": "cedar cedar"}
    s3v.put_vectors(**index, vectors=[{"key": "r9999", "data": {"float32": QUERY}, "metadata": newcomer}])
    rewritten = before[PAGE - 30:PAGE]
    _put(s3v.put_vectors, index, {key: {"body": "dune", "title": "fjord"} for key in rewritten})
    second = s3v.query_vectors(**request, nextToken=first["nextToken"])
    deleted = _keys([second])[:5] + before[2 * PAGE + 10:2 * PAGE + 20]
    s3v.delete_vectors(**index, keys=deleted)
    rest = _walk(s3v, request | {"nextToken": second["nextToken"]})
    walked = _keys([first, second, *rest])
    assert len(set(walked)) == len(walked) and len(walked) <= TOP and "nextToken" not in rest[-1]
    # The pages are cut from the ranking of the first page: rows deleted before their page came are left out.
    assert walked == [key for key in before if key not in deleted[5:]]


# --- without the kept ranking, and expiry: in process, with an injected clock ----------------------


@pytest.fixture
def local_store() -> Iterator[tuple[VectorStore, list[float], dict[str, Metadata]]]:
    """A store with pages of 10 and tokens of 1 minute, 80 searchable rows, and its clock (settable)."""
    directory = Path(tempfile.mkdtemp(prefix="pgs3v-text-paging-"))
    store = VectorStore(directory, limits=Limits(query_page_size=10, query_token_minutes=1), scope=ArnScope(),
                        token_secret=b"text-paging")
    now = [time.time()]  # today: a bucket made now gives its indexes the mode ENHANCED
    store.state.clock = lambda: now[0]
    rows = _rows(80, seed=3)
    try:
        store.call("CreateVectorBucket", {"vectorBucketName": "paging"})
        store.call("CreateIndex", {"vectorBucketName": "paging", "indexName": "idx", "dataType": "float32",
                                   "dimension": 4, "distanceMetric": "cosine", "metadataConfiguration": {
                                       "textSearchConfigurations": [{"metadataKey": k} for k in TEXTS]}})
        _put(lambda **request: store.call("PutVectors", request), {"vectorBucketName": "paging", "indexName": "idx"},
             rows)
        yield store, now, rows
    finally:
        store.close()
        shutil.rmtree(directory, ignore_errors=True)


def _local_walk(store: VectorStore, request: dict[str, Any], forget: bool = False) -> list[dict[str, Any]]:
    pages = [store.call("QueryVectors", request)]
    while "nextToken" in pages[-1]:
        if forget:
            store.state.rankings.clear()  # as after a restart, or on another server: the page recomputes
        pages.append(store.call("QueryVectors", {**request, "nextToken": pages[-1]["nextToken"]}))
    return pages


@pytest.mark.parametrize("hybrid", [False, True], ids=["text", "hybrid"])
def test_pages_recomputed_without_the_kept_ranking_are_the_same(
        local_store: tuple[VectorStore, list[float], dict[str, Metadata]], hybrid: bool) -> None:
    store, _, rows = local_store
    index = {"vectorBucketName": "paging", "indexName": "idx"}
    request = _request(index, hybrid, top=45)
    pages = _local_walk(store, request, forget=True)
    assert [len(p["vectors"]) for p in pages] == [10, 10, 10, 10, 5]
    if hybrid:
        vector_list = _keys(_local_walk(store, {**index, "topK": 45, "queryVector": {"float32": QUERY}}))
        expected = _expected_hybrid(vector_list, rows, 45)
    else:
        expected = _expected_text(rows, 45)
    assert _keys(pages) == [key for key, _ in expected]
    assert _keys(_local_walk(store, request)) == _keys(pages)


def test_text_tokens_expire_minutes_after_the_first_page(
        local_store: tuple[VectorStore, list[float], dict[str, Metadata]]) -> None:
    store, now, _ = local_store
    request = _request({"vectorBucketName": "paging", "indexName": "idx"}, False, top=30)
    first = store.call("QueryVectors", request)
    now[0] += 59.5
    second = store.call("QueryVectors", {**request, "nextToken": first["nextToken"]})
    now[0] += 1  # a minute after the first page
    with pytest.raises(ValidationException, match="expired") as raised:
        store.call("QueryVectors", {**request, "nextToken": second["nextToken"]})
    assert [f.path for f in raised.value.field_list] == ["/nextToken"]


def test_the_kept_rankings_are_bounded_and_expire() -> None:
    def ranking(n: int) -> list[Ranked]:
        return [Ranked(f"k{i}", float(-i), {}) for i in range(n)]

    cache = RankingCache(max_results=5)
    first = cache.keep("index", ranking(2), expires=100.0)
    second = cache.keep("index", ranking(2), expires=100.0)
    assert cache.ranking("index", first, now=0.0) is not None  # now the most recently used
    third = cache.keep("index", ranking(2), expires=100.0)  # 6 results: the least recently used goes
    assert cache.ranking("index", second, now=0.0) is None
    assert cache.ranking("index", first, now=0.0) is not None and cache.ranking("index", third, now=0.0) is not None
    assert cache.ranking("another index", first, now=0.0) is None  # a session serves its own index only
    assert cache.ranking("index", cache.keep("index", ranking(6), expires=100.0), now=0.0) is None  # too big
    assert cache.ranking("index", first, now=100.5) is None  # its tokens have expired
    cache.forget(third)
    assert cache.ranking("index", third, now=0.0) is None
