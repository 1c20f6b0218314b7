"""The three hybrid query patterns as SQL statements over the catalog tables and index.

* :class:`PostFilter` (a): vector search first with ``top_k = k * overfetch``, then the relational
  predicate as an ordinary ``WHERE`` on the joined rows. One QueryVectors call; returns fewer than
  ``k`` rows when fewer than ``k`` of the fetched neighbours pass the predicate.
* :class:`PushDown` (b): the predicate first, in SQL; the ids of the rows that pass go to the store
  as the metadata filter ``{"product_id": {"$in": [...]}}``. One QueryVectors call, exact within
  the candidates; the filter grows with the number of candidates.
* :class:`Paged` (c): ``s3vectors.query_vectors_paged`` streams the ranking page by page into the
  join; the ``LIMIT`` stops the walk once ``k`` rows passed the predicate (or at ``max_depth``).
  Optionally the part of the predicate the metadata can answer is pushed down as a filter.

Statements are composed with :mod:`psycopg.sql` from constants and a :class:`Predicate`'s fixed
condition; everything else (names, vector, sizes, filter) is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from pgs3v.hybrid.catalog_tables import CatalogIndex
from pgs3v.hybrid.predicates import Predicate

Connection = psycopg.Connection[TupleRow]

_POST_FILTER = """
SELECT p.sku, q.distance
FROM s3vectors.query_vectors(%(bucket)s, %(index)s, %(vector)s::real[], top_k => %(fetch)s) AS q
JOIN products AS p ON p.sku = q.key
WHERE {predicate}
ORDER BY q.distance
LIMIT %(k)s
"""

# The candidates' ids as a JSON array; NULL when there are none, and then no query is sent
# (an empty $in is invalid, and a NULL filter would mean no filter at all).
_PUSH_DOWN = """
WITH candidates AS (
    SELECT jsonb_agg(p.product_id) AS ids FROM products AS p WHERE {predicate}
)
SELECT q.key, q.distance
FROM candidates AS c
CROSS JOIN LATERAL s3vectors.query_vectors(
    %(bucket)s, %(index)s, %(vector)s::real[], top_k => %(k)s,
    filter => jsonb_build_object('product_id', jsonb_build_object('$in', c.ids))) AS q
WHERE c.ids IS NOT NULL
ORDER BY q.distance
"""

# The paged walk in the SELECT list, so PostgreSQL asks it for one row at a time; no ORDER BY
# under the LIMIT (a sort would read the whole walk): rows arrive nearest first, and the outer
# ORDER BY only sorts the k that passed.
_PAGED = """
SELECT hits.sku, hits.distance
FROM (
    SELECT p.sku, q.distance
    FROM (SELECT (s3vectors.query_vectors_paged(%(bucket)s, %(index)s, %(vector)s::real[],
                                                top_k => %(page_size)s, filter => %(filter)s::jsonb,
                                                max_depth => %(max_depth)s)).*) AS q
    JOIN products AS p ON p.sku = q.key
    WHERE {predicate}
    LIMIT %(k)s
) AS hits
ORDER BY hits.distance
"""

# How many rows of the ranking can one QueryVectors call return (the GA service's topK limit).
MAX_TOP_K = 100


@dataclass(frozen=True)
class PostFilter:
    """Pattern (a): fetch ``k * overfetch`` neighbours, keep those that pass, return the first ``k``."""

    overfetch: int

    @property
    def label(self) -> str:
        """How the pattern is named in reports."""
        return f"a: post-filter, top_k = k x {self.overfetch}"


@dataclass(frozen=True)
class PushDown:
    """Pattern (b): push the ids of the rows that pass down as an ``$in`` metadata filter.

    ``set_form`` evaluates the predicate's set-at-a-time condition instead of its per-row one.
    """

    set_form: bool = False

    @property
    def label(self) -> str:
        """How the pattern is named in reports."""
        return "b: push-down $in, set-form SQL" if self.set_form else "b: push-down $in"


@dataclass(frozen=True)
class Paged:
    """Pattern (c): walk the ranking ``page_size`` rows at a time until ``k`` pass, or ``max_depth``.

    ``metadata_filter`` pushes the predicate's metadata part down, so the walk ranks only the
    vectors that can pass.
    """

    page_size: int = MAX_TOP_K
    max_depth: int = 10_000
    metadata_filter: bool = False

    @property
    def label(self) -> str:
        """How the pattern is named in reports."""
        return f"c: paged, {self.page_size}/page" + (" + metadata filter" if self.metadata_filter else "")


Pattern = PostFilter | PushDown | Paged


@dataclass(frozen=True)
class Hits:
    """What a pattern returned: keys (skus), nearest first, and their distances."""

    keys: list[str]
    distances: list[float]


def applies(pattern: Pattern, predicate: Predicate) -> bool:
    """Whether the predicate has what the pattern needs (a set form, a metadata part)."""
    match pattern:
        case PushDown(set_form=True):
            return predicate.set_condition is not None
        case Paged(metadata_filter=True):
            return predicate.metadata_filter is not None
    return True


def statement(pattern: Pattern, predicate: Predicate) -> sql.Composed:
    """The SQL statement of a pattern with a predicate in it."""
    match pattern:
        case PostFilter():
            template = _POST_FILTER
        case PushDown(set_form=set_form):
            template = _PUSH_DOWN
            predicate = predicate.set_form() if set_form else predicate
        case Paged():
            template = _PAGED
    return sql.SQL(template).format(predicate=predicate.sql())


def parameters(
    pattern: Pattern, predicate: Predicate, where: CatalogIndex, vector: Sequence[float], k: int
) -> dict[str, Any]:
    """The bound parameters of a pattern's statement."""
    values: dict[str, Any] = {"bucket": where.bucket, "index": where.index, "vector": list(vector), "k": k}
    match pattern:
        case PostFilter(overfetch=overfetch):
            fetch = k * overfetch
            if fetch > MAX_TOP_K:
                raise ValueError(f"k x overfetch = {fetch} is above the topK limit of {MAX_TOP_K}")
            values["fetch"] = fetch
        case Paged(page_size=page_size, max_depth=max_depth, metadata_filter=push):
            pushed = predicate.metadata_filter if push else None
            if push and pushed is None:
                raise ValueError(f"predicate {predicate.name!r} has no metadata part to push down")
            values.update(page_size=page_size, max_depth=max_depth, filter=None if pushed is None else Jsonb(pushed))
        case PushDown():
            pass
    return values


def run_pattern(
    conn: Connection, pattern: Pattern, predicate: Predicate, where: CatalogIndex, vector: Sequence[float], k: int
) -> Hits:
    """Run one pattern for one query vector; the rows it returned, nearest first."""
    rows = conn.execute(statement(pattern, predicate), parameters(pattern, predicate, where, vector, k)).fetchall()
    return Hits([str(row[0]) for row in rows], [float(row[1]) for row in rows])
