"""VectorIndex drives its TextIndex: writes, folds, merges, reopen and keys added later, against the reference BM25.

Engine level (no server): the sample catalog's descriptions (English) and names (standard analyzer)
written through :meth:`VectorIndex.write`, folded and merged by the engine's own steps, deleted and
overwritten wherever the rows live; every search must equal ``tests/reference/bm25.py`` over the
live rows, before and after a reopen from the segments and the log.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pgs3v.sample_data.catalog import load_products
from pgs3v.store.engine.filters import compile_filter
from pgs3v.store.engine.index_settings import IndexSettings
from pgs3v.store.engine.mutations import DeleteBatch, PutBatch
from pgs3v.store.engine.text_analyzers import analyze
from pgs3v.store.engine.text_index import KeyBuilding
from pgs3v.store.engine.vector_index import VectorIndex
from pgs3v.store.storage.local_objects import LocalObjects
from pgs3v.store.storage.store_storage import ObjectStoreStorage, local_index_storage
from tests.reference.bm25 import Bm25
from tests.store.text_layout import close, reference_bm25

DIMENSION = 4
LANGUAGES: dict[str, str | None] = {"description": "en", "name": None}
QUERIES = {
    "description": ("waterproof jacket", "stainless steel", "wireless noise cancelling headphones", "dog",
                    "organic cotton", "zzzz-no-such-word"),
    "name": ("deluxe hardcover", "steel", "pro"),
}
SETTINGS = IndexSettings(fold_rows=1_000_000, background=False, build_threads=1, merge_width=3)

Metadata = dict[str, Any] | None


@pytest.fixture(scope="module")
def catalog() -> dict[str, Metadata]:
    products = load_products()[:1500]
    return {f"p{p.product_id:05d}": {"description": p.description, "name": p.name, "category": p.category}
            for p in products}


def _vectors(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((count, DIMENSION)).astype(np.float32)


def _put(index: VectorIndex, live: dict[str, Metadata], rows: dict[str, Metadata]) -> None:
    keys = list(rows)
    for start in range(0, len(keys), 400):
        chunk = keys[start:start + 400]
        index.write(PutBatch(chunk, _vectors(len(chunk), start), [rows[k] for k in chunk]))
    live.update(rows)


def _delete(index: VectorIndex, live: dict[str, Metadata], keys: list[str]) -> None:
    index.write(DeleteBatch(keys))
    for key in keys:
        live.pop(key, None)


def _reference(live: dict[str, Metadata], key: str) -> Bm25:
    return reference_bm25(live, key, LANGUAGES[key])


def _check(index: VectorIndex, live: dict[str, Metadata], tops: tuple[int, ...] = (1, 10, 50)) -> None:
    for key, queries in QUERIES.items():
        reference = _reference(live, key)
        for query in queries:
            terms = analyze(query, LANGUAGES[key])
            for top in tops:
                found = index.text_search(key, query, top, None)
                expected = reference.top(terms, top)
                assert [hit.key for hit in found] == [k for k, _ in expected], (key, query, top)
                assert all(close(hit.score, score) for hit, (_, score) in zip(found, expected, strict=True))


@pytest.fixture
def directory(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "index"


def _open(directory: Path, keys: dict[str, str | None] | None = None) -> VectorIndex:
    return VectorIndex(local_index_storage(directory), DIMENSION, "euclidean", frozenset(), SETTINGS,
                       text_keys=LANGUAGES if keys is None else keys)


def test_writes_folds_merges_and_reopen_match_the_reference(directory: Path, catalog: dict[str, Metadata]) -> None:
    keys = list(catalog)
    live: dict[str, Metadata] = {}
    index = _open(directory)
    try:
        for part in range(3):  # three segments of 400, then a tail
            _put(index, live, {k: catalog[k] for k in keys[part * 400:(part + 1) * 400]})
            index.fold()
        _put(index, live, {k: catalog[k] for k in keys[1200:]})
        _check(index, live)
        # Deletes and overwrites in segments and in the tail count at once.
        _delete(index, live, keys[::7])
        swapped = {k: catalog[keys[(i * 13) % len(keys)]] for i, k in enumerate(keys[3::11])}
        _put(index, live, swapped)
        _check(index, live)
        index.fold()
        _check(index, live)
        index.merge([live_segment.segment.name for live_segment in index.segment_states()][:3])
        _check(index, live)
        _delete(index, live, keys[5::9])  # unfolded, replayed after the reopen
    finally:
        index.close()
    reopened = _open(directory)
    try:
        _check(reopened, live)
    finally:
        reopened.close()


def test_filters_narrow_the_rows_not_the_statistics(directory: Path, catalog: dict[str, Metadata]) -> None:
    keys = list(catalog)
    live: dict[str, Metadata] = {}
    index = _open(directory)
    try:
        _put(index, live, {k: catalog[k] for k in keys[:900]})
        index.fold()
        _put(index, live, {k: catalog[k] for k in keys[900:]})
        category = next(iter(live.values()))["category"]  # type: ignore[index]
        row_filter = compile_filter({"category": category}, non_filterable_keys=frozenset(), max_depth=16)
        reference = _reference(live, "description")
        for query in QUERIES["description"]:
            terms = analyze(query, "en")
            expected = [(k, s) for k, s in reference.top(terms, len(live))
                        if live[k]["category"] == category][:10]  # type: ignore[index]
            found = index.text_search("description", query, 10, row_filter)
            assert [hit.key for hit in found] == [k for k, _ in expected], query
    finally:
        index.close()


def test_a_key_added_later_is_backfilled_then_searchable(directory: Path, catalog: dict[str, Metadata]) -> None:
    keys = list(catalog)
    live: dict[str, Metadata] = {}
    index = _open(directory, {})
    try:
        _put(index, live, {k: catalog[k] for k in keys[:600]})
        index.fold()
        _put(index, live, {k: catalog[k] for k in keys[600:900]})
        with pytest.raises(KeyError):
            index.text_search("description", "steel", 5, None)
        index.add_text_key("description", "en")
        index.add_text_key("name", None)
        assert not index.text_key_building("description")
        _put(index, live, {k: catalog[k] for k in keys[900:]})
        _check(index, live)
        index.drop_text_key("name")
        assert index.text_keys == {"description": "en"}
    finally:
        index.close()
    # A key the catalog names but a segment lacks (a crash mid-backfill) is built at open.
    reopened = _open(directory)
    try:
        _check(reopened, live)
    finally:
        reopened.close()


def test_building_key_refuses_search(directory: Path) -> None:
    index = _open(directory, {})
    try:
        index.write(PutBatch(["a"], _vectors(1), [{"description": "steel"}]))
        index.fold()
        index._text.add_key("description", "en", [])  # the state between add and backfill
        with pytest.raises(KeyBuilding):
            index.text_search("description", "steel", 5, None)
    finally:
        index.close()


def test_two_servers_on_one_prefix_search_the_same_rows(tmp_path: Path, catalog: dict[str, Metadata]) -> None:
    def server(name: str) -> VectorIndex:
        storage = ObjectStoreStorage(LocalObjects(tmp_path / "bucket"), tmp_path / f"cache-{name}", 1 << 30)
        return VectorIndex(storage.index("shared"), DIMENSION, "euclidean", frozenset(), SETTINGS,
                           text_keys=LANGUAGES)

    keys = list(catalog)
    live: dict[str, Metadata] = {}
    first = server("a")
    try:
        _put(first, live, {k: catalog[k] for k in keys[:700]})
        first.fold()  # its segment, text folders included, uploaded before the manifest names it
        assert any(path.name.startswith("text-") for path in (tmp_path / "bucket").rglob("*"))
        second = server("b")  # an empty cache: the segment is fetched, its text indexes with it
        try:
            _put(first, live, {k: catalog[k] for k in keys[700:1000]})
            _delete(first, live, keys[:700:6])
            second.catch_up()  # the other server's writes, applied to the text index too
            _check(second, live)
        finally:
            second.close()
    finally:
        first.close()


def test_a_key_added_again_with_another_language_is_rebuilt(directory: Path) -> None:
    index = _open(directory, {"description": "en"})
    try:
        index.write(PutBatch(["a", "b"], _vectors(2), [{"description": "running dogs"}, {"description": "cat"}]))
        index.fold()
        assert [hit.key for hit in index.text_search("description", "run", 5, None)] == ["a"]  # stemmed
        index.drop_text_key("description")
        index.add_text_key("description", None)  # the standard analyzer: no stemming
        assert index.text_search("description", "run", 5, None) == []
        assert [hit.key for hit in index.text_search("description", "running", 5, None)] == ["a"]
    finally:
        index.close()
    reopened = _open(directory, {"description": None})
    try:
        assert reopened.text_search("description", "run", 5, None) == []
    finally:
        reopened.close()
