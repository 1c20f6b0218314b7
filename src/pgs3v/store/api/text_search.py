"""Index modes and full-text search configurations: AWS's rules for them, checked at the API's edge.

What AWS documents (docs/full-text-notes.md, "What AWS documents", and "The API half" for what
pgs3v chose where AWS says nothing):

- A vector bucket created before 2026-09-30 gives new indexes the mode ``CLASSIC`` by default;
  one created on or after that day ``ENHANCED``; PutVectorBucketDefaultIndexMode changes it.
  UpdateIndexMode may set ``ENHANCED`` on any index, ``CLASSIC`` only on an index of a bucket
  created before that day.
- Full-text search needs an ``ENHANCED`` index: UpdateMetadataConfiguration changes text search
  configurations only there, and QueryVectors runs ``queryTexts`` only there. A query may not
  ask for ``queryMode`` ``CLASSIC`` on an ``ENHANCED`` index.
- A configuration is ``BUILDING`` while existing vectors are backfilled, then ``ACTIVE``; only an
  ``ACTIVE`` key serves queries.
"""

from __future__ import annotations

import datetime
from typing import Any

from pgs3v.store.api.errors import ConflictException, ValidationException
from pgs3v.store.api.limits import Limits
from pgs3v.store.storage.catalog import TEXT_SEARCH_ACTIVE, TEXT_SEARCH_BUILDING, BucketRecord, IndexRecord

CLASSIC = "CLASSIC"
ENHANCED = "ENHANCED"
# AWS: "Vector buckets created on or after September 30, 2026" default to ENHANCED (the metadata
# filtering page); the day's time zone is not given, so it starts at midnight UTC.
ENHANCED_BY_DEFAULT_SINCE = datetime.datetime(2026, 9, 30, tzinfo=datetime.UTC).timestamp()

CLASSIC_ONLY_FOR_OLD_BUCKETS = (
    "You can set the mode to CLASSIC only for a vector index in a vector bucket created before September 30, 2026"
)
TEXT_NEEDS_ENHANCED = "Full-text search requires a vector index in ENHANCED mode"


def _is_older_bucket(bucket: BucketRecord) -> bool:
    return bucket.creation_time < ENHANCED_BY_DEFAULT_SINCE


def default_index_mode(bucket: BucketRecord) -> str:
    """The mode a new index of ``bucket`` gets: the bucket's default, or AWS's for its creation date."""
    if bucket.default_index_mode:
        return bucket.default_index_mode
    return CLASSIC if _is_older_bucket(bucket) else ENHANCED


def check_index_mode_change(bucket: BucketRecord, mode: str) -> None:
    """Refuse UpdateIndexMode to CLASSIC on an index of a bucket made on or after 2026-09-30."""
    if mode == CLASSIC and not _is_older_bucket(bucket):
        raise ValidationException.for_field("/indexMode", CLASSIC_ONLY_FOR_OLD_BUCKETS)


def _unique_keys(items: list[dict[str, Any]], path: str) -> list[str]:
    keys: list[str] = []
    for position, item in enumerate(items):
        key = item["metadataKey"]
        if key in keys:
            raise ValidationException.for_field(
                f"{path}/{position}/metadataKey",
                f"Metadata key '{key}' appears more than once: a key can have at most one text search configuration",
            )
        keys.append(key)
    return keys


def _configuration(item: dict[str, Any], status: str) -> dict[str, Any]:
    # The request's own status is ignored (GetIndex reports the store's); an absent language stays
    # absent, since it means the standard analyzer, not English.
    configuration: dict[str, Any] = {"metadataKey": item["metadataKey"]}
    if item.get("language") is not None:
        configuration["language"] = item["language"]
    configuration["status"] = status
    return configuration


def created_configurations(items: list[dict[str, Any]], mode: str) -> list[dict[str, Any]]:
    """CreateIndex's textSearchConfigurations as the index keeps them (ACTIVE: there is nothing to backfill)."""
    path = "/metadataConfiguration/textSearchConfigurations"
    _unique_keys(items, path)
    if items and mode != ENHANCED:
        raise ValidationException.for_field(
            path, f"{TEXT_NEEDS_ENHANCED}; new indexes of this vector bucket get the mode {mode}"
        )
    return [_configuration(item, TEXT_SEARCH_ACTIVE) for item in items]


def check_update_request(request: dict[str, Any]) -> None:
    """UpdateMetadataConfiguration's checks that need no index: one of add and delete, no key twice."""
    present = [member for member in ("add", "delete") if request.get(member) is not None]
    if len(present) != 1:
        raise ValidationException("Must specify either add or delete but not both")
    member = present[0]
    _unique_keys(request[member].get("textSearchConfigurations", []), f"/{member}/textSearchConfigurations")


def updated_configurations(
    index: IndexRecord, request: dict[str, Any], limits: Limits, empty: bool
) -> list[dict[str, Any]]:
    """The index's text search configurations after the (checked) update; ``empty``: it has no vectors."""
    if index.index_mode != ENHANCED:
        raise ValidationException(f"{TEXT_NEEDS_ENHANCED}: change the index's mode with UpdateIndexMode first")
    current = list(index.text_search_configurations)
    configured = {c["metadataKey"] for c in current}
    if request.get("delete") is not None:
        items = request["delete"].get("textSearchConfigurations", [])
        for position, item in enumerate(items):
            if item["metadataKey"] not in configured:
                raise ValidationException.for_field(
                    f"/delete/textSearchConfigurations/{position}/metadataKey",
                    f"Text search is not configured for metadata key '{item['metadataKey']}'",
                )
        deleted = {item["metadataKey"] for item in items}
        return [c for c in current if c["metadataKey"] not in deleted]
    items = request["add"].get("textSearchConfigurations", [])
    for item in items:
        if item["metadataKey"] in configured:
            raise ConflictException(f"Text search is already configured for metadata key '{item['metadataKey']}'")
    total = len(current) + len(items)
    if total > limits.max_text_search_keys:
        raise ValidationException.for_field(
            "/add/textSearchConfigurations",
            f"A vector index can have at most {limits.max_text_search_keys} text search configurations, "
            f"this request would leave {total}",
        )
    # Existing vectors must be backfilled first; until the engine's backfill marks the key ACTIVE
    # (storage.catalog.mark_text_search_active), it serves no query. An empty index has none.
    status = TEXT_SEARCH_ACTIVE if empty else TEXT_SEARCH_BUILDING
    return current + [_configuration(item, status) for item in items]


def check_query(request: dict[str, Any]) -> None:
    """QueryVectors' checks that need no index: a vector or texts to search by, each key once."""
    texts = request.get("queryTexts")
    if request.get("queryVector") is None and texts is None:
        raise ValidationException("Must specify queryVector, queryTexts or both")
    keys: list[str] = []
    for position, text in enumerate(texts or []):
        if text["metadataKey"] in keys:
            raise ValidationException.for_field(
                f"/queryTexts/{position}/metadataKey",
                f"Metadata key '{text['metadataKey']}' appears more than once in queryTexts: "
                "each entry must target a distinct searchable metadata key",
            )
        keys.append(text["metadataKey"])


def check_query_on(index: IndexRecord, request: dict[str, Any]) -> None:
    """QueryVectors' checks against the index: its mode, and a searchable, ACTIVE key per query text."""
    if request.get("queryMode") == CLASSIC and index.index_mode == ENHANCED:
        raise ValidationException.for_field("/queryMode", "You can't specify CLASSIC for an ENHANCED index")
    texts = request.get("queryTexts")
    if texts is None:
        return
    if index.index_mode != ENHANCED:
        raise ValidationException.for_field("/queryTexts", f"{TEXT_NEEDS_ENHANCED}; this index is {index.index_mode}")
    for position, text in enumerate(texts):
        key = text["metadataKey"]
        status = index.text_search_status(key)
        if status is None:
            raise ValidationException.for_field(
                f"/queryTexts/{position}/metadataKey", f"Metadata key '{key}' is not configured for text search"
            )
        if status != TEXT_SEARCH_ACTIVE:
            raise ValidationException.for_field(
                f"/queryTexts/{position}/metadataKey",
                f"The text search configuration of metadata key '{key}' is {status}: "
                "its existing vectors are being indexed and it does not serve queries yet",
            )
