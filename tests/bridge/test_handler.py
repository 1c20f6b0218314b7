"""The handler called directly, as a plain function, against the real store."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from pgs3v.bridge.handler import handler
from pgs3v.bridge.store_client import reset_store_client, store_client
from pgs3v.store.process import free_port
from tests.bridge.conftest import set_bridge_environment, unique, vectors

pytestmark = pytest.mark.usefixtures("in_process_bridge")


def run(operation: str, request: Any) -> dict[str, Any]:
    """The handler's answer, checked to survive Lambda's JSON serialisation unchanged."""
    answer = handler({"operation": operation, "request": request}, None)
    assert json.loads(json.dumps(answer)) == answer
    return answer


def test_every_operation_in_botocores_model_is_accepted() -> None:
    model = boto3.session.Session().client("s3vectors", region_name="us-east-1").meta.service_model
    assert sorted(store_client().methods) == sorted(model.operation_names)
    assert len(model.operation_names) >= 22


def test_round_trip_of_a_bucket_an_index_and_vectors() -> None:
    bucket, index = unique("direct"), unique("idx")
    assert "vectorBucketArn" in run("CreateVectorBucket", {"vectorBucketName": bucket})["response"]
    run("CreateIndex", {"vectorBucketName": bucket, "indexName": index, "dataType": "float32", "dimension": 4,
                        "distanceMetric": "cosine"})
    names = {"vectorBucketName": bucket, "indexName": index}
    assert run("PutVectors", {**names, "vectors": vectors(10)}) == {"response": {}}
    found = run("QueryVectors", {**names, "topK": 2, "queryVector": {"float32": [1.0, 3.0, 3.5, 2.0]},
                                 "filter": {"n": {"$gte": 3}}, "returnDistance": True})["response"]["vectors"]
    assert found[0]["key"] == "v3" and found[0]["distance"] == pytest.approx(0.0, abs=1e-6)
    listed = run("ListVectorBuckets", {})["response"]["vectorBuckets"]
    created = next(entry for entry in listed if entry["vectorBucketName"] == bucket)
    assert isinstance(created["creationTime"], str)
    tagged = run("TagResource", {"resourceArn": created["vectorBucketArn"], "tags": {"team": "search"}})
    assert tagged == {"response": {}}
    tags = run("ListTagsForResource", {"resourceArn": created["vectorBucketArn"]})["response"]["tags"]
    assert tags == {"team": "search"}


def test_api_errors_are_returned_not_raised() -> None:
    answer = run("GetIndex", {"vectorBucketName": unique("nobucket"), "indexName": "some-index"})
    assert answer["error"]["code"] == "NotFoundException" and answer["error"]["httpStatus"] == 404


@pytest.mark.parametrize(("event", "path"), [
    ({"operation": "DropEverything", "request": {}}, "/operation"),
    ({"operation": "query_vectors", "request": {}}, "/operation"),
    ({"request": {}}, "/operation"),
    ({"operation": "ListVectorBuckets"}, "/request"),
    ({"operation": "ListVectorBuckets", "request": [1]}, "/request"),
    ("not an object", "/"),
])
def test_a_malformed_event_is_a_validation_exception(event: Any, path: str) -> None:
    answer = handler(event, None)
    assert answer["error"]["code"] == "ValidationException" and answer["error"]["httpStatus"] == 400
    assert answer["error"]["fieldList"][0]["path"] == path


def test_parameter_validation_errors_name_the_item_in_the_whole_request() -> None:
    batch = vectors(1100)
    batch[1050]["data"] = {"float32": ["not a number"]}
    answer = run("PutVectors", {"vectorBucketName": unique("nobucket"), "indexName": "some-index",
                                "vectors": batch})
    assert answer["error"]["code"] == "ValidationException"
    assert "vectors[1050].data.float32[0]" in answer["error"]["message"]
    assert "Unknown parameter" in run("ListVectorBuckets", {"colour": "blue"})["error"]["message"]


@pytest.fixture
def silent_listener() -> Iterator[socket.socket]:
    """A port that accepts connections and never answers, like a hung store."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener


def test_a_store_that_does_not_answer_is_service_unavailable_after_the_read_timeout(
    monkeypatch: pytest.MonkeyPatch, silent_listener: socket.socket
) -> None:
    endpoint = f"http://127.0.0.1:{silent_listener.getsockname()[1]}"
    set_bridge_environment(monkeypatch, endpoint, PGS3V_BRIDGE_READ_TIMEOUT="0.3")
    answer = run("ListVectorBuckets", {})
    assert answer == {"error": {"code": "ServiceUnavailableException", "httpStatus": 503,
                                "message": f"the vector store at {endpoint} did not answer within 0.3 s"}}


def test_a_store_that_is_down_is_service_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    set_bridge_environment(monkeypatch, endpoint)
    error = run("GetIndex", {"vectorBucketName": "some-bucket", "indexName": "some-index"})["error"]
    assert error["code"] == "ServiceUnavailableException" and error["httpStatus"] == 503
    assert error["message"].startswith(f"the vector store at {endpoint} is unreachable: ")


def test_the_client_is_built_once_per_container() -> None:
    first = store_client()
    assert store_client() is first
    reset_store_client()
    assert store_client() is not first
