"""Every service limit in one table.

The defaults are the documented limits of the GA Amazon S3 Vectors service. A self-hosted
store may raise them: ``pgs3v store serve --limit max_top_k=20000`` or the environment variable
``PGS3V_LIMIT_MAX_TOP_K=20000``. The table drives validation, the CLI help and docs/limits.md
(a test fails when a limit is undocumented).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from pgs3v.store.engine.index_settings import IndexSettings
from pgs3v.store.engine.segment_search import SearchKnobs


def _limit(default: int, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Limits:
    """The limits in force for one store (the table itself); build with :func:`load_limits`."""

    max_dimension: int = _limit(4096, "Largest vector dimension an index may have (smallest is 1).")
    # AWS raised topK from 100 to 10,000 on 2026-06-16, returned "across multiple pages" linked by
    # nextToken. It publishes no page size; 100 keeps every query of the old limit one page.
    max_top_k: int = _limit(10_000, "Largest topK of a QueryVectors call: the total, across its pages.")
    query_page_size: int = _limit(100, "Most results in one QueryVectors page; a larger topK continues by nextToken.")
    # AWS: tokens "remain valid for several minutes after the query is executed"; no number given.
    query_token_minutes: int = _limit(5, "Minutes a QueryVectors nextToken stays valid after the query's first page.")
    max_put_vectors: int = _limit(500, "Most vectors in one PutVectors call.")
    max_delete_vectors: int = _limit(500, "Most keys in one DeleteVectors call.")
    max_get_vectors: int = _limit(100, "Most keys in one GetVectors call.")
    max_list_vectors: int = _limit(1000, "Largest maxResults of a ListVectors page.")
    default_list_vectors: int = _limit(500, "ListVectors page size when maxResults is not given.")
    list_vectors_page_bytes: int = _limit(1024 * 1024, "A ListVectors page is cut when its body passes this size.")
    max_list_segments: int = _limit(16, "Largest segmentCount of a parallel ListVectors.")
    max_list_buckets_or_indexes: int = _limit(500, "Largest maxResults of ListVectorBuckets and ListIndexes.")
    max_key_length: int = _limit(1024, "Longest vector key, in characters.")
    max_metadata_bytes: int = _limit(40 * 1024, "Largest total metadata of one vector, in bytes of JSON.")
    max_filterable_metadata_bytes: int = _limit(2 * 1024, "Largest filterable part of one vector's metadata.")
    max_metadata_keys: int = _limit(50, "Most metadata keys on one vector.")
    max_non_filterable_keys: int = _limit(10, "Most non-filterable metadata keys an index may declare.")
    # The API model bounds each textSearchConfigurations list (CreateIndex, an add, a delete) at 10;
    # pgs3v also caps an index's total there, as GetIndex's list is the same shape.
    max_text_search_keys: int = _limit(10, "Most full-text searchable metadata keys an index may configure.")
    max_query_texts: int = _limit(10, "Most queryTexts entries in one QueryVectors call (each on its own key).")
    max_query_text_length: int = _limit(1024, "Longest query text of a QueryVectors call, in characters.")
    max_request_bytes: int = _limit(20 * 1024 * 1024, "Largest request body, in bytes.")
    max_indexes_per_bucket: int = _limit(10_000, "Most indexes in one vector bucket.")
    max_buckets: int = _limit(10_000, "Most vector buckets in one store.")
    max_tags: int = _limit(50, "Most tags on one resource.")
    max_open_indexes: int = _limit(
        500, "Indexes kept open at once (least recently used closes first); an open one holds a few file handles."
    )
    max_filter_depth: int = _limit(32, "Deepest nesting of $and/$or in a filter (guards the server's stack).")
    max_write_requests_per_second: int = _limit(
        0, "PutVectors + DeleteVectors calls per second per index before 429 (0 = off; AWS: 1000)."
    )
    max_write_vectors_per_second: int = _limit(
        0, "Vectors written (put or deleted) per second per index before 429 (0 = off; AWS: 2500)."
    )
    # What one client may hold of the server (not AWS limits): see docs/operations.md.
    http_head_seconds: int = _limit(30, "A request's head must be complete this long after it began, or 408.")
    http_body_idle_seconds: int = _limit(30, "A request body that stalls this long is answered 408.")
    http_max_connections: int = _limit(
        1000, "Open connections beyond this are answered 503 (at most half the process's file-handle limit)."
    )
    # The ANN engine's knobs (not AWS limits): see docs/ann.md.
    index_fold_rows: int = _limit(
        32_768, "Unindexed rows (the log's tail, scanned exactly in RAM) that start a fold into an indexed segment."
    )
    index_fold_idle_ms: int = _limit(2000, "A tail that has not grown for this long is folded even if small.")
    index_fold_max_age_ms: int = _limit(
        10_000, "A tail this old is folded even while writes keep coming (a steady trickle)."
    )
    index_ann_min_floats: int = _limit(
        4_000_000, "Segments with fewer floats (rows × dimension) get no IVF-PQ index: an exact scan is as fast."
    )
    index_merge_width: int = _limit(4, "Segments of one size tier merged at a time (tiers grow by this factor).")
    index_max_segment_rows: int = _limit(
        2_000_000, "No merge builds a segment with more rows: bounds build time and memory as an index grows."
    )
    index_settle_ms: int = _limit(
        5000, "Writes paused this long: segments are merged into the fewest the segment cap allows."
    )
    index_recall_target: int = _limit(
        985, "Recall@10 (per mille) a segment's calibrated probe count reaches on its own sample rows."
    )
    query_probes: int = _limit(0, "IVF lists probed per segment (0 = the count calibrated when it was built).")
    query_rerank: int = _limit(256, "Candidates per segment re-ranked on full-precision vectors.")
    query_exact_scan_floats: int = _limit(
        1_500_000, "A filter leaving fewer than this many floats (rows × dimension) is answered by an exact scan."
    )


def limit_help() -> list[tuple[str, int, str]]:
    """(name, default, help) for every limit, in table order."""
    return [(f.name, _default_of(f.default), str(f.metadata["help"])) for f in fields(Limits)]


def _default_of(value: object) -> int:
    assert isinstance(value, int)
    return value


def limit_names() -> list[str]:
    """Names of every configurable limit."""
    return [f.name for f in fields(Limits)]


def load_limits(overrides: Mapping[str, int] | None = None, environ: Mapping[str, str] | None = None) -> Limits:
    """The defaults, then ``PGS3V_LIMIT_<NAME>`` variables, then explicit overrides."""
    env = os.environ if environ is None else environ
    values: dict[str, int] = {}
    for name in limit_names():
        raw = env.get(f"PGS3V_LIMIT_{name.upper()}")
        if raw is not None:
            values[name] = _checked(name, raw)
    for name, value in (overrides or {}).items():
        if name not in limit_names():
            raise ValueError(f"unknown limit {name!r}; known limits: {', '.join(limit_names())}")
        values[name] = _checked(name, str(value))
    return replace(Limits(), **values)


def _checked(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"limit {name} must be an integer, got {raw!r}") from None
    # Rate limits use 0 for "off", query_probes 0 for "automatic"; every other limit needs
    # room for at least one item.
    smallest = 0 if name.endswith("_per_second") or name == "query_probes" else 1
    if value < smallest:
        raise ValueError(f"limit {name} must be at least {smallest}, got {value}")
    return value


def index_settings(limits: Limits) -> IndexSettings:
    """The engine settings a store's limits table asks for."""
    return IndexSettings(
        fold_rows=limits.index_fold_rows,
        fold_idle_seconds=limits.index_fold_idle_ms / 1000,
        fold_max_age_seconds=limits.index_fold_max_age_ms / 1000,
        ann_min_floats=limits.index_ann_min_floats,
        merge_width=max(2, limits.index_merge_width),
        max_segment_rows=limits.index_max_segment_rows,
        settle_seconds=limits.index_settle_ms / 1000,
        recall_target=min(limits.index_recall_target, 1000) / 1000,
        search=SearchKnobs(
            probes=limits.query_probes or None, rerank=limits.query_rerank,
            exact_scan_floats=limits.query_exact_scan_floats,
        ),
    )
