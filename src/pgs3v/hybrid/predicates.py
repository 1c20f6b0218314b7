"""Relational predicates over the sample catalog, one per selectivity the measurement reports.

Each is a fixed SQL condition on ``products AS p`` (it may look at ``reviews`` and ``orders``),
written here and never taken from input: the measurement composes it into its statements with
:mod:`psycopg.sql`. Two of them need joins the store cannot evaluate, which is what hybrid
queries are for. A predicate may also say:

* ``set_condition``: the same rows, written set-at-a-time (``IN (SELECT ... GROUP BY ... HAVING)``)
  instead of a subquery per row. PostgreSQL runs the per-row form only for the rows it is asked
  about, which suits filtering a few fetched neighbours; the set form suits evaluating the
  predicate over the whole table, as the SQL-first pattern does.
* ``metadata_filter``: the part of the predicate the index's metadata can answer, as an S3
  Vectors filter. Pushing it down narrows the ranking; the SQL condition still checks everything.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, LiteralString

from psycopg import sql


@dataclass(frozen=True)
class Predicate:
    """A named condition on ``products AS p`` and the share of products it is meant to keep."""

    name: str
    description: str
    condition: LiteralString  # SQL over products AS p: a constant of this module, never input
    target_selectivity: float
    set_condition: LiteralString | None = None
    metadata_filter: dict[str, Any] | None = None

    def sql(self) -> sql.SQL:
        """The condition, for composing into a statement."""
        return sql.SQL(self.condition)

    def set_form(self) -> Predicate:
        """The same predicate with its set-at-a-time condition."""
        if self.set_condition is None:
            raise ValueError(f"predicate {self.name!r} has no set-at-a-time form")
        return replace(self, name=f"{self.name} (set form)", condition=self.set_condition, set_condition=None)


UNDER_50 = Predicate(
    name="under-50",
    description="price under $50",
    condition="p.price < 50",
    target_selectivity=0.50,
    metadata_filter={"price": {"$lt": 50}},
)
WELL_REVIEWED = Predicate(
    name="five-star-x3",
    description="at least three 5-star reviews",
    condition="(SELECT count(*) FROM reviews AS r WHERE r.product_id = p.product_id AND r.rating = 5) >= 3",
    target_selectivity=0.10,
    set_condition=(
        "p.product_id IN (SELECT r.product_id FROM reviews AS r WHERE r.rating = 5 "
        "GROUP BY r.product_id HAVING count(*) >= 3)"
    ),
)
ACME_BESTSELLERS = Predicate(
    name="acme-bestseller",
    description="acme-retail, in stock, at least 6 units ordered in 2025",
    condition=(
        "p.tenant = 'acme-retail' AND p.in_stock AND "
        "(SELECT sum(o.quantity) FROM orders AS o WHERE o.product_id = p.product_id "
        "AND o.ordered_at >= '2025-01-01T00:00:00Z' AND o.ordered_at < '2026-01-01T00:00:00Z') >= 6"
    ),
    target_selectivity=0.01,
    set_condition=(
        "p.tenant = 'acme-retail' AND p.in_stock AND p.product_id IN ("
        "SELECT o.product_id FROM orders AS o "
        "WHERE o.ordered_at >= '2025-01-01T00:00:00Z' AND o.ordered_at < '2026-01-01T00:00:00Z' "
        "GROUP BY o.product_id HAVING sum(o.quantity) >= 6)"
    ),
    metadata_filter={"tenant": "acme-retail", "in_stock": True},
)

PREDICATES: tuple[Predicate, ...] = (UNDER_50, WELL_REVIEWED, ACME_BESTSELLERS)


def predicate_named(name: str) -> Predicate:
    """The predicate with this name."""
    for predicate in PREDICATES:
        if predicate.name == name:
            return predicate
    raise KeyError(f"no predicate {name!r}; known: {', '.join(p.name for p in PREDICATES)}")
