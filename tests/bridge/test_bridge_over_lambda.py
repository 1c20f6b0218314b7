"""S3 Vectors operations through boto3's lambda client, the function host, the bridge and the real store."""

from __future__ import annotations

import time
from typing import Any

from tests.bridge.conftest import call, invoke, unique, vectors


def test_bucket_and_index_are_created_through_the_bridge(lambda_client: Any, s3v: Any) -> None:
    bucket, index = unique("made"), unique("idx")
    created = call(lambda_client, "CreateVectorBucket", {"vectorBucketName": bucket})
    assert created["response"]["vectorBucketArn"].endswith(f":bucket/{bucket}")
    made = call(lambda_client, "CreateIndex", {
        "vectorBucketName": bucket, "indexName": index, "dataType": "float32", "dimension": 4,
        "distanceMetric": "euclidean",
    })
    assert made["response"]["indexArn"].endswith(f":bucket/{bucket}/index/{index}")

    described = call(lambda_client, "GetIndex", {"indexArn": made["response"]["indexArn"]})["response"]["index"]
    assert described["dimension"] == 4 and described["distanceMetric"] == "euclidean"
    # Datetimes arrive as ISO-8601 strings, and ResponseMetadata is gone.
    assert isinstance(described["creationTime"], str) and described["creationTime"].endswith("Z")
    assert "ResponseMetadata" not in made["response"]
    assert s3v.get_index(vectorBucketName=bucket, indexName=index)["index"]["dimension"] == 4


def test_a_put_of_1200_vectors_in_one_event_is_written_in_batches(lambda_client: Any, s3v: Any,
                                                                  bridge_index: dict[str, str]) -> None:
    answer = call(lambda_client, "PutVectors", {**bridge_index, "vectors": vectors(1200)})
    assert answer == {"response": {}}

    keys: set[str] = set()
    for page in s3v.get_paginator("list_vectors").paginate(**bridge_index):
        keys.update(vector["key"] for vector in page["vectors"])
    assert keys == {f"v{number}" for number in range(1200)}


def test_query_with_a_filter_returns_matching_neighbours_nearest_first(lambda_client: Any,
                                                                      bridge_index: dict[str, str]) -> None:
    call(lambda_client, "PutVectors", {**bridge_index, "vectors": vectors(300)})
    answer = call(lambda_client, "QueryVectors", {
        **bridge_index, "topK": 5, "queryVector": {"float32": [1.0, 7.0, 7.5, 2.0]},
        "filter": {"$and": [{"parity": "odd"}, {"n": {"$lt": 100}}]},
        "returnMetadata": True, "returnDistance": True,
    })["response"]
    found = answer["vectors"]
    assert len(found) == 5
    assert all(vector["metadata"]["parity"] == "odd" and vector["metadata"]["n"] < 100 for vector in found)
    assert [vector["distance"] for vector in found] == sorted(vector["distance"] for vector in found)
    assert found[0]["key"] == "v7"  # [1, 7, 7.5, 2] is exactly v7's vector
    assert answer["distanceMetric"] == "cosine"


def test_get_of_250_keys_is_split_and_merged_in_order(lambda_client: Any, bridge_index: dict[str, str]) -> None:
    call(lambda_client, "PutVectors", {**bridge_index, "vectors": vectors(260)})
    wanted = [f"v{number}" for number in reversed(range(250))]
    answer = call(lambda_client, "GetVectors", {**bridge_index, "keys": wanted, "returnData": True,
                                                "returnMetadata": True})["response"]
    assert [vector["key"] for vector in answer["vectors"]] == wanted
    assert answer["vectors"][0]["metadata"] == {"n": 249, "parity": "odd"}
    assert answer["vectors"][0]["data"]["float32"] == [1.0, 55.0, 2.5, 2.0]


def test_delete_of_more_than_500_keys_removes_them_all(lambda_client: Any, s3v: Any,
                                                       bridge_index: dict[str, str]) -> None:
    call(lambda_client, "PutVectors", {**bridge_index, "vectors": vectors(700)})
    answer = call(lambda_client, "DeleteVectors", {**bridge_index, "keys": [f"v{n}" for n in range(650)]})
    assert answer == {"response": {}}
    left = s3v.list_vectors(**bridge_index)["vectors"]
    assert sorted(vector["key"] for vector in left) == sorted(f"v{n}" for n in range(650, 700))


def test_not_found_surfaces_with_its_code_message_and_status(lambda_client: Any) -> None:
    answer = call(lambda_client, "GetVectorBucket", {"vectorBucketName": unique("missing")})
    assert answer == {"error": {"code": "NotFoundException", "httpStatus": 404,
                                "message": "The specified vector bucket could not be found"}}


def test_validation_errors_carry_the_field_list_of_the_whole_request(lambda_client: Any,
                                                                    bridge_index: dict[str, str]) -> None:
    batch = vectors(1200)
    batch[700]["data"] = {"float32": [1.0, 2.0]}  # wrong dimension, in the second call of three
    error = call(lambda_client, "PutVectors", {**bridge_index, "vectors": batch})["error"]
    assert error["code"] == "ValidationException" and error["httpStatus"] == 400
    assert [entry["path"] for entry in error["fieldList"]] == ["/vectors/700"]
    assert "'v700'" in error["message"] and "500 before them were already written" in error["message"]


def test_botocore_parameter_validation_becomes_a_validation_exception(lambda_client: Any,
                                                                     bridge_index: dict[str, str]) -> None:
    error = call(lambda_client, "QueryVectors", {**bridge_index, "topK": "ten",
                                                 "queryVector": {"float32": [1, 2, 3, 4]}})["error"]
    assert error["code"] == "ValidationException" and error["httpStatus"] == 400
    assert "Invalid type for parameter topK" in error["message"]


def test_event_invocation_answers_202_and_the_write_happens(lambda_client: Any, s3v: Any,
                                                            bridge_index: dict[str, str]) -> None:
    result = invoke(lambda_client, {"operation": "PutVectors", "request": {**bridge_index, "vectors": vectors(3)}},
                    InvocationType="Event")
    assert result.status == 202 and result.payload is None

    deadline = time.monotonic() + 60
    while not s3v.get_vectors(**bridge_index, keys=["v0", "v1", "v2"])["vectors"]:
        assert time.monotonic() < deadline, "the Event invocation never wrote its vectors"
        time.sleep(0.05)
    assert len(s3v.get_vectors(**bridge_index, keys=["v0", "v1", "v2"])["vectors"]) == 3


def test_dry_run_answers_204_and_runs_nothing(lambda_client: Any, s3v: Any) -> None:
    bucket = unique("dry")
    result = invoke(lambda_client, {"operation": "CreateVectorBucket", "request": {"vectorBucketName": bucket}},
                    InvocationType="DryRun")
    assert result.status == 204 and result.payload is None
    assert bucket not in [b["vectorBucketName"] for b in s3v.list_vector_buckets()["vectorBuckets"]]


def test_log_tail_shows_the_bridge_summary_line(lambda_client: Any, bridge_index: dict[str, str]) -> None:
    result = invoke(lambda_client, {"operation": "PutVectors", "request": {**bridge_index, "vectors": vectors(501)}},
                    LogType="Tail")
    assert result.payload == {"response": {}}
    assert result.log is not None
    request_id = result.raw["ResponseMetadata"]["RequestId"]
    lines = result.log.splitlines()
    assert lines[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert any(line.startswith("[INFO]") and "PutVectors: ok in" in line and "(2 calls)" in line for line in lines)
    assert lines[-1].startswith(f"REPORT RequestId: {request_id}")
