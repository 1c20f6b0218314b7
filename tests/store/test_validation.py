"""Bad requests through boto3 and the real server: the error code, HTTP status and wording AWS uses.

Every rejection is followed by a good request, and no response of any test here may be a 5xx.
Wording is asserted exactly where AWS's is known (docs/S3VECTORS_NOTES.md: public tests checked
against the service); elsewhere the code, status and ``fieldList`` path are.
"""

from __future__ import annotations

import http.client
import json
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HeadersDict
from botocore.credentials import Credentials
from botocore.parsers import create_parser

from tests.support import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, StoreProcess, client, error_of

ACCOUNT_ARN = "arn:aws:s3vectors:us-east-1:000000000000"
INDEX_NOT_FOUND = "The specified index could not be found"
BUCKET_NOT_FOUND = "The specified vector bucket could not be found"
INDEX_ADDRESSING = "Must specify either indexArn or both vectorBucketName and indexName"
BUCKET_ADDRESSING = "Must specify either vectorBucketName or vectorBucketArn but not both"
Q = {"float32": [1.0, 0.0, 0.0, 0.0]}
_MODEL = botocore.session.get_session().get_service_model("s3vectors")


def _fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _still_answers(s3v: Any) -> None:
    assert s3v.list_vector_buckets(maxResults=1)["ResponseMetadata"]["HTTPStatusCode"] == 200


def rejected(call: Any, code: str, status: int, **kwargs: Any) -> dict[str, Any]:
    """The error response of a boto3 call that must fail with ``code``/``status``; the server must go on answering."""
    got_code, got_status, response = error_of(call, **kwargs)
    assert (got_code, got_status) == (code, status), response["Error"]
    _still_answers(call.__self__)
    return response


def invalid(call: Any, **kwargs: Any) -> dict[str, Any]:
    """The response of a call that must be a 400 ValidationException."""
    return rejected(call, "ValidationException", 400, **kwargs)


def shape_error(path: str, rule: str, length: int | None = None) -> str:
    """AWS's wording for one failed shape constraint (lengths are shown, values are not)."""
    shown = "" if length is None else f" with length {length}"
    return f"1 validation error detected. Value{shown} at '{path}' failed to satisfy constraint: Member must {rule}"


def assert_single_field(response: dict[str, Any], path: str, message: str) -> None:
    assert response["Error"]["Message"] == message
    detail = message.removeprefix("1 validation error detected. ")
    assert response["fieldList"] == [{"path": path, "message": detail}]


def _post(endpoint: str, operation: str, body: bytes | Iterable[bytes], signed_body: bytes) -> dict[str, Any]:
    request = AWSRequest(method="POST", url=f"{endpoint}/{operation}", data=signed_body,
                         headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), "s3vectors", REGION).add_auth(request)
    headers = dict(request.prepare().headers)
    chunked = not isinstance(body, bytes)
    if chunked:
        headers.pop("Content-Length", None)
    target = urlsplit(endpoint)
    # The timeout only turns a hung server into a failure instead of a stuck test run.
    connection = http.client.HTTPConnection(target.hostname or "", target.port, timeout=120)
    try:
        connection.request("POST", f"/{operation}", body=body, headers=headers, encode_chunked=chunked)
        reply = connection.getresponse()
        status, headers_in, data = reply.status, HeadersDict(reply.getheaders()), reply.read()
    finally:
        connection.close()
    # What boto3 would make of the reply: botocore's own rest-json parser and the operation's model.
    raw = {"status_code": status, "headers": headers_in, "body": data}
    shape = _MODEL.operation_model(operation).output_shape
    assert shape is not None
    parsed: dict[str, Any] = create_parser("rest-json").parse(raw, shape)
    parsed["headers"], parsed["body"] = headers_in, json.loads(data)
    return parsed


def signed_post(endpoint: str, operation: str, body: bytes | Iterable[bytes], *,
                signed_body: bytes | None = None) -> tuple[str, int, dict[str, Any]]:
    """POST a raw body signed as boto3 signs it: (code, status, response) as botocore parses it.

    The server must answer a good request afterwards.
    """
    if signed_body is None:
        assert isinstance(body, bytes)
        signed_body = body
    response = _post(endpoint, operation, body, signed_body)
    after = _post(endpoint, "ListVectorBuckets", b"{}", b"{}")
    assert after["ResponseMetadata"]["HTTPStatusCode"] == 200
    return response.get("Error", {}).get("Code", ""), response["ResponseMetadata"]["HTTPStatusCode"], response


@pytest.fixture(autouse=True)
def no_server_errors(s3v: Any, raw_s3v: Any) -> Iterator[None]:
    """Fail the test if any boto3 call in it got a 5xx."""
    statuses: list[int] = []

    def record(http_response: Any, **_: Any) -> None:
        statuses.append(http_response.status_code)

    for each in (s3v, raw_s3v):
        each.meta.events.register("after-call.s3vectors", record, unique_id="no-server-errors")
    try:
        yield
    finally:
        for each in (s3v, raw_s3v):
            each.meta.events.unregister("after-call.s3vectors", unique_id="no-server-errors")
    assert all(status < 500 for status in statuses), statuses


def _create_index(s3v: Any, bucket: str, dimension: int = 4, metric: str = "cosine", **extra: Any) -> dict[str, str]:
    name = _fresh("ix")
    s3v.create_index(vectorBucketName=bucket, indexName=name, dataType="float32", dimension=dimension,
                     distanceMetric=metric, **extra)
    return {"vectorBucketName": bucket, "indexName": name}


# --- limits of DESIGN 2.1 ------------------------------------------------------------------------


@pytest.mark.parametrize("dimension", [0, 4097, -1])
def test_dimension_outside_1_to_4096(raw_s3v: Any, bucket: str, dimension: int) -> None:
    response = invalid(raw_s3v.create_index, vectorBucketName=bucket, indexName="dims", dataType="float32",
                       dimension=dimension, distanceMetric="cosine")
    assert_single_field(response, "/dimension", shape_error("/dimension", "be between 1 and 4096, inclusive"))


def test_dimension_4096_is_accepted(s3v: Any, bucket: str) -> None:
    index = _create_index(s3v, bucket, dimension=4096, metric="euclidean")
    assert s3v.get_index(**index)["index"]["dimension"] == 4096
    s3v.put_vectors(**index, vectors=[{"key": "wide", "data": {"float32": [0.5] * 4096}}])
    found = s3v.query_vectors(**index, topK=1, queryVector={"float32": [0.5] * 4096}, returnDistance=True)
    assert [(v["key"], v["distance"]) for v in found["vectors"]] == [("wide", 0.0)]


@pytest.mark.parametrize(("member", "value", "allowed"), [
    ("dataType", "float64", "[float32]"), ("distanceMetric", "dot", "[euclidean, cosine]"),
])
def test_enums_list_the_allowed_set(raw_s3v: Any, bucket: str, member: str, value: str, allowed: str) -> None:
    request = {"dataType": "float32", "distanceMetric": "cosine", member: value}
    response = invalid(raw_s3v.create_index, vectorBucketName=bucket, indexName="enums", dimension=2, **request)
    assert_single_field(response, f"/{member}", shape_error(f"/{member}", f"satisfy enum value set: {allowed}"))


@pytest.mark.parametrize("top_k", [0, 10_001])
def test_top_k_outside_1_to_10000(raw_s3v: Any, s3v: Any, index: dict[str, str], top_k: int) -> None:
    response = invalid(raw_s3v.query_vectors, **index, topK=top_k, queryVector=Q)
    assert_single_field(response, "/topK", shape_error("/topK", "be between 1 and 10000, inclusive"))
    s3v.query_vectors(**index, topK=10_000, queryVector=Q)


@pytest.mark.parametrize(("operation", "member", "most"), [
    ("put_vectors", "vectors", 500), ("delete_vectors", "keys", 500), ("get_vectors", "keys", 100),
])
def test_batch_sizes(raw_s3v: Any, s3v: Any, index: dict[str, str], operation: str, member: str, most: int) -> None:
    def batch(count: int) -> list[Any]:
        if member == "vectors":
            return [{"key": f"k{i}", "data": Q} for i in range(count)]
        return [f"k{i}" for i in range(count)]

    response = invalid(getattr(raw_s3v, operation), **index, **{member: batch(most + 1)})
    assert_single_field(response, f"/{member}", shape_error(
        f"/{member}", f"have length between 1 and {most}, inclusive", length=most + 1))
    invalid(getattr(raw_s3v, operation), **index, **{member: []})
    getattr(s3v, operation)(**index, **{member: batch(most)})


def test_list_vectors_page_size(raw_s3v: Any, s3v: Any, index: dict[str, str]) -> None:
    response = invalid(raw_s3v.list_vectors, **index, maxResults=1001)
    assert_single_field(response, "/maxResults", shape_error("/maxResults", "be between 1 and 1000, inclusive"))
    invalid(raw_s3v.list_vectors, **index, maxResults=0)
    s3v.list_vectors(**index, maxResults=1000)


def test_list_vectors_segments(raw_s3v: Any, s3v: Any, index: dict[str, str]) -> None:
    response = invalid(raw_s3v.list_vectors, **index, segmentCount=17, segmentIndex=0)
    assert_single_field(response, "/segmentCount", shape_error("/segmentCount", "be between 1 and 16, inclusive"))
    invalid(raw_s3v.list_vectors, **index, segmentCount=0, segmentIndex=0)
    for count, position in [(4, 4), (4, 9), (1, 1), (2, -1)]:
        invalid(raw_s3v.list_vectors, **index, segmentCount=count, segmentIndex=position)
    invalid(raw_s3v.list_vectors, **index, segmentCount=4)
    invalid(raw_s3v.list_vectors, **index, segmentIndex=0)
    s3v.list_vectors(**index, segmentCount=16, segmentIndex=15)


def test_key_length(raw_s3v: Any, s3v: Any, index: dict[str, str]) -> None:
    response = invalid(raw_s3v.put_vectors, **index, vectors=[{"key": "k" * 1025, "data": Q}])
    assert_single_field(response, "/vectors/0/key", shape_error(
        "/vectors/0/key", "have length between 1 and 1024, inclusive", length=1025))
    invalid(raw_s3v.put_vectors, **index, vectors=[{"key": "", "data": Q}])
    invalid(raw_s3v.get_vectors, **index, keys=["k" * 1025])
    # The limit counts characters, not bytes: 1024 two-byte characters fit.
    keys = ["k" * 1024, "é" * 1024]
    s3v.put_vectors(**index, vectors=[{"key": key, "data": Q} for key in keys])
    assert [v["key"] for v in s3v.get_vectors(**index, keys=keys)["vectors"]] == keys


def _invalid_record(response: dict[str, Any], key: str, position: int = 0) -> str:
    message: str = response["Error"]["Message"]
    assert message.startswith(f"Invalid record for key '{key}': ")
    assert response["fieldList"] == [{"path": f"/vectors/{position}", "message": message}]
    return message


def test_metadata_total_size(raw_s3v: Any, s3v: Any, index: dict[str, str]) -> None:
    # "text" is non-filterable in the fixture's index, so only the 40 KB total applies to it.
    too_big = {"key": "big", "data": Q, "metadata": {"text": "x" * (40 * 1024)}}
    message = _invalid_record(invalid(raw_s3v.put_vectors, **index, vectors=[too_big]), "big")
    assert "40960" in message
    s3v.put_vectors(**index, vectors=[{"key": "big", "data": Q, "metadata": {"text": "x" * (39 * 1024)}}])


def test_filterable_metadata_size(raw_s3v: Any, s3v: Any, bucket: str) -> None:
    metadata = {"body": "x" * 3000, "genre": "drama"}
    filterable = _create_index(s3v, bucket)
    message = _invalid_record(
        invalid(raw_s3v.put_vectors, **filterable, vectors=[{"key": "doc", "data": Q, "metadata": metadata}]), "doc")
    assert "2048" in message
    declared = _create_index(s3v, bucket, metadataConfiguration={"nonFilterableMetadataKeys": ["body"]})
    s3v.put_vectors(**declared, vectors=[{"key": "doc", "data": Q, "metadata": metadata}])
    got = s3v.get_vectors(**declared, keys=["doc"], returnMetadata=True)["vectors"]
    assert got == [{"key": "doc", "metadata": metadata}]


def test_metadata_key_count(raw_s3v: Any, s3v: Any, index: dict[str, str]) -> None:
    many = {f"m{i}": i for i in range(51)}
    message = _invalid_record(invalid(raw_s3v.put_vectors, **index, vectors=[
        {"key": "ok", "data": Q}, {"key": "many", "data": Q, "metadata": many}]), "many", position=1)
    assert "50" in message
    # A rejected batch writes nothing, not even its valid vectors.
    assert s3v.get_vectors(**index, keys=["ok", "many"])["vectors"] == []
    s3v.put_vectors(**index, vectors=[{"key": "fifty", "data": Q, "metadata": {f"m{i}": i for i in range(50)}}])


def test_non_filterable_key_count(raw_s3v: Any, s3v: Any, bucket: str) -> None:
    keys = [f"n{i}" for i in range(11)]
    response = invalid(raw_s3v.create_index, vectorBucketName=bucket, indexName="eleven", dataType="float32",
                       dimension=2, distanceMetric="cosine", metadataConfiguration={"nonFilterableMetadataKeys": keys})
    path = "/metadataConfiguration/nonFilterableMetadataKeys"
    assert_single_field(response, path, shape_error(path, "have length between 0 and 10, inclusive", length=11))
    _create_index(s3v, bucket, metadataConfiguration={"nonFilterableMetadataKeys": keys[:10]})


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_request_payload_over_20_mib(store_server: StoreProcess, s3v: Any, index: dict[str, str],
                                     chunked: bool) -> None:
    key = "x" * (20 * 1024 * 1024)
    body = json.dumps({**index, "keys": [key]}).encode()
    sent: bytes | Iterator[bytes] = (body[i:i + 65536] for i in range(0, len(body), 65536)) if chunked else body
    code, status, response = signed_post(store_server.endpoint, "GetVectors", sent, signed_body=body)
    assert (code, status) == ("ValidationException", 400)
    assert response["headers"]["x-amzn-ErrorType"] == "ValidationException"
    assert "20971520" in response["Error"]["Message"]
    _still_answers(s3v)


def test_limits_can_be_raised_by_configuration(tmp_path: Path, raw_s3v: Any, index: dict[str, str]) -> None:
    invalid(raw_s3v.query_vectors, **index, topK=10_001, queryVector=Q)
    server = StoreProcess(tmp_path / "raised", extra_args=(
        "--limit", "max_top_k=12000", "--limit", "query_page_size=300")).start()
    try:
        raised = client(server.endpoint, validate=False)
        raised.create_vector_bucket(vectorBucketName="raised")
        target = {"vectorBucketName": "raised", "indexName": "wide"}
        raised.create_index(**target, dataType="float32", dimension=2, distanceMetric="euclidean")
        line = [{"key": f"v{i}", "data": {"float32": [float(i), 0.0]}} for i in range(400)]
        raised.put_vectors(**target, vectors=line)
        found = raised.query_vectors(**target, topK=11_000, queryVector={"float32": [0.0, 0.0]})
        assert [v["key"] for v in found["vectors"]] == [f"v{i}" for i in range(300)]  # one raised page
        assert "nextToken" in found
        response = invalid(raised.query_vectors, **target, topK=12_001, queryVector={"float32": [0.0, 0.0]})
        assert_single_field(response, "/topK", shape_error("/topK", "be between 1 and 12000, inclusive"))
    finally:
        server.stop()


# --- names and addressing ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ab", "x" * 64])
def test_bucket_name_length(raw_s3v: Any, name: str) -> None:
    response = invalid(raw_s3v.create_vector_bucket, vectorBucketName=name)
    assert_single_field(response, "/vectorBucketName", shape_error(
        "/vectorBucketName", "have length between 3 and 63, inclusive", length=len(name)))


@pytest.mark.parametrize("name", ["Upper-case", "under_score", "-leading", "trailing-", "dot.ted", "spe&cial"])
def test_bucket_name_characters(raw_s3v: Any, name: str) -> None:
    for call in (raw_s3v.create_vector_bucket, raw_s3v.get_vector_bucket, raw_s3v.list_indexes):
        response = invalid(call, vectorBucketName=name)
        assert response["Error"]["Message"] == "Invalid vector bucket name"


@pytest.mark.parametrize("name", ["ab", "x" * 64])
def test_index_name_length(raw_s3v: Any, bucket: str, name: str) -> None:
    response = invalid(raw_s3v.create_index, vectorBucketName=bucket, indexName=name, dataType="float32",
                       dimension=2, distanceMetric="cosine")
    assert_single_field(response, "/indexName", shape_error(
        "/indexName", "have length between 3 and 63, inclusive", length=len(name)))


@pytest.mark.parametrize("name", ["Upper", "under_score", "-leading", "trailing-", ".dot", "dot.", "spa ce"])
def test_index_name_characters(raw_s3v: Any, s3v: Any, bucket: str, name: str) -> None:
    response = invalid(raw_s3v.create_index, vectorBucketName=bucket, indexName=name, dataType="float32",
                       dimension=2, distanceMetric="cosine")
    assert_single_field(response, "/indexName", "Invalid index name")
    invalid(raw_s3v.get_index, vectorBucketName=bucket, indexName=name)
    s3v.create_index(vectorBucketName=bucket, indexName="ok.name-1", dataType="float32", dimension=2,
                     distanceMetric="cosine")


def test_bucket_operations_take_a_name_or_an_arn(raw_s3v: Any, s3v: Any, bucket: str) -> None:
    arn = f"{ACCOUNT_ARN}:bucket/{bucket}"
    for call in (raw_s3v.get_vector_bucket, raw_s3v.list_indexes, raw_s3v.delete_vector_bucket):
        for address in ({"vectorBucketName": bucket, "vectorBucketArn": arn}, {}):
            assert invalid(call, **address)["Error"]["Message"] == BUCKET_ADDRESSING
    for address in ({"vectorBucketName": bucket, "vectorBucketArn": arn}, {}):
        response = invalid(raw_s3v.create_index, **address, indexName="addressed", dataType="float32",
                           dimension=2, distanceMetric="cosine")
        assert response["Error"]["Message"] == BUCKET_ADDRESSING
    assert s3v.get_vector_bucket(vectorBucketArn=arn)["vectorBucket"]["vectorBucketName"] == bucket


def test_index_operations_take_an_arn_or_bucket_and_index_names(raw_s3v: Any, s3v: Any, index: dict[str, str]) -> None:
    arn = f"{ACCOUNT_ARN}:bucket/{index['vectorBucketName']}/index/{index['indexName']}"
    wrong = [
        {**index, "indexArn": arn},
        {"vectorBucketName": index["vectorBucketName"], "indexArn": arn},
        {"indexName": index["indexName"], "indexArn": arn},
        {"vectorBucketName": index["vectorBucketName"]},
        {"indexName": index["indexName"]},
        {},
    ]
    calls: list[tuple[Any, dict[str, Any]]] = [
        (raw_s3v.get_index, {}), (raw_s3v.put_vectors, {"vectors": [{"key": "k", "data": Q}]}),
        (raw_s3v.query_vectors, {"topK": 1, "queryVector": Q}),
    ]
    for address in wrong:
        for call, extra in calls:
            assert invalid(call, **address, **extra)["Error"]["Message"] == INDEX_ADDRESSING
    assert s3v.get_index(indexArn=arn)["index"]["indexName"] == index["indexName"]


# --- conflicts and missing resources -------------------------------------------------------------


def test_conflicts(s3v: Any, index: dict[str, str]) -> None:
    bucket = index["vectorBucketName"]
    response = rejected(s3v.create_vector_bucket, "ConflictException", 409, vectorBucketName=bucket)
    assert response["Error"]["Message"] == "A vector bucket with the specified name already exists"
    rejected(s3v.create_index, "ConflictException", 409, **index, dataType="float32", dimension=4,
             distanceMetric="cosine")
    # A second index with the same name but another shape is still a duplicate.
    rejected(s3v.create_index, "ConflictException", 409, **index, dataType="float32", dimension=8,
             distanceMetric="euclidean")
    response = rejected(s3v.delete_vector_bucket, "ConflictException", 409, vectorBucketName=bucket)
    assert response["Error"]["Message"] == "The specified vector bucket is not empty"
    s3v.delete_index(**index)
    s3v.delete_vector_bucket(vectorBucketName=bucket)


def test_missing_bucket(s3v: Any) -> None:
    name = _fresh("gone")
    arn = f"{ACCOUNT_ARN}:bucket/{name}"
    calls: list[tuple[Any, dict[str, Any]]] = [
        (s3v.get_vector_bucket, {"vectorBucketName": name}), (s3v.get_vector_bucket, {"vectorBucketArn": arn}),
        (s3v.delete_vector_bucket, {"vectorBucketName": name}), (s3v.list_indexes, {"vectorBucketName": name}),
        (s3v.get_vector_bucket_policy, {"vectorBucketName": name}),
        (s3v.put_vector_bucket_policy, {"vectorBucketName": name, "policy": "{}"}),
        (s3v.create_index, {"vectorBucketName": name, "indexName": "idx", "dataType": "float32", "dimension": 2,
                            "distanceMetric": "cosine"}),
        (s3v.list_tags_for_resource, {"resourceArn": arn}),
    ]
    for call, kwargs in calls:
        assert rejected(call, "NotFoundException", 404, **kwargs)["Error"]["Message"] == BUCKET_NOT_FOUND


def test_missing_index_also_when_the_bucket_is_missing(s3v: Any, bucket: str) -> None:
    addresses = [
        {"vectorBucketName": bucket, "indexName": "absent"},
        {"vectorBucketName": _fresh("gone"), "indexName": "absent"},
        {"indexArn": f"{ACCOUNT_ARN}:bucket/{bucket}/index/absent"},
        {"indexArn": f"{ACCOUNT_ARN}:bucket/{_fresh('gone')}/index/absent"},
    ]
    calls: list[tuple[Any, dict[str, Any]]] = [
        (s3v.get_index, {}), (s3v.delete_index, {}), (s3v.list_vectors, {}), (s3v.get_vectors, {"keys": ["k"]}),
        (s3v.delete_vectors, {"keys": ["k"]}), (s3v.put_vectors, {"vectors": [{"key": "k", "data": Q}]}),
        (s3v.query_vectors, {"topK": 1, "queryVector": Q}),
    ]
    for address in addresses:
        for call, extra in calls:
            assert rejected(call, "NotFoundException", 404, **address, **extra)["Error"]["Message"] == INDEX_NOT_FOUND


def test_missing_policy(s3v: Any, bucket: str) -> None:
    response = rejected(s3v.get_vector_bucket_policy, "NotFoundException", 404, vectorBucketName=bucket)
    assert response["Error"]["Message"] == "The specified vector bucket policy could not be found"


# --- vectors -------------------------------------------------------------------------------------


def test_wrong_vector_length(raw_s3v: Any, index: dict[str, str]) -> None:
    response = invalid(raw_s3v.put_vectors, **index, vectors=[{"key": "k", "data": {"float32": [1.0]}}])
    assert _invalid_record(response, "k") == "Invalid record for key 'k': vector must have length 4, but has length 1"
    response = invalid(raw_s3v.query_vectors, **index, topK=1, queryVector={"float32": [1.0, 2.0]})
    assert response["fieldList"][0]["path"] == "/queryVector"


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")], ids=["NaN", "Infinity", "-Infinity"])
def test_non_finite_values(raw_s3v: Any, s3v: Any, index: dict[str, str], bad: float) -> None:
    vectors = [{"key": "fine", "data": Q}, {"key": "k", "data": {"float32": [1.0, bad, 0.0, 0.0]}}]
    _invalid_record(invalid(raw_s3v.put_vectors, **index, vectors=vectors), "k", position=1)
    assert s3v.get_vectors(**index, keys=["fine", "k"])["vectors"] == []
    response = invalid(raw_s3v.query_vectors, **index, topK=1, queryVector={"float32": [bad, 1.0, 0.0, 0.0]})
    assert response["fieldList"][0]["path"] == "/queryVector"
    # In metadata, where orjson would quietly have stored null instead.
    vectors = [{"key": "meta", "data": Q, "metadata": {"score": bad}}]
    _invalid_record(invalid(raw_s3v.put_vectors, **index, vectors=vectors), "meta")


def test_non_finite_literals_in_a_raw_body(store_server: StoreProcess, index: dict[str, str]) -> None:
    for literal in ("NaN", "Infinity", "-Infinity", "1e39"):
        body = f'{{"vectorBucketName": "{index["vectorBucketName"]}", "indexName": "{index["indexName"]}", ' \
               f'"vectors": [{{"key": "k", "data": {{"float32": [{literal}, 1, 1, 1]}}}}]}}'
        code, status, response = signed_post(store_server.endpoint, "PutVectors", body.encode())
        assert (code, status) == ("ValidationException", 400)
        assert response["Error"]["Message"].startswith("Invalid record for key 'k': ")
    # An integer too long for any float, in a stored vector and in a query vector: a 400, not a 500.
    huge = "1" + "0" * 400
    address = f'"vectorBucketName": "{index["vectorBucketName"]}", "indexName": "{index["indexName"]}"'
    for operation, body in (
        ("PutVectors", f'{{{address}, "vectors": [{{"key": "k", "data": {{"float32": [{huge}, 1, 1, 1]}}}}]}}'),
        ("QueryVectors", f'{{{address}, "topK": 1, "queryVector": {{"float32": [{huge}, 1, 1, 1]}}}}'),
    ):
        code, status, response = signed_post(store_server.endpoint, operation, body.encode())
        assert (code, status) == ("ValidationException", 400), response
        assert "outside the float32 range" in response["Error"]["Message"]


def test_zero_vector_in_a_cosine_index(raw_s3v: Any, s3v: Any, bucket: str, index: dict[str, str]) -> None:
    zero = {"float32": [0.0, 0.0, 0.0, 0.0]}
    _invalid_record(invalid(raw_s3v.put_vectors, **index, vectors=[{"key": "zero", "data": zero}]), "zero")
    assert invalid(raw_s3v.query_vectors, **index, topK=1, queryVector=zero)["fieldList"][0]["path"] == "/queryVector"
    euclidean = _create_index(s3v, bucket, metric="euclidean")
    s3v.put_vectors(**euclidean, vectors=[{"key": "zero", "data": zero}])
    assert s3v.query_vectors(**euclidean, topK=1, queryVector=zero)["vectors"] == [{"key": "zero"}]


def test_metadata_that_could_not_be_read_back(store_server: StoreProcess, s3v: Any, index: dict[str, str]) -> None:
    deep = '{"a":' * 300 + "1" + "}" * 300
    address = f'"vectorBucketName": "{index["vectorBucketName"]}", "indexName": "{index["indexName"]}"'
    data = '"data": {"float32": [1, 0, 0, 0]}'
    bodies = [
        f'{{{address}, "vectors": [{{"key": "deep", {data}, "metadata": {{"n": {deep}}}}}]}}',
        # JSON escapes of lone surrogates: valid JSON syntax, but no Unicode string.
        f'{{{address}, "vectors": [{{"key": "\\ud800", {data}}}]}}',
        f'{{{address}, "vectors": [{{"key": "s", {data}, "metadata": {{"t": "\\udc00"}}}}]}}',
        f'{{{address}, "topK": 1, "queryVector": {{"float32": [1, 0, 0, 0]}}, "filter": {{"\\ud800": 1}}}}',
    ]
    for operation, body in zip(["PutVectors", "PutVectors", "PutVectors", "QueryVectors"], bodies, strict=True):
        code, status, _ = signed_post(store_server.endpoint, operation, body.encode())
        assert (code, status) == ("ValidationException", 400)
    assert s3v.list_vectors(**index, returnMetadata=True)["vectors"] == []


# --- filters -------------------------------------------------------------------------------------


@pytest.mark.parametrize("document", [
    {"text": "t"},
    {"$and": [{"genre": "drama"}, {"text": {"$exists": True}}]},
    {"genre": {"$regex": "^dr"}},
    {"$not": {"genre": "drama"}},
    {"genre": {"$not": {"$eq": "drama"}}},
    {"genre": {"$in": "drama"}},
    {"genre": {"$in": []}},
    {"year": {"$gt": "2000"}},
    {"$and": []},
    {"$or": []},
    {"$and": {"genre": "drama"}},
    {"genre": {"$exists": "yes"}},
    {"genre": {"$eq": {"nested": 1}}},
    [{"genre": "drama"}],
])
def test_filters_outside_the_grammar_are_errors(raw_s3v: Any, s3v: Any, index: dict[str, str], document: Any) -> None:
    # Rows a silently ignored filter would return: the answer must be an error, never these.
    metadata = {"genre": "drama", "year": 2001, "text": "t"}
    s3v.put_vectors(**index, vectors=[{"key": "r", "data": Q, "metadata": metadata}])
    response = invalid(raw_s3v.query_vectors, **index, topK=5, queryVector=Q, filter=document)
    assert response["Error"]["Message"].startswith("Invalid filter: ")


def test_non_filterable_key_is_named(raw_s3v: Any, index: dict[str, str]) -> None:
    response = invalid(raw_s3v.query_vectors, **index, topK=1, queryVector=Q, filter={"text": {"$eq": "t"}})
    assert "'text'" in response["Error"]["Message"] and "non-filterable" in response["Error"]["Message"]


# queryTexts, index modes and text search configurations: tests/store/test_text_search_api.py.


# --- wire types, bodies and tokens ---------------------------------------------------------------


def test_wrong_json_types(raw_s3v: Any, bucket: str, index: dict[str, str]) -> None:
    response = invalid(raw_s3v.create_index, vectorBucketName=bucket, indexName="typed", dataType="float32",
                       dimension="4", distanceMetric="cosine")
    assert_single_field(response, "/dimension", shape_error("/dimension", "be an integer"))
    assert invalid(raw_s3v.query_vectors, **index, topK="1", queryVector=Q)["fieldList"][0]["path"] == "/topK"
    assert invalid(raw_s3v.query_vectors, **index, topK=True, queryVector=Q)["fieldList"][0]["path"] == "/topK"


@pytest.mark.parametrize(("operation", "body", "path"), [
    ("GetVectors", {"keys": "k"}, "/keys"),
    ("DeleteVectors", {"keys": {"k": 1}}, "/keys"),
    ("GetVectors", {"keys": [1]}, "/keys/0"),
    ("PutVectors", {"vectors": {"key": "k"}}, "/vectors"),
    ("PutVectors", {"vectors": [{"key": "k", "data": {"float32": "1,0,0,0"}}]}, "/vectors/0/data/float32"),
    ("PutVectors", {"vectors": [{"key": "k", "data": {"float32": ["1", 0, 0, 0]}}]}, "/vectors/0/data/float32"),
    ("PutVectors", {"vectors": [{"key": "k", "data": {"float32": [True, 0, 0, 0]}}]}, "/vectors/0/data/float32"),
    ("ListVectors", {"returnData": "true"}, "/returnData"),
])
def test_wrong_json_types_in_a_raw_body(store_server: StoreProcess, index: dict[str, str], operation: str,
                                        body: dict[str, Any], path: str) -> None:
    code, status, response = signed_post(store_server.endpoint, operation, json.dumps({**index, **body}).encode())
    assert (code, status) == ("ValidationException", 400)
    assert [field["path"] for field in response["body"]["fieldList"]] == [path]


@pytest.mark.parametrize("body", [b"not json", b'{"vectorBucketName": ', b"\xff{}", b"[1, 2]", b'"text"', b"null"])
def test_body_that_is_not_a_json_object(store_server: StoreProcess, s3v: Any, body: bytes) -> None:
    code, status, response = signed_post(store_server.endpoint, "ListVectorBuckets", body)
    assert (code, status) == ("ValidationException", 400)
    assert response["headers"]["x-amzn-ErrorType"] == "ValidationException"
    _still_answers(s3v)


@pytest.mark.parametrize(("operation", "body"), [
    ("UpdateMetadataConfiguration", {"add": {"textSearchConfigurations": None}}),
    ("UpdateMetadataConfiguration", {"delete": {"textSearchConfigurations": None}, "add": None}),
    ("PutVectors", {"vectors": [{"key": "k", "data": {"float32": [1, 0, 0, 0]}, "metadata": None}]}),
    ("QueryVectors", {"topK": 1, "queryVector": {"float32": [1, 0, 0, 0]}, "filter": None, "nextToken": None}),
    ("ListVectors", {"maxResults": None, "segmentCount": None, "returnMetadata": None}),
])
def test_null_members_read_as_absent(store_server: StoreProcess, index: dict[str, str], operation: str,
                                     body: dict[str, Any]) -> None:
    # As AWS's deserializers read them; a null where the code expected a default answered 500.
    code, status, response = signed_post(store_server.endpoint, operation, json.dumps({**index, **body}).encode())
    assert (code, status) == ("", 200), response["body"]


def test_invalid_next_tokens(raw_s3v: Any, s3v: Any, index: dict[str, str], bucket: str) -> None:
    calls: list[tuple[Any, dict[str, Any]]] = [
        (raw_s3v.list_vectors, index), (raw_s3v.query_vectors, {**index, "topK": 1, "queryVector": Q}),
        (raw_s3v.list_vector_buckets, {}), (raw_s3v.list_indexes, {"vectorBucketName": bucket}),
    ]
    for garbage in ("garbage", "AAAAAAAAAAAAAAAAAAAAAAAA", "!!!"):
        for call, extra in calls:
            response = invalid(call, **extra, nextToken=garbage)
            assert response["fieldList"][0]["path"] == "/nextToken"
    # A genuine token only pages what it was issued for.
    s3v.put_vectors(**index, vectors=[{"key": f"k{i}", "data": Q} for i in range(3)])
    token = s3v.list_vectors(**index, maxResults=1)["nextToken"]
    other = _create_index(s3v, bucket)
    invalid(raw_s3v.list_vectors, **other, maxResults=1, nextToken=token)
    invalid(raw_s3v.list_vectors, **index, segmentCount=2, segmentIndex=0, nextToken=token)
    invalid(raw_s3v.query_vectors, **index, topK=1, queryVector=Q, nextToken=token)
    s3v.list_vectors(**index, maxResults=1, nextToken=token)
