"""Splitting oversized requests and merging the answers, without a server."""

from __future__ import annotations

from typing import Any

from pgs3v.bridge import batching


def test_requests_within_the_limits_are_sent_as_they_are() -> None:
    request = {"indexArn": "arn", "vectors": [{"key": "a"}] * 500}
    assert batching.split("PutVectors", request) == [batching.Part(request, 0, 500)]
    query = {"indexArn": "arn", "topK": 3}
    assert batching.split("QueryVectors", query) == [batching.Part(query, 0, 0)]


def test_puts_and_deletes_split_by_500_and_gets_by_100_in_order() -> None:
    keys = [f"k{n}" for n in range(1201)]
    puts = batching.split("PutVectors", {"indexArn": "arn", "vectors": [{"key": key} for key in keys]})
    assert [(part.offset, part.count) for part in puts] == [(0, 500), (500, 500), (1000, 201)]
    assert [v["key"] for part in puts for v in part.request["vectors"]] == keys
    assert all(part.request["indexArn"] == "arn" for part in puts)
    deletes = batching.split("DeleteVectors", {"indexArn": "arn", "keys": keys})
    assert [part.count for part in deletes] == [500, 500, 201]
    gets = batching.split("GetVectors", {"indexArn": "arn", "keys": keys[:250], "returnData": True})
    assert [part.count for part in gets] == [100, 100, 50]
    assert all(part.request["returnData"] for part in gets)


def test_get_answers_are_concatenated_and_write_answers_collapse() -> None:
    answers: list[dict[str, Any]] = [{"vectors": [{"key": "a"}]}, {"vectors": []}, {"vectors": [{"key": "c"}]}]
    assert batching.merge("GetVectors", answers) == {"vectors": [{"key": "a"}, {"key": "c"}]}
    assert batching.merge("PutVectors", [{}, {}]) == {}


def test_field_paths_of_a_later_part_are_renumbered() -> None:
    field_list = [{"path": "/vectors/12/data", "message": "bad"}, {"path": "/indexName", "message": "x"}]
    assert batching.rebase_field_list("PutVectors", field_list, 500) == [
        {"path": "/vectors/512/data", "message": "bad"}, {"path": "/indexName", "message": "x"}
    ]
    assert batching.rebase_field_list("DeleteVectors", [{"path": "/keys/3", "message": "m"}], 1000) == [
        {"path": "/keys/1003", "message": "m"}
    ]


def test_a_failure_after_earlier_writes_says_what_was_written() -> None:
    part = batching.Part({}, 500, 500)
    note = batching.partial_write_note("PutVectors", part, 1200)
    assert "vectors 500-999" in note and "the 500 before them were already written" in note
    assert batching.partial_write_note("PutVectors", batching.Part({}, 0, 500), 1200) == ""
    assert batching.partial_write_note("GetVectors", part, 1200) == ""

