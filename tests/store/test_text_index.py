"""The engine's full-text search equals the reference BM25 over the live rows, whatever the layout.

The text is the sample catalog's (5,202 products): ``description`` is searchable in English,
``name`` with the standard analyzer. Each layout (one segment, several, segments and a tail,
only a tail), before and after deletes and overwrites, must give the top k of
``tests/reference/bm25.py`` computed over the live rows alone: the same keys in the same order
(ties to the smaller key) and the same scores within 1e-5.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgs3v.sample_data.catalog import load_products
from pgs3v.store.engine.text_index import KeyBuilding, TextIndex
from pgs3v.store.engine.text_segment import (
    SegmentText,
    build_segment_text,
    is_built,
    searchable_text,
    text_directory,
)
from tests.store.text_layout import Metadata, TextLayout, assert_same_as_reference

LANGUAGES = {"description": "en", "name": None}
QUERIES = {
    "description": ("waterproof jacket", "stainless steel", "wireless noise cancelling headphones", "dog",
                    "hardcover graphic novel", "the lake district", "organic cotton", "zzzz-no-such-word"),
    "name": ("deluxe hardcover", "steel", "pro", "mini speaker"),
}
TOPS = (1, 10, 100)


@pytest.fixture(scope="module")
def catalog() -> dict[str, Metadata]:
    return {f"p{product.product_id:05d}": {"description": product.description, "name": product.name,
                                           "category": product.category}
            for product in load_products()}


def layout(root: Path, catalog: dict[str, Metadata], segments: int, tail_share: float) -> TextLayout:
    """The catalog in ``segments`` segments of unequal sizes, then ``tail_share`` of it in the tail."""
    text = TextLayout(root, LANGUAGES)
    keys = list(catalog)
    random.Random(segments).shuffle(keys)
    in_tail = int(len(keys) * tail_share)
    cuts = sorted(random.Random(7).sample(range(1, len(keys) - in_tail), segments - 1)) if segments else []
    bounds = [0, *cuts, len(keys) - in_tail]
    for start, stop in itertools.pairwise(bounds if segments else []):
        for key in keys[start:stop]:
            text.put(key, catalog[key])
        text.fold()
    for key in keys[len(keys) - in_tail:]:
        text.put(key, catalog[key])
    return text


def assert_matches(text: TextLayout, index: TextIndex | None = None) -> None:
    """Every query, on both keys, at every k, gives the reference's answer over the live rows."""
    index = index or text.index
    for key, queries in QUERIES.items():
        reference = text.reference(key)
        for query in queries:
            for k in TOPS:
                assert_same_as_reference(index.search(key, query, k), reference, query, LANGUAGES[key], k)


LAYOUTS = [(1, 0.0), (5, 0.0), (3, 0.2), (0, 1.0)]


@pytest.fixture(params=LAYOUTS, ids=["one-segment", "five-segments", "segments+tail", "tail-only"])
def catalog_layout(request: pytest.FixtureRequest, tmp_path: Path, catalog: dict[str, Metadata]) -> TextLayout:
    segments, tail_share = request.param
    return layout(tmp_path, catalog, segments, tail_share)


def test_scores_equal_the_reference_in_every_layout(catalog_layout: TextLayout) -> None:
    assert_matches(catalog_layout)


def test_deletes_and_overwrites_count_at_once(catalog_layout: TextLayout, catalog: dict[str, Metadata]) -> None:
    rng = random.Random(3)
    keys = sorted(catalog)
    # Rows that hold the queried words go first, so the statistics that matter move.
    steel = [key for key in keys if "steel" in str(catalog[key]).lower()]
    for key in rng.sample(keys, 800) + steel[::2]:
        catalog_layout.delete(key)
    donors = rng.sample(keys, 300)
    for key, donor in zip(rng.sample(keys, 300), donors, strict=True):
        catalog_layout.put(key, catalog[donor])  # an overwrite, often of a row in a segment
    assert_matches(catalog_layout)


def test_statistics_are_the_live_rows(tmp_path: Path, catalog: dict[str, Metadata]) -> None:
    text = layout(tmp_path, catalog, 3, 0.1)
    for key in sorted(catalog)[::4]:
        text.delete(key)
    reference = text.reference("description")
    statistics = text.index.statistics("description", frozenset({"steel", "waterproof"}))
    assert statistics.documents == reference.documents
    assert statistics.average_length == pytest.approx(reference.average_length, rel=1e-12)
    assert statistics.frequencies == {term: reference.document_frequency(term) for term in ("steel", "waterproof")}


def test_filters_narrow_the_rows_not_the_statistics(tmp_path: Path, catalog: dict[str, Metadata]) -> None:
    text = layout(tmp_path, catalog, 4, 0.1)
    for key in sorted(catalog)[::5]:
        text.delete(key)
    reference = text.reference("description")
    books = {key for key, metadata in catalog.items() if metadata and metadata["category"] == "books"}
    few = set(random.Random(5).sample(sorted(catalog), 60))  # under the scan limit: scored straight from text
    for allowed in (books, few):
        for query in QUERIES["description"]:
            for k in TOPS:
                hits = text.index.search("description", query, k, text.allowed(allowed))
                assert_same_as_reference(hits, reference, query, "en", k, allowed)


def test_merges_and_folds_leave_results_unchanged(tmp_path: Path, catalog: dict[str, Metadata]) -> None:
    text = layout(tmp_path, catalog, 4, 0.3)
    for key in sorted(catalog)[1::3]:
        text.delete(key)
    text.fold(200)
    text.merge(sorted(text.segments)[:3])
    assert_matches(text)


def test_a_restart_reopens_segment_text_from_its_files(tmp_path: Path, catalog: dict[str, Metadata]) -> None:
    text = layout(tmp_path, catalog, 3, 0.1)
    for key in sorted(catalog)[::3]:
        text.delete(key)
    reopened = text.reopened()  # the segments' files and deletion masks, the tail replayed
    assert_matches(text, reopened)
    for key, queries in QUERIES.items():
        for query in queries:
            assert reopened.search(key, query, 10) == text.index.search(key, query, 10)


def test_segment_text_files_hold_their_statistics(tmp_path: Path) -> None:
    texts = ["The dogs run", "a cat", None, "dogs, dogs and cats", "", "the"]
    build_segment_text(tmp_path, "note/ü", "en", texts)
    assert is_built(tmp_path, "note/ü") and text_directory(tmp_path, "note/ü").parent == tmp_path
    opened = SegmentText(tmp_path, "note/ü")
    # Rows without text, or whose text analyzes to nothing ("the" is a stop word), are not documents.
    assert (opened.rows, opened.documents, opened.tokens) == (6, 3, 6)
    assert (opened.document_frequency("dog"), opened.document_frequency("cat"), opened.document_frequency("the")) == (
        2, 2, 0)
    assert {candidate.row for candidate in opened.candidates([("dog", 1.0)], 0, 10)} == {0, 3}


def test_an_interrupted_build_is_not_a_text_index(tmp_path: Path) -> None:
    partial = text_directory(tmp_path, "description").with_name(text_directory(tmp_path, "description").name
                                                                + ".partial")
    partial.mkdir()
    (partial / "meta.json").write_text("{}")
    assert not is_built(tmp_path, "description")
    build_segment_text(tmp_path, "description", "en", ["a steel knife"])  # starts over
    assert is_built(tmp_path, "description") and not partial.exists()


def test_lists_of_strings_are_searchable_and_other_values_are_not(tmp_path: Path) -> None:
    text = TextLayout(tmp_path, {"tags": None})
    rows: Iterator[tuple[str, Metadata]] = iter([
        ("a", {"tags": ["red", "steel"]}), ("b", {"tags": "steel"}), ("c", {"tags": 7}), ("d", {"tags": [1, "steel"]}),
        ("e", None), ("f", {"other": "steel"})])
    for key, metadata in rows:
        text.put(key, metadata)
    text.fold(3)
    assert {hit.key for hit in text.index.search("tags", "steel", 10)} == {"a", "b"}
    assert_same_as_reference(text.index.search("tags", "red steel", 10), text.reference("tags"), "red steel", None,
                             10)


def test_a_segment_with_short_rows_is_read_past_its_first_hits(tmp_path: Path) -> None:
    """The threshold rule's factor at work: in a segment of short rows, tantivy (normalising by that
    segment's mean length) ranks a longer row with more matches below a short one; with the index's
    much larger mean length the longer row is the best, and the search must read on to find it."""
    text = TextLayout(tmp_path, {"body": None}, first_page=1)
    for i in range(4):  # more than the first page (2k rows) holds
        text.put(f"a{i}-short", {"body": "x"})
    text.put("b-longer", {"body": "x x w w w w w w"})
    for i in range(20):
        text.put(f"c{i:02d}", {"body": "y"})
    text.fold()
    for i in range(20):
        text.put(f"d{i:02d}", {"body": " ".join(["z"] * 40)})
    text.fold()
    hits = text.index.search("body", "x", 1)
    assert [hit.key for hit in hits] == ["b-longer"]
    assert_same_as_reference(hits, text.reference("body"), "x", None, 1)


def test_each_key_searches_with_its_own_language(tmp_path: Path) -> None:
    languages = {"zh": "zh", "ja": "ja", "ko": "ko", "de": "de"}
    rows = {
        "r1": {"zh": "我喜欢北京的天气。", "ja": "東京は日本の首都です。", "ko": "서울은 한국의 수도입니다.",
               "de": "Die Kinder liefen durch die Gärten."},
        "r2": {"zh": "北京是中国的首都，北京很大。", "ja": "京都は古い都です。", "ko": "부산은 한국의 항구 도시입니다.",
               "de": "Das Haus hat einen Garten."},
        "r3": {"zh": "上海的天气很热。", "ja": "日本の首都は東京です。東京は大きい。",
               "ko": "한국의 수도는 서울입니다.", "de": "Häuser und Kinder."},
    }
    text = TextLayout(tmp_path, languages)
    for key, metadata in rows.items():
        text.put(key, metadata)
    text.fold(2)  # r1, r2 in a segment, r3 in the tail
    for key, query, best in (("zh", "北京", "r2"), ("ja", "東京", "r3"), ("ko", "서울", "r1"), ("de", "Garten", "r2")):
        hits = text.index.search(key, query, 3)
        assert hits[0].key == best, (key, hits)
        assert_same_as_reference(hits, text.reference(key), query, languages[key], 3)


def test_searches_during_folds_and_merges_see_every_row_once(tmp_path: Path, catalog: dict[str, Metadata]) -> None:
    """A fold or merge lands in one step (TextIndex.publish): a search running beside it never
    sees a row twice or not at all, so, the live rows being the same, its answer never changes."""
    text = TextLayout(tmp_path, LANGUAGES)
    for key in sorted(catalog)[:1500]:
        text.put(key, catalog[key])
    def answer() -> list[tuple[str, float]]:
        return [(hit.key, hit.score) for hit in text.index.search("description", "stainless steel", 100)]

    expected = answer()
    answers: list[list[tuple[str, float]]] = []
    done = threading.Event()

    def search() -> None:
        while not done.is_set():
            answers.append(answer())

    searcher = threading.Thread(target=search)
    searcher.start()
    try:
        for _ in range(6):
            text.fold(250)
        text.merge(sorted(text.segments)[:3])
    finally:
        done.set()
        searcher.join()
    assert answers and all(answer == expected for answer in answers)


def test_a_key_added_later_is_backfilled_segment_by_segment(tmp_path: Path, catalog: dict[str, Metadata]) -> None:
    """UpdateMetadataConfiguration add: BUILDING until every segment has the key's text index."""
    text = layout(tmp_path, catalog, 3, 0.1)
    text.index.drop_key("name")
    text.languages.pop("name")
    for key in sorted(catalog)[::7]:
        text.delete(key)
    text.index.add_key("name", None, [(key, text.live[key]) for key in sorted(text.tail)])
    text.languages["name"] = None
    assert text.index.building("name")
    with pytest.raises(KeyBuilding):
        text.index.search("name", "steel", 10)
    for key in sorted(catalog)[1::7]:  # deletes while building count too
        text.delete(key)
    for name, files in sorted(text.segments.items()):
        build_segment_text(files.directory, "name", None, [searchable_text(m, "name") for m in files.metadata])
        text.index.backfill(name, "name")
    assert not text.index.building("name")
    for key in sorted(catalog)[2::7]:
        text.delete(key)
    assert_matches(text)
