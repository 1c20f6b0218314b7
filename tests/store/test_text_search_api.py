"""Index modes, full-text search configurations and QueryVectors' text fields: AWS's rules, AWS's errors.

Through boto3's own client against the real server. What AWS documents and what pgs3v chose where
it is silent: docs/full-text-notes.md, "The API half". Wording is asserted where it is the store's
own choice too, so a change of it is a deliberate one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import orjson
import pytest

from pgs3v.store.storage.catalog import CATALOG_FILE, BucketRecord, Catalog, IndexRecord, mark_text_search_active
from tests.support import StoreProcess, client, error_of

Q = {"float32": [1.0, 0.0, 0.0, 0.0]}
TEXT = {"metadataKey": "body", "text": "hello world"}
CLASSIC_ONLY = (
    "You can set the mode to CLASSIC only for a vector index in a vector bucket created before September 30, 2026"
)


def _fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def invalid(call: Any, **kwargs: Any) -> dict[str, Any]:
    """The response of a call that must be a 400 ValidationException."""
    code, status, response = error_of(call, **kwargs)
    assert (code, status) == ("ValidationException", 400), response["Error"]
    return response


def message(response: dict[str, Any]) -> str:
    return str(response["Error"]["Message"])


def field(response: dict[str, Any]) -> tuple[str, str]:
    """The path and message of the error's one field."""
    [only] = response["fieldList"]
    return only["path"], only["message"]


def _create(s3v: Any, bucket: str, **metadata: Any) -> dict[str, str]:
    name = _fresh("idx")
    s3v.create_index(vectorBucketName=bucket, indexName=name, dataType="float32", dimension=4,
                     distanceMetric="cosine", **({"metadataConfiguration": metadata} if metadata else {}))
    return {"vectorBucketName": bucket, "indexName": name}


def _text_configurations(s3v: Any, index: dict[str, str]) -> Any:
    return s3v.get_index(**index)["index"].get("metadataConfiguration", {}).get("textSearchConfigurations")


@pytest.fixture
def searchable(s3v: Any, bucket: str) -> dict[str, str]:
    """An ENHANCED index (its bucket is new) with "body" searchable and non-filterable, "title" searchable in French."""
    return _create(s3v, bucket, nonFilterableMetadataKeys=["body"],
                   textSearchConfigurations=[{"metadataKey": "body"}, {"metadataKey": "title", "language": "fr"}])


# --- index modes ---------------------------------------------------------------------------------


def test_a_new_bucket_gives_its_indexes_enhanced_and_its_default_applies_to_later_indexes(s3v: Any,
                                                                                       bucket: str) -> None:
    assert s3v.get_vector_bucket(vectorBucketName=bucket)["vectorBucket"]["defaultIndexMode"] == "ENHANCED"
    first = _create(s3v, bucket)
    assert s3v.get_index(**first)["index"]["indexMode"] == "ENHANCED"
    s3v.put_vector_bucket_default_index_mode(vectorBucketName=bucket, defaultIndexMode="CLASSIC")
    assert s3v.get_vector_bucket(vectorBucketName=bucket)["vectorBucket"]["defaultIndexMode"] == "CLASSIC"
    second = _create(s3v, bucket)
    assert [s3v.get_index(**i)["index"]["indexMode"] for i in (first, second)] == ["ENHANCED", "CLASSIC"]
    # ListIndexes' summaries have no mode in the model; GetIndex is where it shows.
    assert all("indexMode" not in i for i in s3v.list_indexes(vectorBucketName=bucket)["indexes"])


def test_update_index_mode_sets_classic_only_in_buckets_created_before_the_cutoff(s3v: Any, bucket: str) -> None:
    s3v.put_vector_bucket_default_index_mode(vectorBucketName=bucket, defaultIndexMode="CLASSIC")
    index = _create(s3v, bucket)
    s3v.update_index_mode(**index, indexMode="ENHANCED")
    assert s3v.get_index(**index)["index"]["indexMode"] == "ENHANCED"
    s3v.update_index_mode(**index, indexMode="ENHANCED")  # already so: harmless
    response = invalid(s3v.update_index_mode, **index, indexMode="CLASSIC")
    assert message(response) == f"1 validation error detected. {CLASSIC_ONLY}"
    assert field(response) == ("/indexMode", CLASSIC_ONLY)
    assert s3v.get_index(**index)["index"]["indexMode"] == "ENHANCED"


@pytest.fixture
def older_store(tmp_path: Path) -> Iterator[Any]:
    """A store whose catalog holds bucket "older", created on 2026-09-01 (before AWS's cutoff), and its client."""
    data_dir = tmp_path / "store"
    data_dir.mkdir()
    created = 1788220800.0  # 2026-09-01T00:00:00Z
    older = BucketRecord("older", created, {"sseType": "AES256"})
    (data_dir / CATALOG_FILE).write_bytes(orjson.dumps({"version": 1, "buckets": [asdict(older)], "indexes": []}))
    server = StoreProcess(data_dir).start()
    try:
        yield client(server.endpoint)
    finally:
        server.stop()


def test_an_older_bucket_defaults_to_classic_and_may_go_back_to_it(older_store: Any) -> None:
    s3v = older_store
    assert s3v.get_vector_bucket(vectorBucketName="older")["vectorBucket"]["defaultIndexMode"] == "CLASSIC"
    index = _create(s3v, "older")
    assert s3v.get_index(**index)["index"]["indexMode"] == "CLASSIC"
    # Full-text search needs ENHANCED, at creation as later.
    response = invalid(s3v.create_index, vectorBucketName="older", indexName="texts", dataType="float32",
                       dimension=4, distanceMetric="cosine",
                       metadataConfiguration={"textSearchConfigurations": [{"metadataKey": "body"}]})
    assert field(response)[0] == "/metadataConfiguration/textSearchConfigurations"
    response = invalid(s3v.update_metadata_configuration, **index,
                       add={"textSearchConfigurations": [{"metadataKey": "body"}]})
    assert "ENHANCED" in message(response)
    response = invalid(s3v.query_vectors, **index, topK=1, queryTexts=[TEXT])
    assert field(response)[0] == "/queryTexts" and "ENHANCED" in message(response)
    # A CLASSIC index takes either queryMode; ENHANCED then CLASSIC again is allowed here.
    s3v.put_vectors(**index, vectors=[{"key": "a", "data": Q}])
    for mode in ("CLASSIC", "ENHANCED"):
        assert [v["key"] for v in s3v.query_vectors(**index, topK=1, queryVector=Q, queryMode=mode)["vectors"]] == ["a"]
    s3v.update_index_mode(**index, indexMode="ENHANCED")
    s3v.update_metadata_configuration(**index, add={"textSearchConfigurations": [{"metadataKey": "body"}]})
    s3v.update_index_mode(**index, indexMode="CLASSIC")
    assert s3v.get_index(**index)["index"]["indexMode"] == "CLASSIC"


def test_unknown_modes_are_enum_errors(raw_s3v: Any, bucket: str) -> None:
    index = _create(raw_s3v, bucket)
    wanted = "Member must satisfy enum value set: [CLASSIC, ENHANCED]"
    for call, extra in ((raw_s3v.update_index_mode, {**index, "indexMode": "FAST"}),
                        (raw_s3v.put_vector_bucket_default_index_mode,
                         {"vectorBucketName": bucket, "defaultIndexMode": "enhanced"}),
                        (raw_s3v.query_vectors, {**index, "topK": 1, "queryVector": Q, "queryMode": "FAST"})):
        assert wanted in message(invalid(call, **extra))


# --- text search configurations ------------------------------------------------------------------


def test_create_index_keeps_configurations_active_with_the_language_as_given(s3v: Any,
                                                                              searchable: dict[str, str]) -> None:
    assert _text_configurations(s3v, searchable) == [
        {"metadataKey": "body", "status": "ACTIVE"},
        {"metadataKey": "title", "language": "fr", "status": "ACTIVE"},
    ]
    index = s3v.get_index(**searchable)["index"]
    assert index["metadataConfiguration"]["nonFilterableMetadataKeys"] == ["body"]


def test_a_status_sent_is_ignored(s3v: Any, bucket: str) -> None:
    index = _create(s3v, bucket, textSearchConfigurations=[{"metadataKey": "body", "status": "BUILDING"}])
    assert _text_configurations(s3v, index) == [{"metadataKey": "body", "status": "ACTIVE"}]


@pytest.mark.parametrize("language", ["en", "fr", "es", "pt", "it", "de", "nl", "zh", "ja", "ko"])
def test_every_language_of_the_model(s3v: Any, bucket: str, language: str) -> None:
    index = _create(s3v, bucket, textSearchConfigurations=[{"metadataKey": "t", "language": language}])
    assert _text_configurations(s3v, index) == [{"metadataKey": "t", "language": language, "status": "ACTIVE"}]


def test_configuration_shape_errors(raw_s3v: Any, bucket: str) -> None:
    def create(*configurations: dict[str, Any]) -> dict[str, Any]:
        return invalid(raw_s3v.create_index, vectorBucketName=bucket, indexName=_fresh("bad"), dataType="float32",
                       dimension=4, distanceMetric="cosine",
                       metadataConfiguration={"textSearchConfigurations": list(configurations)})

    path = "/metadataConfiguration/textSearchConfigurations"
    response = create({"metadataKey": "t", "language": "EN"})
    assert field(response)[0] == f"{path}/0/language"
    assert "[en, fr, es, pt, it, de, nl, zh, ja, ko]" in message(response)
    assert field(create({"metadataKey": ""}))[0] == f"{path}/0/metadataKey"
    assert field(create({"metadataKey": "k" * 64}))[0] == f"{path}/0/metadataKey"
    assert field(create({"language": "en"}))[0] == f"{path}/0/metadataKey"
    response = create(*({"metadataKey": f"k{i}"} for i in range(11)))
    assert field(response) == (path, f"Value with length 11 at '{path}' failed to satisfy constraint: "
                                     "Member must have length between 0 and 10, inclusive")
    response = create({"metadataKey": "a"}, {"metadataKey": "b", "language": "de"}, {"metadataKey": "a"})
    assert field(response) == (f"{path}/2/metadataKey", "Metadata key 'a' appears more than once: a key can have "
                                                        "at most one text search configuration")
    assert raw_s3v.list_indexes(vectorBucketName=bucket)["indexes"] == []  # none of them was made


def test_ten_configurations_at_creation(s3v: Any, bucket: str) -> None:
    index = _create(s3v, bucket, textSearchConfigurations=[{"metadataKey": f"k{i}"} for i in range(10)])
    assert len(_text_configurations(s3v, index)) == 10


def test_update_takes_either_add_or_delete(s3v: Any, raw_s3v: Any, searchable: dict[str, str]) -> None:
    wanted = "Must specify either add or delete but not both"
    both = {"add": {"textSearchConfigurations": [{"metadataKey": "x"}]},
            "delete": {"textSearchConfigurations": [{"metadataKey": "title"}]}}
    for request in (both, {}):
        assert message(invalid(raw_s3v.update_metadata_configuration, **searchable, **request)) == wanted
    assert len(_text_configurations(s3v, searchable)) == 2  # nothing changed
    # An empty add (the model's list may have 0 items) or an add without a list changes nothing.
    empty_adds: list[dict[str, Any]] = [{"textSearchConfigurations": []}, {}]
    for add in empty_adds:
        s3v.update_metadata_configuration(**searchable, add=add)
    assert len(_text_configurations(s3v, searchable)) == 2


def test_add_on_an_index_without_vectors_is_active_at_once_and_delete_removes(s3v: Any,
                                                                             searchable: dict[str, str]) -> None:
    arn = s3v.update_metadata_configuration(
        **searchable, add={"textSearchConfigurations": [{"metadataKey": "summary", "language": "ja"}]})["indexArn"]
    assert arn == s3v.get_index(**searchable)["index"]["indexArn"]
    assert _text_configurations(s3v, searchable)[-1] == {"metadataKey": "summary", "language": "ja",
                                                         "status": "ACTIVE"}
    s3v.update_metadata_configuration(indexArn=arn, delete={"textSearchConfigurations": [{"metadataKey": "body"},
                                                                                         {"metadataKey": "title"}]})
    assert [c["metadataKey"] for c in _text_configurations(s3v, searchable)] == ["summary"]
    s3v.update_metadata_configuration(indexArn=arn, delete={"textSearchConfigurations": [{"metadataKey": "summary"}]})
    assert _text_configurations(s3v, searchable) is None
    # The non-filterable keys stay whatever happens to the text search configurations.
    assert s3v.get_index(indexArn=arn)["index"]["metadataConfiguration"]["nonFilterableMetadataKeys"] == ["body"]


def test_add_on_an_index_with_vectors_is_building(s3v: Any, searchable: dict[str, str]) -> None:
    s3v.put_vectors(**searchable, vectors=[{"key": "a", "data": Q, "metadata": {"summary": "some text"}}])
    s3v.update_metadata_configuration(**searchable, add={"textSearchConfigurations": [{"metadataKey": "summary"}]})
    # BUILDING until the engine's backfill (of one row here: it may be over already) marks it ACTIVE
    # (tests/store/test_text_queries.py watches a long one).
    status = _text_configurations(s3v, searchable)[-1]["status"]
    assert status in {"BUILDING", "ACTIVE"}
    if status == "BUILDING":
        code, _, response = error_of(s3v.query_vectors, **searchable, topK=1,
                                     queryTexts=[{"metadataKey": "summary", "text": "t"}])
        # The backfill may finish between the two calls.
        if code == "ValidationException":
            assert field(response) == ("/queryTexts/0/metadataKey",
                                       "The text search configuration of metadata key 'summary' is BUILDING: its "
                                       "existing vectors are being indexed and it does not serve queries yet")
    # A BUILDING (or just built) key can be deleted.
    s3v.update_metadata_configuration(**searchable, delete={"textSearchConfigurations": [{"metadataKey": "summary"}]})
    assert [c["metadataKey"] for c in _text_configurations(s3v, searchable)] == ["body", "title"]


def test_update_errors(s3v: Any, raw_s3v: Any, bucket: str, searchable: dict[str, str]) -> None:
    add, delete = "/add/textSearchConfigurations", "/delete/textSearchConfigurations"
    code, status, response = error_of(s3v.update_metadata_configuration, **searchable,
                                      add={"textSearchConfigurations": [{"metadataKey": "title", "language": "de"}]})
    assert (code, status, message(response)) == (
        "ConflictException", 409, "Text search is already configured for metadata key 'title'")
    response = invalid(s3v.update_metadata_configuration, **searchable,
                       delete={"textSearchConfigurations": [{"metadataKey": "absent"}]})
    assert field(response) == (f"{delete}/0/metadataKey", "Text search is not configured for metadata key 'absent'")
    response = invalid(s3v.update_metadata_configuration, **searchable,
                       add={"textSearchConfigurations": [{"metadataKey": "x"}, {"metadataKey": "x"}]})
    assert field(response)[0] == f"{add}/1/metadataKey"
    response = invalid(s3v.update_metadata_configuration, **searchable,
                       delete={"textSearchConfigurations": [{"metadataKey": "body"}, {"metadataKey": "body"}]})
    assert field(response)[0] == f"{delete}/1/metadataKey"
    # Ten per index in all: two are configured, so nine more is one too many.
    response = invalid(s3v.update_metadata_configuration, **searchable,
                       add={"textSearchConfigurations": [{"metadataKey": f"k{i}"} for i in range(9)]})
    assert field(response) == (add, "A vector index can have at most 10 text search configurations, "
                                     "this request would leave 11")
    response = invalid(raw_s3v.update_metadata_configuration, **searchable,
                       add={"textSearchConfigurations": [{"metadataKey": "x", "language": "xx"}]})
    assert field(response)[0] == f"{add}/0/language"
    response = invalid(raw_s3v.update_metadata_configuration, **searchable, delete={"textSearchConfigurations": []})
    assert field(response)[0] == delete
    assert [c["metadataKey"] for c in _text_configurations(s3v, searchable)] == ["body", "title"]
    code, status, _ = error_of(s3v.update_metadata_configuration, vectorBucketName=bucket, indexName="no-such-index",
                               add={"textSearchConfigurations": [{"metadataKey": "x"}]})
    assert (code, status) == ("NotFoundException", 404)


def test_update_needs_an_enhanced_index(s3v: Any, bucket: str) -> None:
    s3v.put_vector_bucket_default_index_mode(vectorBucketName=bucket, defaultIndexMode="CLASSIC")
    index = _create(s3v, bucket)
    response = invalid(s3v.update_metadata_configuration, **index,
                       add={"textSearchConfigurations": [{"metadataKey": "body"}]})
    assert message(response) == ("Full-text search requires a vector index in ENHANCED mode: change the index's "
                                 "mode with UpdateIndexMode first")
    s3v.update_index_mode(**index, indexMode="ENHANCED")
    s3v.update_metadata_configuration(**index, add={"textSearchConfigurations": [{"metadataKey": "body"}]})
    assert _text_configurations(s3v, index) == [{"metadataKey": "body", "status": "ACTIVE"}]


def test_the_engine_marks_a_built_key_active(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path)
    building = {"metadataKey": "body", "status": "BUILDING"}
    with catalog.lock:
        record = catalog.indexes[("b", "i")] = IndexRecord(
            "b", "i", "sid", 1.0, "float32", 4, "cosine",
            {"textSearchConfigurations": [building, {"metadataKey": "t", "language": "fr", "status": "BUILDING"}]}, {})
        catalog.save(record)
    assert mark_text_search_active(catalog, "sid", "body")
    assert not mark_text_search_active(catalog, "sid", "body")  # ACTIVE already
    assert not mark_text_search_active(catalog, "sid", "absent")
    assert not mark_text_search_active(catalog, "other-sid", "t")  # a deleted (or re-created) index
    reopened = Catalog(tmp_path).indexes[("b", "i")]
    assert reopened.text_search_configurations == [{"metadataKey": "body", "status": "ACTIVE"},
                                                   {"metadataKey": "t", "language": "fr", "status": "BUILDING"}]


def test_a_catalog_written_before_text_search_still_reads(tmp_path: Path) -> None:
    older = IndexRecord("b", "i", "sid", 1.0, "float32", 4, "cosine", {"nonFilterableMetadataKeys": ["x"]}, {})
    raw = asdict(older)
    del raw["index_mode"]  # catalogs older than index modes
    (tmp_path / CATALOG_FILE).write_bytes(orjson.dumps({"version": 1, "buckets": [], "indexes": [raw]}))
    record = Catalog(tmp_path).indexes[("b", "i")]
    assert record.index_mode == "CLASSIC" and record.text_search_configurations == []
    assert record.text_search_status("x") is None


# --- QueryVectors --------------------------------------------------------------------------------


def test_a_query_needs_a_vector_or_texts(raw_s3v: Any, searchable: dict[str, str]) -> None:
    assert message(invalid(raw_s3v.query_vectors, **searchable, topK=1)) == (
        "Must specify queryVector, queryTexts or both")


def test_query_text_shape_errors(raw_s3v: Any, searchable: dict[str, str]) -> None:
    def query(texts: Any, **extra: Any) -> dict[str, Any]:
        return invalid(raw_s3v.query_vectors, **searchable, topK=1, queryTexts=texts, **extra)

    assert field(query([])) == ("/queryTexts", "Value with length 0 at '/queryTexts' failed to satisfy constraint: "
                                               "Member must have length between 1 and 10, inclusive")
    eleven = [{"metadataKey": f"k{i}", "text": "t"} for i in range(11)]
    assert field(query(eleven))[1].endswith("Member must have length between 1 and 10, inclusive")
    path, text = field(query([{"metadataKey": "body", "text": "x" * 1025}]))
    assert (path, text) == ("/queryTexts/0/text", "Value with length 1025 at '/queryTexts/0/text' failed to satisfy "
                                                  "constraint: Member must have length between 1 and 1024, inclusive")
    assert field(query([{"metadataKey": "body", "text": ""}]))[0] == "/queryTexts/0/text"
    assert field(query([{"metadataKey": "body"}]))[0] == "/queryTexts/0/text"
    assert field(query([{"text": "t"}]))[0] == "/queryTexts/0/metadataKey"
    assert field(query([TEXT, {"metadataKey": "title", "text": "a"}, {**TEXT, "text": "again"}])) == (
        "/queryTexts/2/metadataKey", "Metadata key 'body' appears more than once in queryTexts: each entry must "
                                     "target a distinct searchable metadata key")


def test_query_texts_need_configured_keys(s3v: Any, searchable: dict[str, str]) -> None:
    response = invalid(s3v.query_vectors, **searchable, topK=1,
                       queryTexts=[TEXT, {"metadataKey": "genre", "text": "drama"}])
    assert field(response) == ("/queryTexts/1/metadataKey", "Metadata key 'genre' is not configured for text search")


def test_query_mode_classic_on_an_enhanced_index(s3v: Any, searchable: dict[str, str]) -> None:
    for extra in ({"queryVector": Q}, {"queryTexts": [TEXT]}):
        response = invalid(s3v.query_vectors, **searchable, topK=1, queryMode="CLASSIC", **extra)
        assert field(response) == ("/queryMode", "You can't specify CLASSIC for an ENHANCED index")
    s3v.query_vectors(**searchable, topK=1, queryVector=Q, queryMode="ENHANCED")


def test_a_valid_text_query_meets_the_engine_last(s3v: Any, searchable: dict[str, str]) -> None:
    # AWS's checks come first: a bad vector, filter or token is named before any search runs.
    wrong = invalid(s3v.query_vectors, **searchable, topK=1, queryTexts=[TEXT], queryVector={"float32": [1.0]})
    assert field(wrong)[0] == "/queryVector"
    bad_filter = invalid(s3v.query_vectors, **searchable, topK=1, queryTexts=[TEXT], filter={"body": "x"})
    assert message(bad_filter).startswith("Invalid filter: ")
    token = invalid(s3v.query_vectors, **searchable, topK=1, queryTexts=[TEXT], nextToken="garbage")
    assert field(token)[0] == "/nextToken"
    # Then the search (of an empty index here; tests/store/test_text_queries.py checks the answers).
    for extra in ({}, {"queryVector": Q}, {"returnScores": True, "returnDistance": True, "queryMode": "ENHANCED",
                                            "filter": {"title": "t"}}):
        response = s3v.query_vectors(**searchable, topK=5, queryTexts=[TEXT], **extra)
        assert response["vectors"] == [] and "nextToken" not in response


def test_a_vector_query_token_does_not_page_a_hybrid_query(s3v: Any, searchable: dict[str, str]) -> None:
    # queryTexts is among the fields a nextToken is bound to.
    s3v.put_vectors(**searchable, vectors=[{"key": f"k{i}", "data": Q} for i in range(101)])
    token = s3v.query_vectors(**searchable, topK=101, queryVector=Q)["nextToken"]
    response = invalid(s3v.query_vectors, **searchable, topK=101, queryVector=Q, queryTexts=[TEXT], nextToken=token)
    assert field(response)[0] == "/nextToken" and "different query" in message(response)


def test_return_scores_adds_nothing_to_a_vector_query(s3v: Any, searchable: dict[str, str]) -> None:
    s3v.put_vectors(**searchable, vectors=[{"key": "a", "data": Q}])
    [result] = s3v.query_vectors(**searchable, topK=1, queryVector=Q, returnScores=True, returnDistance=True)["vectors"]
    assert set(result) == {"key", "distance"}
