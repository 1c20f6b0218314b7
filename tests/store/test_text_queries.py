"""QueryVectors with queryTexts, through boto3's own client against the real server.

Full-text-only queries rank by BM25 (the sum over the query's keys), hybrid ones by Reciprocal Rank
Fusion (constant 60) of the vector list and each text list; every answer is checked against
``tests/reference/bm25.py`` over the live rows (the sample catalog's descriptions, in English, and
names, with the standard analyzer), and the fused ranks against the RRF formula computed here.
A topK within the page size is one page, without a nextToken (paging: tests/store/test_text_paging.py).
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pgs3v.sample_data.catalog import load_products
from pgs3v.store.engine.text_analyzers import analyze
from tests.reference.bm25 import Bm25, rrf
from tests.store.text_layout import close, reference_bm25
from tests.support import StoreProcess, client, engine_client, error_of

DIMENSION = 4
LANGUAGES: dict[str, str | None] = {"description": "en", "name": None}
CONFIGURATIONS = [{"metadataKey": "description", "language": "en"}, {"metadataKey": "name"}]
QUERIES = ("waterproof jacket", "stainless steel", "wireless noise cancelling headphones", "dog", "organic cotton")
ROWS = 1200

Metadata = dict[str, Any]


def _catalog(count: int = ROWS) -> dict[str, Metadata]:
    return {f"p{p.product_id:05d}": {"description": p.description, "name": p.name, "category": p.category}
            for p in load_products()[:count]}


def _vector(key: str) -> list[float]:
    seed = int(key[1:]) if key[1:].isdigit() else abs(hash(key)) % 2**31
    values: list[float] = np.random.default_rng(seed).standard_normal(DIMENSION).astype(np.float32).tolist()
    return values


def _create(s3v: Any, **metadata: Any) -> dict[str, str]:
    bucket, name = f"text-{uuid.uuid4().hex[:10]}", "idx"
    s3v.create_vector_bucket(vectorBucketName=bucket)
    s3v.create_index(vectorBucketName=bucket, indexName=name, dataType="float32", dimension=DIMENSION,
                     distanceMetric="cosine", metadataConfiguration={"nonFilterableMetadataKeys": ["description"],
                                                                     **metadata})
    return {"vectorBucketName": bucket, "indexName": name}


def _put(s3v: Any, index: dict[str, str], rows: dict[str, Metadata]) -> None:
    keys = list(rows)
    for start in range(0, len(keys), 500):
        s3v.put_vectors(**index, vectors=[{"key": k, "data": {"float32": _vector(k)}, "metadata": rows[k]}
                                          for k in keys[start:start + 500]])


def _reference(live: dict[str, Metadata], key: str) -> Bm25:
    return reference_bm25(live, key, LANGUAGES[key])


def _expected_text(live: dict[str, Metadata], texts: dict[str, str], top: int,
                   allowed: set[str] | None = None) -> list[tuple[str, float]]:
    """The reference ranking of a full-text-only query: the sum of the per-key scores."""
    summed: dict[str, float] = {}
    for key, text in texts.items():
        for vector_key, score in _reference(live, key).scores(analyze(text, LANGUAGES[key])).items():
            if allowed is None or vector_key in allowed:
                summed[vector_key] = summed.get(vector_key, 0.0) + score
    return sorted(summed.items(), key=lambda item: (-item[1], item[0]))[:top]


def _query(s3v: Any, index: dict[str, str], texts: dict[str, str], top: int = 10, **extra: Any) -> list[Any]:
    queries = [{"metadataKey": k, "text": t} for k, t in texts.items()]
    response = s3v.query_vectors(**index, topK=top, queryTexts=queries, **extra)
    assert "nextToken" not in response
    return list(response["vectors"])


def _assert_text_answers(s3v: Any, index: dict[str, str], live: dict[str, Metadata]) -> None:
    for query in QUERIES:
        for texts in ({"description": query}, {"description": query, "name": query}):
            expected = _expected_text(live, texts, 10)
            found = _query(s3v, index, texts, returnScores=True)
            assert [v["key"] for v in found] == [k for k, _ in expected], (texts, found)
            for result, (_, score) in zip(found, expected, strict=True):
                parts = result["scores"]["bm25Scores"]
                assert close(sum(p["score"] for p in parts), score)
                assert set(result) == {"key", "scores"} and set(result["scores"]) == {"bm25Scores"}


@pytest.fixture(scope="module")
def catalog() -> dict[str, Metadata]:
    return _catalog()


@pytest.fixture(scope="module")
def loaded(s3v: Any, catalog: dict[str, Metadata]) -> dict[str, str]:
    index = _create(s3v, textSearchConfigurations=CONFIGURATIONS)
    _put(s3v, index, catalog)
    return index


def test_full_text_only_ranks_by_bm25_as_the_reference(s3v: Any, loaded: dict[str, str],
                                                       catalog: dict[str, Metadata]) -> None:
    _assert_text_answers(s3v, loaded, catalog)
    # returnDistance adds nothing without a query vector; returnMetadata as for vector queries.
    [result] = _query(s3v, loaded, {"description": "dog"}, top=1, returnDistance=True, returnMetadata=True)
    assert set(result) == {"key", "metadata"} and result["metadata"] == catalog[result["key"]]
    assert _query(s3v, loaded, {"description": "zzzzqqq"}) == []


def test_filters_narrow_the_rows_before_ranking(s3v: Any, loaded: dict[str, str], catalog: dict[str, Metadata]) -> None:
    category = catalog["p00001"]["category"]
    allowed = {k for k, m in catalog.items() if m["category"] == category}
    for query in QUERIES:
        texts = {"description": query, "name": query}
        expected = _expected_text(catalog, texts, 10, allowed)
        found = _query(s3v, loaded, texts, filter={"category": category})
        assert [v["key"] for v in found] == [k for k, _ in expected]


def test_hybrid_fuses_the_lists_with_rrf(s3v: Any, loaded: dict[str, str], catalog: dict[str, Metadata]) -> None:
    top = 10
    for query in QUERIES:
        vector = _vector("p00042")
        vector_list = s3v.query_vectors(**loaded, topK=top, queryVector={"float32": vector},
                                        returnDistance=True)["vectors"]
        lists = [[k for k, _ in _reference(catalog, key).top(analyze(query, LANGUAGES[key]), top)] for key in LANGUAGES]
        fused = rrf([[v["key"] for v in vector_list], *lists])
        expected = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:top]
        found = s3v.query_vectors(**loaded, topK=top, queryVector={"float32": vector}, returnScores=True,
                                  returnDistance=True,
                                  queryTexts=[{"metadataKey": key, "text": query} for key in LANGUAGES])
        assert "nextToken" not in found
        results = found["vectors"]
        assert [r["key"] for r in results] == [k for k, _ in expected], query
        distances = {v["key"]: v["distance"] for v in vector_list}
        for result, (key, score) in zip(results, expected, strict=True):
            scores = result["scores"]
            assert close(scores["fused"], score)
            assert ("vectorDistance" in scores) == (key in distances)
            if key in distances:
                assert close(scores["vectorDistance"], distances[key])
            matched = {p["metadataKey"] for p in scores.get("bm25Scores", [])}
            assert matched == {name for name, ranking in zip(LANGUAGES, lists, strict=True) if key in ranking}
            assert "distance" in result  # returnDistance: the top-level distance, for every hybrid result


def test_a_filter_narrows_every_list_of_a_hybrid_query(s3v: Any, loaded: dict[str, str],
                                                       catalog: dict[str, Metadata]) -> None:
    category = catalog["p00007"]["category"]
    allowed = {k for k, m in catalog.items() if m["category"] == category}
    vector, top = {"float32": _vector("p00007")}, 10
    for query in QUERIES:
        vector_list = [v["key"] for v in s3v.query_vectors(**loaded, topK=top, queryVector=vector,
                                                           filter={"category": category})["vectors"]]
        lists = [[k for k, _ in _expected_text(catalog, {key: query}, top, allowed)] for key in LANGUAGES]
        expected = sorted(rrf([vector_list, *lists]).items(), key=lambda item: (-item[1], item[0]))[:top]
        found = s3v.query_vectors(**loaded, topK=top, queryVector=vector, filter={"category": category},
                                  returnMetadata=True,
                                  queryTexts=[{"metadataKey": key, "text": query} for key in LANGUAGES])["vectors"]
        assert [r["key"] for r in found] == [k for k, _ in expected], query
        assert all(r["metadata"]["category"] == category for r in found)


def test_writes_count_at_once(s3v: Any) -> None:
    live = _catalog(300)
    index = _create(s3v, textSearchConfigurations=CONFIGURATIONS)
    _put(s3v, index, live)
    _assert_text_answers(s3v, index, live)
    [best] = _query(s3v, index, {"description": "dog"}, top=1)
    # An overwrite without the word, a delete, a new row: each shows in the next query.
    live[best["key"]] = {"description": "nothing here", "name": "x", "category": "c"}
    _put(s3v, index, {best["key"]: live[best["key"]]})
    _assert_text_answers(s3v, index, live)
    gone = [k for k, _ in _expected_text(live, {"description": "steel"}, 3)]
    s3v.delete_vectors(**index, keys=gone)
    for key in gone:
        del live[key]
    _assert_text_answers(s3v, index, live)
    live["new"] = {"description": "dog dog dog", "name": "dog", "category": "c"}
    _put(s3v, index, {"new": live["new"]})
    assert _query(s3v, index, {"description": "dog"}, top=1)[0]["key"] == "new"
    _assert_text_answers(s3v, index, live)


def test_a_key_added_to_a_loaded_index_builds_then_answers(s3v: Any) -> None:
    live = _catalog(5000)
    index = _create(s3v)
    _put(s3v, index, live)
    s3v.update_metadata_configuration(**index, add={"textSearchConfigurations": CONFIGURATIONS})
    statuses = [c["status"] for c in s3v.get_index(**index)["index"]["metadataConfiguration"]
                ["textSearchConfigurations"]]
    assert "BUILDING" in statuses  # 5,000 rows take the backfill far longer than this call
    deadline = time.monotonic() + 120
    while statuses != ["ACTIVE", "ACTIVE"]:
        assert time.monotonic() < deadline, statuses
        time.sleep(0.1)
        statuses = [c["status"] for c in s3v.get_index(**index)["index"]["metadataConfiguration"]
                    ["textSearchConfigurations"]]
    _assert_text_answers(s3v, index, live)
    # Deleted: the key no longer answers.
    s3v.update_metadata_configuration(**index, delete={"textSearchConfigurations": [{"metadataKey": "name"}]})
    code, status, _ = error_of(s3v.query_vectors, **index, topK=1, queryTexts=[{"metadataKey": "name", "text": "x"}])
    assert (code, status) == ("ValidationException", 400)


def _answers(s3v: Any, index: dict[str, str]) -> list[Any]:
    return [_query(s3v, index, {"description": q, "name": q}, returnScores=True) for q in QUERIES]


def test_kill_and_restart_answer_the_same(tmp_path: Path) -> None:
    server = StoreProcess(tmp_path / "data", extra_args=("--limit", "index_fold_rows=200")).start()
    live = _catalog(900)
    try:
        s3v = client(server.endpoint)
        index = _create(s3v, textSearchConfigurations=CONFIGURATIONS)
        _put(s3v, index, live)
        s3v.delete_vectors(**index, keys=list(live)[::5])
        for key in list(live)[::5]:
            del live[key]
        before = _answers(s3v, index)
        _assert_text_answers(s3v, index, live)
    finally:
        server.kill()
    server.start()
    try:
        s3v = client(server.endpoint)
        assert _answers(s3v, index) == before
    finally:
        server.stop()


def test_a_fresh_server_on_object_storage_answers_the_same(tmp_path: Path) -> None:
    objects = (tmp_path / "objects").as_uri()
    first = StoreProcess(tmp_path / "first",
                         extra_args=("--storage", objects, "--limit", "index_fold_rows=200")).start()
    live = _catalog(900)
    try:
        s3v = client(first.endpoint)
        index = _create(s3v, textSearchConfigurations=CONFIGURATIONS[:1])
        _put(s3v, index, live)
        # A key added later: its backfilled files are the first server's cache only; the fresh one builds them.
        s3v.update_metadata_configuration(**index, add={"textSearchConfigurations": CONFIGURATIONS[1:]})
        deadline = time.monotonic() + 60
        while any(c["status"] != "ACTIVE" for c in
                  s3v.get_index(**index)["index"]["metadataConfiguration"]["textSearchConfigurations"]):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        before = _answers(s3v, index)
        _assert_text_answers(s3v, index, live)
    finally:
        first.stop()
    second = StoreProcess(tmp_path / "second", extra_args=("--storage", objects)).start()
    try:
        assert _answers(client(second.endpoint), index) == before
    finally:
        second.stop()


BUSY_INDEXER = ("--limit", "index_fold_rows=20", "--limit", "index_ann_min_floats=128", "--limit",
                "index_fold_idle_ms=1", "--limit", "index_merge_width=2")


def test_writes_while_the_indexer_folds_and_merges(tmp_path: Path) -> None:
    # Folds and merges land between (and during) the writes: rows overwritten or deleted while a
    # fold or merge ran must leave the text index as they leave the vectors.
    server = StoreProcess(tmp_path / "data", extra_args=BUSY_INDEXER).start()
    rng = np.random.default_rng(3)
    source = _catalog(600)
    keys = list(source)[:150]
    texts = list(source.values())
    live: dict[str, Metadata] = {}
    try:
        s3v = client(server.endpoint)
        index = _create(s3v, textSearchConfigurations=CONFIGURATIONS)
        for step in range(120):
            chosen = [keys[i] for i in rng.choice(len(keys), size=8, replace=False)]
            if step % 5 == 4:
                s3v.delete_vectors(**index, keys=chosen)
                for key in chosen:
                    live.pop(key, None)
            else:
                rows = {key: texts[int(rng.integers(len(texts)))] for key in chosen}
                _put(s3v, index, rows)
                live.update(rows)
            if step % 30 == 29:
                _assert_text_answers(s3v, index, live)
        _assert_text_answers(s3v, index, live)
        segments = engine_client(server.endpoint).call("Pgs3vDescribeIndexEngine", index)["engine"]["segments"]
        # Segments numbered past their count: merges happened, not only folds.
        assert segments and any(int(s["name"].split("-")[1]) > len(segments) for s in segments)
    finally:
        server.stop()
