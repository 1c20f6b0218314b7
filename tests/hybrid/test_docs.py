"""The SQL examples of docs/hybrid-queries.md run as printed (as a reader) and return what they say."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import LiteralString

import numpy as np

from pgs3v.hybrid.predicates import ACME_BESTSELLERS, WELL_REVIEWED
from tests.hybrid.conftest import Catalog, Connection, invocations

DOC = Path(__file__).resolve().parents[2] / "docs" / "hybrid-queries.md"
EXAMPLES = re.findall(r"```sql\n(-- example:.*?)```", DOC.read_text(), flags=re.DOTALL)
ANCHOR = "KIT-DOX-00098"


def as_printed(example: str, catalog: Catalog) -> LiteralString:
    """The example with the test catalog's bucket in place of 'catalog'."""
    text: LiteralString = example.replace("'catalog', 'products'",
                                          f"'{catalog.where.bucket}', '{catalog.where.index}'")
    return text


def anchor_vector(db: Connection) -> np.ndarray:
    row = db.execute("SELECT embedding FROM products WHERE sku = %s", (ANCHOR,)).fetchone()
    assert row is not None
    return np.asarray(row[0], dtype=np.float32)


def passing(db: Connection, condition: LiteralString) -> list[str]:
    return [str(r[0]) for r in db.execute("SELECT p.sku FROM products AS p WHERE " + condition)]


def test_there_is_one_example_per_pattern() -> None:
    assert len(EXAMPLES) == 5
    assert "s3vectors.query_vectors(" in EXAMPLES[0] and "$in" in EXAMPLES[1]
    assert "s3vectors.query_vectors_paged(" in EXAMPLES[2]
    # "Text, vector or both": full text alone, then hybrid. This catalog's index has no searchable
    # key, so they run elsewhere: tests/sql/test_text_queries.py runs both shapes, and the demo
    # (tests/demo) runs a hybrid statement of the same shape.
    assert "query_texts =>" in EXAMPLES[3] and "$1::real[]" not in EXAMPLES[3]
    assert "query_texts =>" in EXAMPLES[4] and "$1::real[]" in EXAMPLES[4]


def test_post_filter_example(reader: Connection, db: Connection, catalog: Catalog) -> None:
    rows = reader.execute(as_printed(EXAMPLES[0], catalog)).fetchall()
    allowed = set(passing(db, "p.in_stock AND p.price < 80"))
    fetched = catalog.search.top_k(anchor_vector(db), catalog.skus, 30)
    assert [r[0] for r in rows] == [key for key in fetched.keys if key in allowed][:10]


def test_push_down_example_is_exact(reader: Connection, db: Connection, catalog: Catalog) -> None:
    rows = reader.execute(as_printed(EXAMPLES[1], catalog)).fetchall()
    exact = catalog.search.top_k(anchor_vector(db), passing(db, WELL_REVIEWED.condition), 10)
    assert np.allclose([r[1] for r in rows], exact.distances, atol=1e-5)


def test_paged_example_is_exact_and_stops_early(reader: Connection, db: Connection, catalog: Catalog) -> None:
    with db.transaction():
        before = invocations(db)
        rows = db.execute(as_printed(EXAMPLES[2], catalog)).fetchall()
        calls = invocations(db) - before
    assert reader.execute(as_printed(EXAMPLES[2], catalog)).fetchall() == rows
    exact = catalog.search.top_k(anchor_vector(db), passing(db, ACME_BESTSELLERS.condition), 10)
    assert np.allclose([r[2] for r in rows], exact.distances, atol=1e-5)
    # Pages of 100 of the walk over acme-retail's products in stock, up to the 10th that passes.
    walk = [str(r[0]) for r in db.execute(
        "SELECT key FROM s3vectors.query_vectors_paged(%s, %s, %s::real[], max_depth => 5000, "
        "filter => '{\"tenant\": \"acme-retail\", \"in_stock\": true}') ORDER BY rank",
        (catalog.where.bucket, catalog.where.index, anchor_vector(db).tolist()))]
    allowed = set(passing(db, ACME_BESTSELLERS.condition))
    tenth = [rank for rank, key in enumerate(walk, 1) if key in allowed][9]
    assert calls == math.ceil(tenth / 100)
