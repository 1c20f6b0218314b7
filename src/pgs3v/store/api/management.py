"""Vector bucket and index management operations, named after the API.

Each function takes the validated request (the API's JSON shape) and returns the response.
Every change is saved in the catalog before it returns, so it is acknowledged only once durable.
"""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

from pgs3v.store.api.access import parse_bucket_policy
from pgs3v.store.api.errors import (
    BUCKET_EXISTS,
    BUCKET_NOT_EMPTY,
    BUCKET_NOT_FOUND,
    INDEX_EXISTS,
    INDEX_NOT_FOUND,
    POLICY_NOT_FOUND,
    ConflictException,
    NotFoundException,
    ServiceQuotaExceededException,
    ValidationException,
)
from pgs3v.store.api.state import StoreState, check_bucket_name, check_index_name
from pgs3v.store.api.text_search import (
    check_index_mode_change,
    check_update_request,
    created_configurations,
    default_index_mode,
    updated_configurations,
)
from pgs3v.store.storage.catalog import BucketRecord, IndexRecord, mark_text_search_active

Request = dict[str, Any]
Response = dict[str, Any]

DEFAULT_ENCRYPTION = {"sseType": "AES256"}

log = logging.getLogger(__name__)


def _encryption(request: Request, inherited: dict[str, Any] | None = None) -> dict[str, Any]:
    config = request.get("encryptionConfiguration")
    if not config:
        return dict(inherited or DEFAULT_ENCRYPTION)
    sse_type = config.get("sseType", "AES256")
    if sse_type == "aws:kms" and not config.get("kmsKeyArn"):
        raise ValidationException.for_field(
            "/encryptionConfiguration/kmsKeyArn", "kmsKeyArn is required when sseType is aws:kms"
        )
    if sse_type == "AES256" and config.get("kmsKeyArn"):
        raise ValidationException.for_field(
            "/encryptionConfiguration/kmsKeyArn", "kmsKeyArn can only be given when sseType is aws:kms"
        )
    return {"sseType": sse_type, **({"kmsKeyArn": config["kmsKeyArn"]} if config.get("kmsKeyArn") else {})}


def checked_tags(state: StoreState, existing: dict[str, str], added: dict[str, str]) -> dict[str, str]:
    """Existing tags updated with ``added``, within the tag limit."""
    merged = {**existing, **added}
    if len(merged) > state.limits.max_tags:
        raise ValidationException.for_field(
            "/tags", f"A resource can have at most {state.limits.max_tags} tags, this request would leave {len(merged)}"
        )
    return merged


def _page(names: list[str], request: Request, state: StoreState, purpose: str) -> tuple[list[str], str | None]:
    prefix = request.get("prefix") or ""
    limit = request.get("maxResults") or state.limits.max_list_buckets_or_indexes
    after = ""
    if request.get("nextToken"):
        position = state.tokens.decode(purpose, request["nextToken"])
        after = str(position.get("after", ""))
        if position.get("prefix", "") != prefix:
            raise ValidationException.for_field("/nextToken", "The provided token does not match the prefix")
    selected = sorted(n for n in names if n.startswith(prefix) and n > after)
    page = selected[:limit]
    token = None
    if len(selected) > limit:
        token = state.tokens.encode(purpose, {"after": page[-1], "prefix": prefix})
    return page, token


def create_vector_bucket(state: StoreState, request: Request) -> Response:
    """CreateVectorBucket."""
    name = request["vectorBucketName"]
    check_bucket_name(name)
    encryption = _encryption(request)
    with state.catalog.lock:
        if name in state.catalog.buckets:
            raise ConflictException(BUCKET_EXISTS)
        if len(state.catalog.buckets) >= state.limits.max_buckets:
            raise ServiceQuotaExceededException(f"A store can hold at most {state.limits.max_buckets} vector buckets")
        tags = checked_tags(state, {}, request.get("tags") or {})
        bucket = state.catalog.buckets[name] = BucketRecord(name, state.clock(), encryption, tags=tags)
        state.catalog.save(bucket)
    return {"vectorBucketArn": state.scope.bucket_arn(name)}


def get_vector_bucket(state: StoreState, request: Request) -> Response:
    """GetVectorBucket."""
    bucket = state.bucket(request)
    return {
        "vectorBucket": {
            "vectorBucketName": bucket.name,
            "vectorBucketArn": state.scope.bucket_arn(bucket.name),
            "creationTime": bucket.creation_time,
            "encryptionConfiguration": bucket.encryption_configuration,
            "defaultIndexMode": default_index_mode(bucket),
        }
    }


def list_vector_buckets(state: StoreState, request: Request) -> Response:
    """ListVectorBuckets."""
    state.refresh_catalog()
    with state.catalog.lock:
        names, token = _page(list(state.catalog.buckets), request, state, "ListVectorBuckets")
        buckets = [state.catalog.buckets[n] for n in names]
    response: Response = {
        "vectorBuckets": [
            {
                "vectorBucketName": b.name,
                "vectorBucketArn": state.scope.bucket_arn(b.name),
                "creationTime": b.creation_time,
            }
            for b in buckets
        ]
    }
    if token:
        response["nextToken"] = token
    return response


def delete_vector_bucket(state: StoreState, request: Request) -> Response:
    """DeleteVectorBucket; a bucket that still has indexes is a conflict."""
    with state.catalog.lock:
        bucket = state.bucket(request)
        if state.catalog.indexes_of(bucket.name):
            raise ConflictException(BUCKET_NOT_EMPTY)
        del state.catalog.buckets[bucket.name]
        state.catalog.save(bucket)
    return {}


def put_vector_bucket_policy(state: StoreState, request: Request) -> Response:
    """PutVectorBucketPolicy: a policy IAM would accept (see access.py), enforced from then on."""
    with state.catalog.lock:
        bucket = state.bucket(request)
        parse_bucket_policy(request["policy"])
        bucket.policy = request["policy"]
        state.catalog.save(bucket)
    return {}


def get_vector_bucket_policy(state: StoreState, request: Request) -> Response:
    """GetVectorBucketPolicy."""
    bucket = state.bucket(request)
    if bucket.policy is None:
        raise NotFoundException(POLICY_NOT_FOUND)
    return {"policy": bucket.policy}


def delete_vector_bucket_policy(state: StoreState, request: Request) -> Response:
    """DeleteVectorBucketPolicy; deleting an absent policy succeeds, as in S3."""
    with state.catalog.lock:
        bucket = state.bucket(request)
        if bucket.policy is not None:
            bucket.policy = None
            state.catalog.save(bucket)
    return {}


def put_vector_bucket_default_index_mode(state: StoreState, request: Request) -> Response:
    """PutVectorBucketDefaultIndexMode: the mode new indexes of the bucket get."""
    with state.catalog.lock:
        bucket = state.bucket(request)
        bucket.default_index_mode = request["defaultIndexMode"]
        state.catalog.save(bucket)
    return {}


def _metadata_configuration(request: Request, mode: str) -> dict[str, Any]:
    config = request.get("metadataConfiguration") or {}
    result: dict[str, Any] = {}
    keys = config.get("nonFilterableMetadataKeys")
    if keys:
        if len(set(keys)) != len(keys):
            raise ValidationException.for_field(
                "/metadataConfiguration/nonFilterableMetadataKeys", "Non-filterable metadata keys must be unique"
            )
        result["nonFilterableMetadataKeys"] = list(keys)
    # A key may be both non-filterable and searchable (the model: "You can still make a
    # non-filterable key full-text searchable by configuring it separately").
    text = created_configurations(config.get("textSearchConfigurations") or [], mode)
    if text:
        result["textSearchConfigurations"] = text
    return result


def create_index(state: StoreState, request: Request) -> Response:
    """CreateIndex in a bucket named by name or ARN."""
    name = request["indexName"]
    check_index_name(name)
    _metadata_configuration(request, "ENHANCED")  # what needs no bucket is checked before the bucket is looked up
    with state.catalog.lock:
        bucket = state.bucket(request)
        mode = default_index_mode(bucket)
        metadata_configuration = _metadata_configuration(request, mode)
        if (bucket.name, name) in state.catalog.indexes:
            raise ConflictException(INDEX_EXISTS)
        if len(state.catalog.indexes_of(bucket.name)) >= state.limits.max_indexes_per_bucket:
            raise ServiceQuotaExceededException(
                f"A vector bucket can hold at most {state.limits.max_indexes_per_bucket} indexes"
            )
        record = IndexRecord(
            bucket=bucket.name,
            name=name,
            storage_id=uuid.uuid4().hex,
            creation_time=state.clock(),
            data_type=request["dataType"],
            dimension=request["dimension"],
            distance_metric=request["distanceMetric"],
            metadata_configuration=metadata_configuration,
            encryption_configuration=_encryption(request, bucket.encryption_configuration),
            index_mode=mode,
            tags=checked_tags(state, {}, request.get("tags") or {}),
        )
        # Its files first: if they cannot be made (a full disk, no file handles), no index exists.
        with state.using(record):
            pass
        state.catalog.indexes[(bucket.name, name)] = record
        try:
            state.catalog.save(record)
        except BaseException:
            state.drop_index_data(record)
            raise
    return {"indexArn": state.index_arn(record)}


def get_index(state: StoreState, request: Request) -> Response:
    """GetIndex."""
    index = state.index(request)
    return {
        "index": {
            "vectorBucketName": index.bucket,
            "indexName": index.name,
            "indexArn": state.index_arn(index),
            "creationTime": index.creation_time,
            "dataType": index.data_type,
            "dimension": index.dimension,
            "distanceMetric": index.distance_metric,
            "metadataConfiguration": index.metadata_configuration,
            "encryptionConfiguration": index.encryption_configuration,
            "indexMode": index.index_mode,
        }
    }


def list_indexes(state: StoreState, request: Request) -> Response:
    """ListIndexes of a bucket named by name or ARN."""
    state.refresh_catalog()
    with state.catalog.lock:
        bucket = state.bucket(request)
        indexes = {i.name: i for i in state.catalog.indexes_of(bucket.name)}
        names, token = _page(list(indexes), request, state, f"ListIndexes/{bucket.name}")
    response: Response = {
        "indexes": [
            {
                "vectorBucketName": bucket.name,
                "indexName": n,
                "indexArn": state.index_arn(indexes[n]),
                "creationTime": indexes[n].creation_time,
            }
            for n in names
        ]
    }
    if token:
        response["nextToken"] = token
    return response


def delete_index(state: StoreState, request: Request) -> Response:
    """DeleteIndex and all its vectors."""
    with state.catalog.lock:
        index = state.index(request)
        del state.catalog.indexes[(index.bucket, index.name)]
        state.catalog.save(index)
    state.drop_index_data(index)
    return {}


def update_index_mode(state: StoreState, request: Request) -> Response:
    """UpdateIndexMode: ENHANCED on any index, CLASSIC only in a bucket created before 2026-09-30."""
    with state.catalog.lock:
        index = state.index(request)
        check_index_mode_change(state.bucket({"vectorBucketName": index.bucket}), request["indexMode"])
        index.index_mode = request["indexMode"]
        state.catalog.save(index)
    return {}


def update_metadata_configuration(state: StoreState, request: Request) -> Response:
    """UpdateMetadataConfiguration: add or delete full-text search configurations, one of the two per call.

    A key added to an index with vectors is BUILDING while the engine backfills its segments (in
    the background), then ACTIVE (``mark_text_search_active``); on an empty index it is ACTIVE at
    once. A key deleted stops being searchable at once.
    """
    check_update_request(request)
    empty = False
    if (request.get("add") or {}).get("textSearchConfigurations"):
        # Outside the catalog lock: opening an index may replay its log. A write racing this call
        # is safe either way: the engine indexes the key for every row it holds when the key is
        # added, and for every later write.
        with state.using(state.index(request)) as opened:
            empty = not opened.list_page(1, 0, None, 1)
    with state.catalog.lock:
        index = state.index(request)
        current = updated_configurations(index, request, state.limits, empty)
        config = dict(index.metadata_configuration)
        if current:
            config["textSearchConfigurations"] = current
        else:
            config.pop("textSearchConfigurations", None)
        index.metadata_configuration = config
        state.catalog.save(index)
    if request.get("delete") is not None:
        with state.using(index) as opened:
            for item in request["delete"].get("textSearchConfigurations", []):
                opened.drop_text_key(item["metadataKey"])
    else:
        added = [c for c in current if c["metadataKey"] in
                 {item["metadataKey"] for item in request["add"].get("textSearchConfigurations", [])}]
        if empty:
            with state.using(index) as opened:
                for configuration in added:
                    opened.add_text_key(configuration["metadataKey"], configuration.get("language"))
        elif added:
            threading.Thread(target=_backfill, args=(state, index, added), name="pgs3v-text-backfill",
                             daemon=True).start()
    return {"indexArn": state.index_arn(index)}


def _backfill(state: StoreState, index: IndexRecord, added: list[dict[str, Any]]) -> None:
    """Build the added keys' text indexes over the index's vectors, then mark each ACTIVE."""
    try:
        with state.using(index) as opened:
            for configuration in added:
                key = configuration["metadataKey"]
                opened.add_text_key(key, configuration.get("language"))
                mark_text_search_active(state.catalog, index.storage_id, key)
    except Exception:  # the index was deleted, or the store is stopping: the next open builds the keys
        log.warning("text search backfill of index %s/%s stopped", index.bucket, index.name, exc_info=True)


def _tagged(state: StoreState, arn: str) -> BucketRecord | IndexRecord:
    index = state.scope.parse_index_arn(arn)
    if index is not None:
        record = state.catalog.indexes.get(index)
        if record is None:
            raise NotFoundException(INDEX_NOT_FOUND)
        return record
    bucket = state.scope.parse_bucket_arn(arn)
    if bucket is not None and bucket in state.catalog.buckets:
        return state.catalog.buckets[bucket]
    raise NotFoundException(BUCKET_NOT_FOUND)


def tag_resource(state: StoreState, request: Request) -> Response:
    """TagResource on a bucket or index ARN."""
    with state.catalog.lock:
        record = _tagged(state, request["resourceArn"])
        record.tags = checked_tags(state, record.tags, request["tags"])
        state.catalog.save(record)
    return {}


def untag_resource(state: StoreState, request: Request) -> Response:
    """UntagResource: remove the given tag keys (absent keys are ignored)."""
    with state.catalog.lock:
        record = _tagged(state, request["resourceArn"])
        record.tags = {k: v for k, v in record.tags.items() if k not in set(request["tagKeys"])}
        state.catalog.save(record)
    return {}


def list_tags_for_resource(state: StoreState, request: Request) -> Response:
    """ListTagsForResource."""
    with state.catalog.lock:
        return {"tags": dict(_tagged(state, request["resourceArn"]).tags)}

