"""The hypothesis state machine of test_index_oracle.py, with rows that carry searchable text.

Every rule of :class:`IndexAgainstOracle` runs as there (puts, overwrites, deletes, folds, merges,
optimize, restarts, kill -9 at each step of the indexer's commit), on an index with two
full-text searchable keys: ``body`` in English (stop words, stemming) and ``title`` with the
standard analyzer. Rows carry text from a small vocabulary, so that queries hit, terms repeat
and scores tie, and some carry none of it: no metadata, no such key, a number, only stop words
(which analyze to nothing), or a list of strings (searched joined). After every step, and for
random queries with and without a filter, :meth:`VectorIndex.text_search` must equal
``tests/reference/bm25.py`` over the oracle's live rows: the same keys in the same order, scores
within 1e-5. The reference has no segments, so its statistics are the index's as a whole (a
document is a live row whose text for the key analyzes to at least one term: docs/full-text-notes.md,
part 3), and any dependence on the segment layout, a stale deletion or a lost tail shows.
"""

from __future__ import annotations

import shutil
from typing import Any

import hypothesis.strategies as st
import numpy as np
from hypothesis.stateful import invariant, precondition, rule

from pgs3v.store.engine.filters import compile_filter
from pgs3v.store.engine.mutations import PutBatch
from pgs3v.store.engine.vector_index import VectorIndex
from pgs3v.store.storage.local_objects import LocalObjects
from pgs3v.store.storage.store_storage import ObjectStoreStorage, local_index_storage
from tests.store.test_index_oracle import (
    DIMENSION,
    ENGINE,
    GROUPS,
    IndexAgainstOracle,
    _abandon,
    _matches,
    _settings,
    _vectors,
    batches,
)
from tests.store.text_layout import assert_same_as_reference, reference_bm25

LANGUAGES: dict[str, str | None] = {"body": "en", "title": None}
# "running" and "runs" stem to one English term; "the" and "of" are English stop words but terms
# of the standard analyzer; "Amber" and "amber" are one term after lowercasing.
WORDS = ("amber", "Amber", "birch", "cedar", "dune", "ember", "the", "of", "running", "runs", "dogs", "dog")

Metadata = dict[str, Any] | None


def _text(rng: np.random.Generator) -> Any:
    """A value for a searchable key: mostly words, sometimes what holds no searchable text."""
    kind = rng.integers(0, 10)
    words = [str(word) for word in rng.choice(WORDS, size=int(rng.integers(1, 9)))]
    if kind == 0:
        return None  # the key absent
    if kind == 1:
        return 42  # not text: left out of the key's documents
    if kind == 2:
        return "the of"  # English stop words only: nothing to index in body, two terms in title
    if kind == 3:
        return [*words[:3], ""] if len(words) > 1 else words  # a list of strings: searched joined
    return " ".join(words)


def _metadata(seed: int, position: int) -> Metadata:
    rng = np.random.default_rng([seed, position])
    if rng.integers(0, 12) == 0:
        return None
    metadata: dict[str, Any] = {"group": (seed + position) % GROUPS, "note": "x" * (position % 3)}
    for key in LANGUAGES:
        value = _text(rng)
        if value is not None:
            metadata[key] = value
    return metadata


queries = st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join)


class TextIndexAgainstOracle(IndexAgainstOracle):
    """The engine's text search must always equal the reference BM25 over the oracle's live rows."""

    def _open(self) -> VectorIndex:
        storage = local_index_storage(self.directory / "index")
        return VectorIndex(storage, DIMENSION, self.metric, frozenset({"note"}), ENGINE, text_keys=LANGUAGES)

    @rule(batch=batches)
    def put_texts(self, batch: tuple[int, list[str]]) -> None:
        """Puts and overwrites, each row with its texts (or none); the inherited put writes rows without."""
        seed, keys = batch
        vectors = _vectors(seed, len(keys))
        metadata = [_metadata(seed, position) for position in range(len(keys))]
        self.index.write(PutBatch(keys, vectors, metadata))
        for key, vector, meta in zip(keys, vectors, metadata, strict=True):
            self.model[key] = (vector, meta)

    def _assert_text_search(self, key: str, query: str, k: int, group: int | None) -> None:
        live = {vector_key: meta for vector_key, (_, meta) in self.model.items()}
        document = None if group is None else {"group": {"$lte": group}} if group % 3 == 0 else {"group": group}
        row_filter = allowed = None
        if document is not None:
            row_filter = compile_filter(document, non_filterable_keys=frozenset({"note"}), max_depth=8)
            allowed = {vector_key for vector_key, meta in live.items() if _matches(document, meta)}
        hits = self.index.text_search(key, query, k, row_filter)
        assert_same_as_reference(hits, reference_bm25(live, key, LANGUAGES[key]), query, LANGUAGES[key], k, allowed)

    @precondition(lambda self: bool(self.model))
    @rule(key=st.sampled_from(sorted(LANGUAGES)), query=queries, k=st.integers(1, 30),
          group=st.none() | st.integers(0, GROUPS))
    def text_query(self, key: str, query: str, k: int, group: int | None) -> None:
        self._assert_text_search(key, query, k, group)

    @invariant()
    def text_search_matches(self) -> None:
        # Deep enough to hold every match of a small index: the whole ranking, not only its head.
        self._assert_text_search("body", "amber running", 400, None)
        self._assert_text_search("title", "the dog", 10, None)


class ObjectStorageTextIndexAgainstOracle(TextIndexAgainstOracle):
    """The same with the index kept as objects and segments in a 1 MiB cache, which a rule wipes:
    a server that lost its disk fetches the segments and their text folders again."""

    def _open(self) -> VectorIndex:
        storage = ObjectStoreStorage(LocalObjects(self.directory / "bucket"), self.directory / "cache", 1 << 20)
        return VectorIndex(storage.index("oracle"), DIMENSION, self.metric, frozenset({"note"}), ENGINE,
                           text_keys=LANGUAGES)

    @rule()
    def restart_on_an_empty_disk(self) -> None:
        _abandon(self.index)
        shutil.rmtree(self.directory / "cache", ignore_errors=True)
        self.index = self._open()


TextIndexAgainstOracle.TestCase.settings = _settings
ObjectStorageTextIndexAgainstOracle.TestCase.settings = _settings
test_text_index_against_oracle = TextIndexAgainstOracle.TestCase
test_object_storage_text_index_against_oracle = ObjectStorageTextIndexAgainstOracle.TestCase
