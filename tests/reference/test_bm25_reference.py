"""tantivy's BM25 equals the plain-Python reference (tests/reference/bm25.py) on real text.

Both score the same analyzed tokens: tantivy's own English analyzer (split on non-alphanumeric
characters, drop tokens over 40 bytes, lowercase, Lucene's 33 English stop words, Snowball's
English stemmer) produces them once, and the reference scores that output with k1 = 1.2 and
b = 0.75, tantivy's constants. tantivy computes in float32 (unit roundoff 6e-8), the reference in
float64; a score is a few operations per query token, so tantivy's relative error stays under
1e-6, and the tolerance of 1e-5 (relative, or absolute below a score of 1) still catches any
difference of formula: a wrong k1, b or df, or a length not encoded as Lucene does, moves a
score by 1e-3 or more.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest
import tantivy

from pgs3v.bench.ann_data.wordnet import read_synsets
from pgs3v.sample_data.catalog import load_products
from tests.reference.bm25 import Bm25, lucene_length, rrf

TOLERANCE = 1e-5
TOP = 100
CATALOG_QUERIES = ("waterproof jacket", "stainless steel", "wireless noise cancelling headphones", "dog",
                   "hardcover graphic novel", "the lake district")
WORDNET_QUERIES = ("dog", "musical instrument", "small european songbird", "river in africa", "the act of",
                   "a person who is", "chemical element with atomic number")


def english() -> tantivy.TextAnalyzer:
    """The analyzer under test: tantivy's "en_stem" chain with Lucene's English stop words added."""
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(tantivy.Filter.remove_long(40))
            .filter(tantivy.Filter.lowercase()).filter(tantivy.Filter.stopword("english"))
            .filter(tantivy.Filter.stemmer("english")).build())


class TextIndex:
    """A tantivy index in memory over numbered texts, written in ``commits`` parts (so as many segments)."""

    def __init__(self, texts: Sequence[str], commits: int = 1) -> None:
        builder = tantivy.SchemaBuilder()
        builder.add_integer_field("row", indexed=True, fast=True)
        builder.add_text_field("text", tokenizer_name="english", index_option="freq")
        self.schema = builder.build()
        self.index = tantivy.Index(self.schema)
        self.index.register_tokenizer("english", english())
        self.writer = self.index.writer(heap_size=50_000_000, num_threads=1)
        step = math.ceil(len(texts) / commits)
        for start in range(0, len(texts), step):
            for row in range(start, min(start + step, len(texts))):
                self.writer.add_document(tantivy.Document(row=row, text=texts[row]))
            self.writer.commit()
        self.index.reload()

    def delete(self, rows: Sequence[int]) -> None:
        """Delete rows by their number and make that visible."""
        for row in rows:
            self.writer.delete_documents_by_term("row", row)
        self.writer.commit()
        self.index.reload()

    def top(self, query: Sequence[str], k: int) -> list[tuple[int, float]]:
        """The ``k`` best rows for the analyzed ``query`` (one optional clause per token), with scores."""
        clauses = [(tantivy.Occur.Should, tantivy.Query.term_query(self.schema, "text", token, index_option="freq"))
                   for token in query]
        searcher = self.index.searcher()
        hits = searcher.search(tantivy.Query.boolean_query(clauses), limit=k, count=False).hits
        rows = searcher.fast_field_values("row", [address for _, address in hits])
        return [(int(row), float(score)) for (score, _), row in zip(hits, rows, strict=True) if row is not None]


def close(engine: float, reference: float) -> bool:
    return math.isclose(engine, reference, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def assert_same_scores(index: TextIndex, reference: Bm25, queries: Sequence[str]) -> None:
    """Each query's top ``TOP``: every hit scored as the reference scores that row, in the reference's order."""
    analyzer = english()
    for text in queries:
        query = analyzer.analyze(text)
        assert query, text
        hits = index.top(query, TOP)
        expected = reference.top(query, TOP)
        assert len(hits) == len(expected) > 0, text
        for (row, score), (_, best) in zip(hits, expected, strict=True):
            assert close(score, reference.score(query, str(row))), (text, row, score, reference.score(query, str(row)))
            # Ties may come in another order; the i-th score is the same either way.
            assert close(score, best), (text, row, score, best)


@pytest.fixture(scope="module")
def catalog() -> list[str]:
    return [product.description for product in load_products()]


@pytest.fixture(scope="module")
def glosses() -> list[str]:
    return [synset.gloss for synset in read_synsets()]


def analyzed(texts: Sequence[str], alive: Sequence[int] | None = None) -> dict[str, list[str]]:
    analyzer = english()
    rows = range(len(texts)) if alive is None else alive
    return {str(row): analyzer.analyze(texts[row]) for row in rows}


@pytest.mark.parametrize("commits", [1, 7])
def test_tantivy_scores_the_sample_catalog_as_the_reference_does(catalog: list[str], commits: int) -> None:
    # Several commits make several segments: the statistics are still the whole index's.
    index = TextIndex(catalog, commits=commits)
    assert (index.index.searcher().num_segments > 1) == (commits > 1)
    reference = Bm25(analyzed(catalog), length=lucene_length)
    assert_same_scores(index, reference, CATALOG_QUERIES)


def test_tantivy_scores_wordnet_glosses_as_the_reference_does(glosses: list[str]) -> None:
    tokens = analyzed(glosses)
    # Glosses longer than 40 tokens exist, so Lucene's length encoding is exercised.
    assert max(map(len, tokens.values())) > 40
    index = TextIndex(glosses, commits=3)
    assert_same_scores(index, Bm25(tokens, length=lucene_length), WORDNET_QUERIES)


def test_tantivy_keeps_deleted_documents_in_its_statistics(catalog: list[str]) -> None:
    """Why the engine cannot take tantivy's scores as they are after a delete (docs/full-text-notes.md)."""
    index = TextIndex(catalog)
    deleted = list(range(0, len(catalog), 3))
    index.delete(deleted)
    alive = [row for row in range(len(catalog)) if row % 3]
    live = Bm25(analyzed(catalog, alive), length=lucene_length)
    everything = Bm25(analyzed(catalog), length=lucene_length)
    query = english().analyze("waterproof jacket")
    hits = index.top(query, TOP)
    assert hits and all(row % 3 for row, _ in hits)  # deleted rows are never returned
    # ... but N, avgdl and df still count them, until a merge rewrites their segment.
    for row, score in hits:
        assert close(score, everything.score(query, str(row)))
        assert not close(score, live.score(query, str(row)))


def test_idf_boosts_leave_tantivy_within_the_avgdl_bound(catalog: list[str]) -> None:
    """The design's scoring step (docs/full-text-notes.md, part 3): boost each clause by
    idf_live / idf_held and every true score lies between 1 and avgdl_live / avgdl_held times
    tantivy's, so a threshold rule over tantivy's order finds the exact top k."""
    index = TextIndex(catalog)
    doomed = [row for row, text in enumerate(catalog) if "steel" in text.lower()][::2]
    index.delete(doomed)
    alive = sorted(set(range(len(catalog))) - set(doomed))
    live = Bm25(analyzed(catalog, alive), length=lucene_length)
    held = Bm25(analyzed(catalog), length=lucene_length)
    ratio = live.average_length / held.average_length
    low, high = min(1.0, ratio) - TOLERANCE, max(1.0, ratio) + TOLERANCE
    query = english().analyze("stainless steel knife")
    clauses = [(tantivy.Occur.Should, tantivy.Query.boost_query(
        tantivy.Query.term_query(index.schema, "text", token, index_option="freq"), live.idf(token) / held.idf(token)))
        for token in query]
    searcher = index.index.searcher()
    hits = searcher.search(tantivy.Query.boolean_query(clauses), limit=TOP, count=False).hits
    rows = searcher.fast_field_values("row", [address for _, address in hits])
    assert len(hits) == TOP
    for (score, _), row in zip(hits, rows, strict=True):
        assert low <= live.score(query, str(row)) / score <= high


def test_lucene_length_encoding() -> None:
    assert [lucene_length(n) for n in range(41)] == list(range(41))
    assert [lucene_length(n) for n in (41, 42, 43, 55, 56, 59, 60, 1000)] == [40, 42, 42, 54, 56, 56, 60, 984]


def test_reciprocal_rank_fusion() -> None:
    fused = rrf([["a", "b", "c"], ["c", "a"]])
    assert fused == pytest.approx({"a": 1 / 61 + 1 / 62, "b": 1 / 62, "c": 1 / 63 + 1 / 61})
    assert sorted(fused, key=lambda key: -fused[key]) == ["a", "c", "b"]
    assert rrf([["x"]], k=0) == {"x": 1.0}
