"""Every operation of the S3 Vectors model, through boto3's own client against the real server."""

from __future__ import annotations

import datetime
from typing import Any

from pgs3v.store.api.shapes import operation_names
from tests.support import error_of

ACCOUNT_ARN = "arn:aws:s3vectors:us-east-1:000000000000"


def test_every_model_operation_round_trips(s3v: Any) -> None:
    called: set[str] = set()
    s3v.meta.events.register("before-call.s3vectors", lambda model, **_: called.add(model.name))
    try:
        bucket = "lifecycle-bucket"
        arn = s3v.create_vector_bucket(vectorBucketName=bucket, tags={"team": "search"})["vectorBucketArn"]
        assert arn == f"{ACCOUNT_ARN}:bucket/{bucket}"
        got = s3v.get_vector_bucket(vectorBucketArn=arn)["vectorBucket"]
        assert got["vectorBucketName"] == bucket and got["vectorBucketArn"] == arn
        assert isinstance(got["creationTime"], datetime.datetime)
        assert got["encryptionConfiguration"] == {"sseType": "AES256"}
        assert bucket in [b["vectorBucketName"] for b in s3v.list_vector_buckets(prefix="lifecycle")["vectorBuckets"]]

        policy = '{"Version": "2012-10-17", "Statement": []}'
        s3v.put_vector_bucket_policy(vectorBucketName=bucket, policy=policy)
        assert s3v.get_vector_bucket_policy(vectorBucketName=bucket)["policy"] == policy
        s3v.delete_vector_bucket_policy(vectorBucketName=bucket)
        assert error_of(s3v.get_vector_bucket_policy, vectorBucketName=bucket)[:2] == ("NotFoundException", 404)

        s3v.put_vector_bucket_default_index_mode(vectorBucketName=bucket, defaultIndexMode="ENHANCED")
        assert s3v.get_vector_bucket(vectorBucketName=bucket)["vectorBucket"]["defaultIndexMode"] == "ENHANCED"

        index_arn = s3v.create_index(
            vectorBucketArn=arn, indexName="docs", dataType="float32", dimension=3, distanceMetric="euclidean",
            metadataConfiguration={"nonFilterableMetadataKeys": ["body"],
                                   "textSearchConfigurations": [{"metadataKey": "title"}]},
        )["indexArn"]
        assert index_arn == f"{arn}/index/docs"
        index = s3v.get_index(indexArn=index_arn)["index"]
        assert index["indexMode"] == "ENHANCED" and index["dimension"] == 3
        assert index["distanceMetric"] == "euclidean" and index["dataType"] == "float32"
        assert isinstance(index["creationTime"], datetime.datetime)
        assert index["metadataConfiguration"]["nonFilterableMetadataKeys"] == ["body"]
        assert [i["indexArn"] for i in s3v.list_indexes(vectorBucketName=bucket)["indexes"]] == [index_arn]

        # CLASSIC only for buckets created before 2026-09-30 (tests/store/test_text_search_api.py).
        s3v.update_index_mode(indexArn=index_arn, indexMode="ENHANCED")
        assert s3v.get_index(indexArn=index_arn)["index"]["indexMode"] == "ENHANCED"
        updated = s3v.update_metadata_configuration(
            indexArn=index_arn, add={"textSearchConfigurations": [{"metadataKey": "summary", "language": "fr"}]},
        )
        assert updated["indexArn"] == index_arn
        s3v.update_metadata_configuration(indexArn=index_arn,
                                          delete={"textSearchConfigurations": [{"metadataKey": "title"}]})
        text = s3v.get_index(indexArn=index_arn)["index"]["metadataConfiguration"]["textSearchConfigurations"]
        assert text == [{"metadataKey": "summary", "language": "fr", "status": "ACTIVE"}]

        s3v.tag_resource(resourceArn=index_arn, tags={"env": "test", "owner": "me"})
        s3v.untag_resource(resourceArn=index_arn, tagKeys=["owner"])
        assert s3v.list_tags_for_resource(resourceArn=index_arn)["tags"] == {"env": "test"}
        assert s3v.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "search"}

        vectors = [{"key": f"v{i}", "data": {"float32": [float(i), 0.0, 1.0]}, "metadata": {"n": i}} for i in range(5)]
        s3v.put_vectors(indexArn=index_arn, vectors=vectors)
        got_vectors = s3v.get_vectors(indexArn=index_arn, keys=["v1", "missing"], returnData=True, returnMetadata=True)
        assert got_vectors["vectors"] == [{"key": "v1", "data": {"float32": [1.0, 0.0, 1.0]}, "metadata": {"n": 1}}]
        listed = s3v.list_vectors(indexArn=index_arn)["vectors"]
        assert sorted(v["key"] for v in listed) == [f"v{i}" for i in range(5)]
        result = s3v.query_vectors(indexArn=index_arn, topK=2, queryVector={"float32": [3.0, 0.0, 1.0]},
                                   returnDistance=True, returnMetadata=True)
        assert result["distanceMetric"] == "euclidean"
        nearest = result["vectors"][0]
        assert (nearest["key"], nearest["distance"], nearest["metadata"]) == ("v3", 0.0, {"n": 3})
        assert result["vectors"][1]["key"] in ("v2", "v4") and result["vectors"][1]["distance"] == 1.0
        s3v.delete_vectors(indexArn=index_arn, keys=["v3"])
        assert s3v.get_vectors(indexArn=index_arn, keys=["v3"])["vectors"] == []

        assert error_of(s3v.delete_vector_bucket, vectorBucketName=bucket)[:2] == ("ConflictException", 409)
        s3v.delete_index(vectorBucketName=bucket, indexName="docs")
        assert error_of(s3v.get_index, indexArn=index_arn)[:2] == ("NotFoundException", 404)
        s3v.delete_vector_bucket(vectorBucketArn=arn)
        code, status, response = error_of(s3v.get_vector_bucket, vectorBucketName=bucket)
        assert (code, status) == ("NotFoundException", 404)
        assert response["Error"]["Message"] == "The specified vector bucket could not be found"
    finally:
        s3v.meta.events.unregister("before-call.s3vectors")
    assert called == set(operation_names())
    assert len(called) == 22


def test_get_vectors_returns_only_what_is_asked(s3v: Any, index: dict[str, str]) -> None:
    s3v.put_vectors(**index, vectors=[{"key": "a", "data": {"float32": [1, 2, 3, 4]}},
                                      {"key": "b", "data": {"float32": [1, 0, 0, 0]}, "metadata": {"x": 1}}])
    assert s3v.get_vectors(**index, keys=["a", "b"])["vectors"] == [{"key": "a"}, {"key": "b"}]
    with_metadata = s3v.get_vectors(**index, keys=["a", "b"], returnMetadata=True)["vectors"]
    assert with_metadata == [{"key": "a", "metadata": {}}, {"key": "b", "metadata": {"x": 1}}]


def test_put_replaces_data_and_metadata(s3v: Any, index: dict[str, str]) -> None:
    s3v.put_vectors(**index, vectors=[{"key": "k", "data": {"float32": [1, 0, 0, 0]}, "metadata": {"v": 1}}])
    s3v.put_vectors(**index, vectors=[{"key": "k", "data": {"float32": [0, 1, 0, 0]}, "metadata": {"w": 2}}])
    got = s3v.get_vectors(**index, keys=["k"], returnData=True, returnMetadata=True)["vectors"]
    assert got == [{"key": "k", "data": {"float32": [0.0, 1.0, 0.0, 0.0]}, "metadata": {"w": 2}}]
    assert len(s3v.list_vectors(**index)["vectors"]) == 1


def test_query_cosine_distance_and_filters(s3v: Any, index: dict[str, str]) -> None:
    s3v.put_vectors(**index, vectors=[
        {"key": "same", "data": {"float32": [1, 1, 0, 0]}, "metadata": {"genre": ["drama", "comedy"], "year": 2020}},
        {"key": "orthogonal", "data": {"float32": [0, 0, 1, 0]}, "metadata": {"genre": "drama", "year": 2010}},
        {"key": "opposite", "data": {"float32": [-1, -1, 0, 0]}, "metadata": {"genre": "horror", "text": "t"}},
    ])
    query = {"float32": [2.0, 2.0, 0.0, 0.0]}
    result = s3v.query_vectors(**index, topK=3, queryVector=query, returnDistance=True)["vectors"]
    assert [v["key"] for v in result] == ["same", "orthogonal", "opposite"]
    assert [round(v["distance"], 5) for v in result] == [0.0, 1.0, 2.0]
    assert "metadata" not in result[0]
    comedy = s3v.query_vectors(**index, topK=3, queryVector=query, filter={"genre": "comedy"})["vectors"]
    assert [v["key"] for v in comedy] == ["same"]
    recent = s3v.query_vectors(**index, topK=3, queryVector=query,
                               filter={"$or": [{"year": {"$gte": 2015}}, {"genre": {"$in": ["horror"]}}]})
    assert [v["key"] for v in recent["vectors"]] == ["same", "opposite"]


def test_query_paginator_stops_at_top_k(s3v: Any, index: dict[str, str]) -> None:
    # topK is the total, not a page size (more in test_query_paging.py).
    vectors = [{"key": f"p{i}", "data": {"float32": [1.0, i / 10, 0, 0]}} for i in range(25)]
    s3v.put_vectors(**index, vectors=vectors)
    pages = list(s3v.get_paginator("query_vectors").paginate(
        **index, topK=10, queryVector={"float32": [1, 0, 0, 0]}, returnDistance=True))
    keys = [v["key"] for page in pages for v in page["vectors"]]
    assert keys == [f"p{i}" for i in range(10)]


def test_list_vectors_pages_and_segments_partition_keys(s3v: Any, index: dict[str, str]) -> None:
    keys = [f"key-{i}" for i in range(1200)]
    for start in range(0, len(keys), 500):
        batch = keys[start : start + 500]
        s3v.put_vectors(**index, vectors=[{"key": k, "data": {"float32": [1, 2, 3, 4]}} for k in batch])
    pages = list(s3v.get_paginator("list_vectors").paginate(**index, PaginationConfig={"PageSize": 100}))
    assert all(len(p["vectors"]) <= 100 for p in pages) and len(pages) == 12
    assert sorted(v["key"] for p in pages for v in p["vectors"]) == sorted(keys)
    seen: list[str] = []
    for segment in range(7):
        for page in s3v.get_paginator("list_vectors").paginate(**index, segmentCount=7, segmentIndex=segment):
            seen.extend(v["key"] for v in page["vectors"])
    assert sorted(seen) == sorted(keys)


def test_list_vectors_token_survives_concurrent_writes(s3v: Any, index: dict[str, str]) -> None:
    s3v.put_vectors(**index, vectors=[{"key": f"old-{i}", "data": {"float32": [1, 0, 0, 0]}} for i in range(300)])
    first = s3v.list_vectors(**index, maxResults=100)
    s3v.put_vectors(**index, vectors=[{"key": f"new-{i}", "data": {"float32": [0, 1, 0, 0]}} for i in range(300)])
    s3v.delete_vectors(**index, keys=[v["key"] for v in first["vectors"]][:10])
    listed = [v["key"] for v in first["vectors"]]
    token = first["nextToken"]
    while token:
        page = s3v.list_vectors(**index, maxResults=100, nextToken=token)
        listed.extend(v["key"] for v in page["vectors"])
        token = page.get("nextToken")
    assert len(listed) == len(set(listed))
    assert {f"old-{i}" for i in range(300)} <= set(listed)


def test_list_buckets_and_indexes_page_by_name(s3v: Any) -> None:
    for i in range(5):
        s3v.create_vector_bucket(vectorBucketName=f"paging-{i}")
    pages = list(s3v.get_paginator("list_vector_buckets").paginate(prefix="paging-",
                                                                  PaginationConfig={"PageSize": 2}))
    assert [b["vectorBucketName"] for p in pages for b in p["vectorBuckets"]] == [f"paging-{i}" for i in range(5)]
    for i in range(3):
        s3v.create_index(vectorBucketName="paging-0", indexName=f"ix-{i}", dataType="float32", dimension=2,
                         distanceMetric="cosine")
    names = [i["indexName"] for p in s3v.get_paginator("list_indexes").paginate(
        vectorBucketName="paging-0", PaginationConfig={"PageSize": 1}) for i in p["indexes"]]
    assert names == ["ix-0", "ix-1", "ix-2"]
