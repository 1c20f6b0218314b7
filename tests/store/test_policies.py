"""Vector bucket policies through boto3 against a real store: checked as IAM checks them, enforced on every call."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pgs3v.auth.errors import AccessDeniedException
from pgs3v.store.api.access import POLICY_REFRESH_SECONDS
from pgs3v.store.api.arns import ArnScope
from pgs3v.store.api.limits import Limits
from pgs3v.store.api.service import VectorStore
from tests.support import StoreProcess, client, error_of

ACCOUNT = "000000000000"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
ARN = f"arn:aws:s3vectors:us-east-1:{ACCOUNT}"
VECTOR = {"float32": [0.1, 0.2, 0.3, 0.4]}


def document(*statements: dict[str, Any]) -> str:
    """A policy document with these statements."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def statement(effect: str, action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    """One statement for everyone."""
    return {"Effect": effect, "Principal": "*", "Action": action, "Resource": resource, **extra}


@pytest.fixture
def loaded(s3v: Any, index: dict[str, str]) -> Iterator[dict[str, str]]:
    """An index holding one vector; its bucket's policy is removed afterwards."""
    s3v.put_vectors(**index, vectors=[{"key": "a", "data": VECTOR, "metadata": {"genre": "x"}}])
    try:
        yield index
    finally:
        s3v.delete_vector_bucket_policy(vectorBucketName=index["vectorBucketName"])


def denied(call: Callable[..., Any], **kwargs: Any) -> str:
    """The message of a call that must be refused with AccessDeniedException 403."""
    code, status, response = error_of(call, **kwargs)
    assert (code, status) == ("AccessDeniedException", 403), response
    return str(response["Error"]["Message"])


@pytest.mark.parametrize(("policy", "problem"), [
    ("{}", "Missing required field Statement"),
    ('{"Statement": "x"}', "Policy has an invalid Statement"),
    ("not json", "Policies must be valid JSON"),
    ("[1, 2]", "Policies must be a JSON object"),
    (document(statement("Maybe", "s3vectors:*")), "Invalid effect: Maybe"),
    (document(statement("Deny", "s3vectors:PutVector")), "Policy has invalid action: s3vectors:PutVector"),
    (document(statement("Deny", "s3vectors:Frobnicate*")), "Policy has invalid action"),
    (document(statement("Deny", "s3:GetObject")), "Policy has invalid action: s3:GetObject"),
    (document(statement("Deny", "s3vectors:*", "arn:aws:s3:::bucket/*")), "Policy has invalid resource"),
    (document(statement("Deny", "s3vectors:*", "bucket/b")), "Policy has invalid resource"),
    (document(statement("Deny", "s3vectors:*", f"{ARN}:table/t")), "Policy has invalid resource"),
    (document(statement("Deny", "s3vectors:*", f"{ARN}:bucket/B")), "Policy has invalid resource"),
    (document({"Effect": "Deny", "Action": "s3vectors:*", "Resource": "*"}), "Missing required field Principal"),
    (document({"Effect": "Deny", "Principal": "*", "Resource": "*"}), "Missing required field Action"),
    (document({"Effect": "Deny", "Principal": "*", "Action": "s3vectors:*"}), "Missing required field Resource"),
    (document(statement("Deny", "s3vectors:*", NotAction="s3vectors:GetIndex")), "both Action and NotAction"),
    (document({"Effect": "Deny", "Principal": {"AWS": "someone"}, "Action": "*", "Resource": "*"}),
     "Invalid principal in policy: someone"),
    (json.dumps({"Version": "2020-01-01", "Statement": []}), "Policy has an invalid Version"),
    (document(statement("Deny", "*", Condition={"StringSounds": {"aws:PrincipalArn": "x"}})),
     "Policy has an invalid condition operator: StringSounds"),
    (document(statement("Deny", "*", Condition={"StringEquals": {"s3vectors:colour": "x"}})),
     "Policy has an invalid condition key: s3vectors:colour"),
    (document(statement("Deny", "*", Condition={"IpAddress": {"aws:SourceIp": "not-an-ip"}})),
     "Policy has an invalid condition value"),
    (document(statement("Deny", "*", Sid="a"), statement("Allow", "*", Sid="a")), "must be unique"),
    (document(*[statement("Deny", "s3vectors:GetIndex", f"{ARN}:bucket/b{n:05}") for n in range(400)]),
     "Policy exceeds the maximum allowed document size of 20480 bytes"),
])
def test_malformed_policies_are_refused(s3v: Any, bucket: str, policy: str, problem: str) -> None:
    code, status, response = error_of(s3v.put_vector_bucket_policy, vectorBucketName=bucket, policy=policy)
    assert (code, status) == ("ValidationException", 400), response
    assert problem in response["Error"]["Message"]
    assert error_of(s3v.get_vector_bucket_policy, vectorBucketName=bucket)[0] == "NotFoundException"


def test_well_formed_policies_round_trip(s3v: Any, bucket: str) -> None:
    policies = [
        document(),  # an empty list of statements
        document(statement("Deny", "s3vectors:*", [f"{ARN}:bucket/{bucket}/*", f"{ARN}:bucket/*", f"{ARN}:*"])),
        json.dumps({"Statement": statement("Allow", "s3vectors:get*")}),  # one object, no Version, any case
        document({"Sid": "Team", "Effect": "Allow", "Principal": {"AWS": [ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/ann"]},
                  "NotAction": ["s3vectors:Delete*"], "NotResource": f"{ARN}:bucket/{bucket}/index/keep-*",
                  "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*"},
                                "Bool": {"aws:SecureTransport": False},
                                "ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]},
                                "StringEqualsIfExists": {"s3vectors:sseType": "AES256"}}}),
    ]
    for policy in policies:
        s3v.put_vector_bucket_policy(vectorBucketName=bucket, policy=policy)
        assert s3v.get_vector_bucket_policy(vectorBucketName=bucket)["policy"] == policy


def test_deny_all_blocks_every_operation_but_the_policy_ones(s3v: Any, loaded: dict[str, str],
                                                             store_server: StoreProcess) -> None:
    bucket, index = loaded["vectorBucketName"], loaded["indexName"]
    bucket_arn = f"{ARN}:bucket/{bucket}"
    index_arn = f"{bucket_arn}/index/{index}"
    policy = document(statement("Deny", "s3vectors:*"))
    s3v.put_vector_bucket_policy(vectorBucketName=bucket, policy=policy)
    calls: list[tuple[str, Callable[..., Any], dict[str, Any], str]] = [
        ("QueryVectors", s3v.query_vectors, {**loaded, "queryVector": VECTOR, "topK": 1}, index_arn),
        ("PutVectors", s3v.put_vectors, {**loaded, "vectors": [{"key": "b", "data": VECTOR}]}, index_arn),
        ("GetVectors", s3v.get_vectors, {**loaded, "keys": ["a"]}, index_arn),
        ("DeleteVectors", s3v.delete_vectors, {**loaded, "keys": ["a"]}, index_arn),
        ("ListVectors", s3v.list_vectors, {"indexArn": index_arn}, index_arn),
        ("GetIndex", s3v.get_index, loaded, index_arn),
        ("DeleteIndex", s3v.delete_index, loaded, index_arn),
        ("UpdateIndexMode", s3v.update_index_mode, {**loaded, "indexMode": "ENHANCED"}, index_arn),
        ("CreateIndex", s3v.create_index, {"vectorBucketName": bucket, "indexName": "other", "dataType": "float32",
                                           "dimension": 2, "distanceMetric": "cosine"}, f"{bucket_arn}/index/other"),
        ("ListIndexes", s3v.list_indexes, {"vectorBucketArn": bucket_arn}, bucket_arn),
        ("GetVectorBucket", s3v.get_vector_bucket, {"vectorBucketName": bucket}, bucket_arn),
        ("DeleteVectorBucket", s3v.delete_vector_bucket, {"vectorBucketName": bucket}, bucket_arn),
        ("PutVectorBucketDefaultIndexMode", s3v.put_vector_bucket_default_index_mode,
         {"vectorBucketName": bucket, "defaultIndexMode": "ENHANCED"}, bucket_arn),
        ("TagResource", s3v.tag_resource, {"resourceArn": index_arn, "tags": {"a": "b"}}, index_arn),
        ("UntagResource", s3v.untag_resource, {"resourceArn": bucket_arn, "tagKeys": ["a"]}, bucket_arn),
        ("ListTagsForResource", s3v.list_tags_for_resource, {"resourceArn": index_arn}, index_arn),
    ]
    for operation, call, kwargs, resource in calls:
        assert denied(call, **kwargs) == (
            f"User: {ROOT} is not authorized to perform: s3vectors:{operation} on resource: {resource} "
            "with an explicit deny in a resource-based policy"), operation
    log = store_server.log_file.read_text(encoding="utf-8", errors="replace")
    assert f"access denied: principal={ROOT} action=s3vectors:QueryVectors resource={index_arn}" in log
    # Another bucket and the listing of buckets are not governed by this bucket's policy.
    assert bucket in [b["vectorBucketName"] for b in s3v.list_vector_buckets()["vectorBuckets"]]
    # The account's own key may still read, replace and delete the policy (S3's rule for the owner's root).
    assert s3v.get_vector_bucket_policy(vectorBucketName=bucket)["policy"] == policy
    s3v.put_vector_bucket_policy(vectorBucketName=bucket, policy=policy)
    s3v.delete_vector_bucket_policy(vectorBucketArn=bucket_arn)
    assert s3v.query_vectors(**loaded, queryVector=VECTOR, topK=1)["vectors"][0]["key"] == "a"
    s3v.get_index(**loaded)


def test_deny_beats_allow_and_allow_adds_nothing_for_the_owner(s3v: Any, loaded: dict[str, str]) -> None:
    bucket = loaded["vectorBucketName"]
    s3v.put_vector_bucket_policy(vectorBucketName=bucket, policy=document(
        statement("Allow", "s3vectors:*"), statement("Deny", "s3vectors:PutVectors")))
    denied(s3v.put_vectors, **loaded, vectors=[{"key": "b", "data": VECTOR}])
    s3v.get_vectors(**loaded, keys=["a"])
    # An Allow alone changes nothing for the owner, whose own policy allows everything.
    s3v.put_vector_bucket_policy(vectorBucketName=bucket, policy=document(statement("Allow", "s3vectors:GetIndex")))
    s3v.put_vectors(**loaded, vectors=[{"key": "b", "data": VECTOR}])


def test_not_action_not_resource_and_wildcards(s3v: Any, loaded: dict[str, str]) -> None:
    bucket, index = loaded["vectorBucketName"], loaded["indexName"]
    index_arn = f"{ARN}:bucket/{bucket}/index/{index}"
    put = {"vectors": [{"key": "b", "data": VECTOR}]}
    # Everything but reads is denied.
    s3v.put_vector_bucket_policy(vectorBucketName=bucket, policy=document(
        {"Effect": "Deny", "Principal": "*", "NotAction": ["s3vectors:Get*", "s3vectors:Query*"], "Resource": "*"}))
    s3v.get_vectors(**loaded, keys=["a"])
    s3v.query_vectors(**loaded, queryVector=VECTOR, topK=1)
    denied(s3v.put_vectors, **loaded, **put)
    # Writes denied everywhere but this index; action names are case-insensitive.
    s3v.put_vector_bucket_policy(vectorBucketName=bucket, policy=document(
        {"Effect": "Deny", "Principal": "*", "Action": "S3Vectors:putvectors", "NotResource": index_arn}))
    s3v.put_vectors(**loaded, **put)
    # "?" stands for one character, "*" for any run; an index-level resource leaves the bucket alone.
    pattern = f"{ARN}:bucket/{bucket}/index/{index[:-1]}?"
    s3v.put_vector_bucket_policy(vectorBucketName=bucket, policy=document(statement("Deny", "s3vectors:*", pattern)))
    denied(s3v.put_vectors, **loaded, **put)
    s3v.get_vector_bucket(vectorBucketName=bucket)
    s3v.put_vector_bucket_policy(vectorBucketName=bucket, policy=document(
        statement("Deny", "s3vectors:*", f"{ARN}:bucket/{bucket}/index/{index}?")))
    s3v.put_vectors(**loaded, **put)
    s3v.put_vector_bucket_policy(vectorBucketName=bucket, policy=document(
        statement("Deny", "s3vectors:*", f"arn:aws:s3vectors:*:*:bucket/{bucket}")))
    denied(s3v.get_vector_bucket, vectorBucketName=bucket)
    s3v.get_index(**loaded)


def test_query_and_list_options_also_need_get_vectors(s3v: Any, loaded: dict[str, str]) -> None:
    bucket, index = loaded["vectorBucketName"], loaded["indexName"]
    index_arn = f"{ARN}:bucket/{bucket}/index/{index}"
    s3v.put_vector_bucket_policy(vectorBucketName=bucket, policy=document(statement("Deny", "s3vectors:GetVectors")))
    query = {**loaded, "queryVector": VECTOR, "topK": 1}
    s3v.query_vectors(**query)
    s3v.query_vectors(**query, returnDistance=True)
    for extra in ({"filter": {"genre": "x"}}, {"returnMetadata": True},
                  {"queryTexts": [{"metadataKey": "genre", "text": "x"}]}):
        assert denied(s3v.query_vectors, **query, **extra) == (
            f"User: {ROOT} is not authorized to perform: s3vectors:GetVectors on resource: {index_arn} "
            "with an explicit deny in a resource-based policy")
    s3v.list_vectors(**loaded)
    s3v.list_vectors(**loaded, returnData=False, returnMetadata=False)
    denied(s3v.list_vectors, **loaded, returnData=True)
    denied(s3v.list_vectors, **loaded, returnMetadata=True)


def test_conditions_on_the_caller(s3v: Any, loaded: dict[str, str]) -> None:
    bucket = loaded["vectorBucketName"]
    get = {**loaded, "keys": ["a"]}
    cases = [
        ({"StringEquals": {"aws:PrincipalArn": ROOT}}, True),
        ({"ArnLike": {"aws:principalarn": "arn:aws:iam::*:root"}}, True),
        ({"StringNotEquals": {"aws:PrincipalAccount": ACCOUNT}}, False),
        ({"Bool": {"aws:SecureTransport": "false"}}, True),
        ({"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}, True),
        ({"NotIpAddress": {"aws:SourceIp": ["127.0.0.0/8", "::1/128"]}}, False),
        ({"StringEquals": {"aws:ResourceTag/team": "search"}}, False),  # the index has no tags
        ({"Null": {"aws:ResourceTag/team": "true"}}, True),
    ]
    for condition, applies in cases:
        s3v.put_vector_bucket_policy(vectorBucketName=bucket, policy=document(
            statement("Deny", "s3vectors:GetVectors", Condition=condition)))
        if applies:
            denied(s3v.get_vectors, **get)
        else:
            s3v.get_vectors(**get)


def test_principal_elements(s3v: Any, loaded: dict[str, str]) -> None:
    bucket = loaded["vectorBucketName"]
    get = {**loaded, "keys": ["a"]}
    for principal, applies in [({"AWS": ACCOUNT}, True), ({"AWS": ROOT}, True), ({"AWS": "*"}, True),
                               ({"AWS": "arn:aws:iam::111122223333:root"}, False),
                               ({"AWS": f"arn:aws:iam::{ACCOUNT}:user/someone"}, False)]:
        s3v.put_vector_bucket_policy(vectorBucketName=bucket, policy=document(
            {"Effect": "Deny", "Principal": principal, "Action": "s3vectors:GetVectors", "Resource": "*"}))
        assert (error_of(s3v.get_vectors, **get)[0] == "AccessDeniedException") if applies else s3v.get_vectors(**get)
    s3v.put_vector_bucket_policy(vectorBucketName=bucket, policy=document(
        {"Effect": "Deny", "NotPrincipal": {"AWS": ROOT}, "Action": "s3vectors:*", "Resource": "*"}))
    s3v.get_vectors(**get)


def test_every_worker_enforces_a_policy_put_through_another(tmp_path: Path) -> None:
    objects = (tmp_path / "objects").as_uri()
    store = StoreProcess(tmp_path / "data", extra_args=("--storage", objects, "--workers", "2")).start()
    try:
        first = client(store.endpoint)
        first.create_vector_bucket(vectorBucketName="shared")
        # Each client opens its own connection; the parent hands them to the workers in turn, so
        # these clients reach both workers, each of which has read the bucket before the policy.
        others = [client(store.endpoint) for _ in range(4)]
        for other in others:
            other.get_vector_bucket(vectorBucketName="shared")
        first.put_vector_bucket_policy(vectorBucketName="shared", policy=document(statement("Deny", "s3vectors:*")))
        time.sleep(POLICY_REFRESH_SECONDS + 0.2)
        for other in others:
            denied(other.get_vector_bucket, vectorBucketName="shared")
        first.delete_vector_bucket_policy(vectorBucketName="shared")
        time.sleep(POLICY_REFRESH_SECONDS + 0.2)
        for other in others:
            other.get_vector_bucket(vectorBucketName="shared")
    finally:
        store.stop()


def test_a_stored_policy_that_no_longer_parses_fails_closed(tmp_path: Path) -> None:
    # Before policies were checked, any JSON object was stored (the "{}"): such a bucket
    # refuses every call until its owner puts a valid policy or deletes it.
    store = VectorStore(tmp_path, limits=Limits(), scope=ArnScope(), token_secret=b"s" * 32)
    try:
        store.call("CreateVectorBucket", {"vectorBucketName": "legacy"})
        store.state.catalog.buckets["legacy"].policy = "{}"
        with pytest.raises(AccessDeniedException, match="policy is not valid \\(Missing required field Statement\\)"):
            store.call("GetVectorBucket", {"vectorBucketName": "legacy"})
        assert store.call("GetVectorBucketPolicy", {"vectorBucketName": "legacy"}) == {"policy": "{}"}
        store.call("DeleteVectorBucketPolicy", {"vectorBucketName": "legacy"})
        assert store.call("GetVectorBucket", {"vectorBucketName": "legacy"})["vectorBucket"]["vectorBucketArn"]
    finally:
        store.close()
