"""API round trips that run against the pgs3v store and, when asked, against Amazon S3 Vectors itself.

Each test runs twice: ``[local]`` against the session's store, and ``[aws]`` against the real
service, which is skipped unless ``PGS3V_TEST_AWS=1`` (with the usual AWS credentials and
``AWS_REGION``), as moto's ``aws_verified`` does. The same assertions hold for both, so a pass
on AWS says the store answers as the service does. Bodies stay small (a few vectors, tiny
dimensions): an AWS run costs cents and deletes what it made, even when a test fails.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support import client, error_of

AWS_SWITCH = "PGS3V_TEST_AWS"


class Made:
    """A boto3 s3vectors client, and the buckets a test made with it (deleted with their indexes)."""

    def __init__(self, s3v: Any, target: str) -> None:
        self.s3v, self.target = s3v, target
        self.buckets: list[str] = []

    def new_bucket(self) -> str:
        """Create a bucket with a name no other run uses (bucket names are per account and region)."""
        name = f"pgs3v-test-{secrets.token_hex(6)}"
        self.buckets.append(name)
        self.s3v.create_vector_bucket(vectorBucketName=name)
        return name

    def cleanup(self) -> None:
        """Delete every bucket the test made, indexes first; gone already is fine."""
        for bucket in self.buckets:
            try:
                for page in self.s3v.get_paginator("list_indexes").paginate(vectorBucketName=bucket):
                    for index in page["indexes"]:
                        self.s3v.delete_index(vectorBucketName=bucket, indexName=index["indexName"])
                self.s3v.delete_vector_bucket(vectorBucketName=bucket)
            except ClientError as error:
                if error.response["Error"]["Code"] != "NotFoundException":
                    raise


@pytest.fixture(params=["local", "aws"])
def made(request: pytest.FixtureRequest) -> Iterator[Made]:
    """A client for the store ([local]) or for Amazon S3 Vectors ([aws]); what the test made is deleted after."""
    if request.param == "aws":
        if os.environ.get(AWS_SWITCH) != "1":
            pytest.skip(f"real Amazon S3 Vectors: set {AWS_SWITCH}=1 with AWS credentials and AWS_REGION to run")
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if not region:
            pytest.fail(f"{AWS_SWITCH}=1 needs AWS_REGION, a region that offers S3 Vectors")
        import boto3

        # The usual credential chain; standard retries, as a client of the service would have.
        s3v = boto3.client("s3vectors", region_name=region, config=Config(retries={"mode": "standard"}))
    else:
        s3v = client(request.getfixturevalue("store_server").endpoint)
    target = Made(s3v, request.param)
    try:
        yield target
    finally:
        target.cleanup()


def test_buckets_and_indexes(made: Made) -> None:
    s3v = made.s3v
    bucket = made.new_bucket()
    assert s3v.get_vector_bucket(vectorBucketName=bucket)["vectorBucket"]["vectorBucketName"] == bucket
    listed = [b["vectorBucketName"] for page in s3v.get_paginator("list_vector_buckets").paginate(prefix=bucket)
              for b in page["vectorBuckets"]]
    assert listed == [bucket]
    s3v.create_index(vectorBucketName=bucket, indexName="idx", dataType="float32", dimension=3,
                     distanceMetric="euclidean", metadataConfiguration={"nonFilterableMetadataKeys": ["text"]})
    index = s3v.get_index(vectorBucketName=bucket, indexName="idx")["index"]
    assert (index["dimension"], index["distanceMetric"], index["dataType"]) == (3, "euclidean", "float32")
    assert index["metadataConfiguration"] == {"nonFilterableMetadataKeys": ["text"]}
    assert [i["indexName"] for i in s3v.list_indexes(vectorBucketName=bucket)["indexes"]] == ["idx"]
    assert error_of(s3v.delete_vector_bucket, vectorBucketName=bucket)[:2] == ("ConflictException", 409)
    s3v.delete_index(vectorBucketName=bucket, indexName="idx")
    s3v.delete_vector_bucket(vectorBucketName=bucket)
    assert error_of(s3v.get_vector_bucket, vectorBucketName=bucket)[:2] == ("NotFoundException", 404)


def test_put_query_get_delete(made: Made) -> None:
    s3v = made.s3v
    bucket = made.new_bucket()
    index = {"vectorBucketName": bucket, "indexName": "idx"}
    s3v.create_index(**index, dataType="float32", dimension=3, distanceMetric="cosine")
    s3v.put_vectors(**index, vectors=[
        {"key": "red", "data": {"float32": [1.0, 0.0, 0.0]}, "metadata": {"colour": "red", "price": 3}},
        {"key": "green", "data": {"float32": [0.0, 1.0, 0.0]}, "metadata": {"colour": "green", "price": 5}},
        {"key": "reddish", "data": {"float32": [0.9, 0.1, 0.0]}, "metadata": {"colour": "red", "price": 9}},
    ])
    nearest = s3v.query_vectors(**index, topK=2, queryVector={"float32": [1.0, 0.0, 0.0]}, returnDistance=True,
                                returnMetadata=True)
    assert [v["key"] for v in nearest["vectors"]] == ["red", "reddish"]
    assert nearest["vectors"][0]["distance"] == pytest.approx(0.0, abs=1e-5)
    assert nearest["vectors"][1]["metadata"] == {"colour": "red", "price": 9}
    assert nearest["distanceMetric"] == "cosine"
    filtered = s3v.query_vectors(**index, topK=3, queryVector={"float32": [1.0, 0.0, 0.0]},
                                 filter={"$and": [{"colour": "red"}, {"price": {"$gt": 4}}]})
    assert [v["key"] for v in filtered["vectors"]] == ["reddish"]
    got = s3v.get_vectors(**index, keys=["green", "missing"], returnData=True, returnMetadata=True)["vectors"]
    assert got == [{"key": "green", "data": {"float32": [0.0, 1.0, 0.0]}, "metadata": {"colour": "green", "price": 5}}]
    s3v.delete_vectors(**index, keys=["red", "missing"])
    assert [v["key"] for v in s3v.get_vectors(**index, keys=["red", "reddish"])["vectors"]] == ["reddish"]
    wrong = error_of(lambda: s3v.put_vectors(**index, vectors=[{"key": "k", "data": {"float32": [1.0, 2.0]}}]))
    assert wrong[:2] == ("ValidationException", 400)
    gone = error_of(lambda: s3v.query_vectors(vectorBucketName=bucket, indexName="nope", topK=1,
                                              queryVector={"float32": [1.0, 0.0, 0.0]}))
    assert gone[:2] == ("NotFoundException", 404)


def test_list_vectors_with_the_paginator(made: Made) -> None:
    s3v = made.s3v
    bucket = made.new_bucket()
    index = {"vectorBucketName": bucket, "indexName": "idx"}
    s3v.create_index(**index, dataType="float32", dimension=2, distanceMetric="euclidean")
    keys = {f"k{n:02d}" for n in range(25)}
    s3v.put_vectors(**index, vectors=[{"key": key, "data": {"float32": [float(n), 1.0]}}
                                      for n, key in enumerate(sorted(keys))])
    pages = list(s3v.get_paginator("list_vectors").paginate(**index, PaginationConfig={"PageSize": 10}))
    listed = [vector["key"] for page in pages for vector in page["vectors"]]
    assert sorted(listed) == sorted(keys) and len(listed) == len(keys)
    assert len(pages) >= 3
    # Segments split the keys: each vector is in exactly one.
    segments = [{v["key"] for page in s3v.get_paginator("list_vectors").paginate(**index, segmentCount=2,
                                                                                  segmentIndex=segment)
                 for v in page["vectors"]} for segment in (0, 1)]
    assert segments[0] | segments[1] == keys and not segments[0] & segments[1]
