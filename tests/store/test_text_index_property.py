"""Random writes, deletes, folds and merges: every search equals the reference over the live rows.

A small vocabulary makes shared terms, repeated terms and exact ties common, and small
segments of unequal lengths make each segment's mean length far from the index's, which is
what the threshold rule of :meth:`TextIndex.search` must allow for to return the exact top k.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.store.text_layout import TextLayout, assert_same_as_reference

WORDS = ("apple", "apples", "banana", "cherry", "the", "dog", "dogs", "running", "runs", "steel", "knife", "red",
         "blue", "of", "green", "tea")
KEYS = [f"k{i:02d}" for i in range(24)]

texts = st.lists(st.sampled_from(WORDS), min_size=0, max_size=12).map(" ".join)
puts = st.tuples(st.just("put"), st.sampled_from(KEYS), texts)
operations = st.lists(st.one_of(
    puts, puts, puts,
    st.tuples(st.just("delete"), st.sampled_from(KEYS), st.just("")),
    st.tuples(st.just("fold"), st.integers(1, 8), st.just("")),
    st.tuples(st.just("merge"), st.integers(2, 3), st.just("")),
), min_size=12, max_size=80)
queries = st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations, st.lists(queries, min_size=1, max_size=4), st.integers(1, 8), st.booleans(),
       st.sampled_from([0, 4, 256]), st.integers(1, 16))
def test_any_history_and_layout_gives_the_reference_top_k(
    history: list[tuple[str, object, str]], searches: list[str], k: int, filtered: bool, scan_rows: int,
    first_page: int,
) -> None:
    # The indexes are still open when the directory goes: tantivy's watcher threads may touch it.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as root:
        # Small pages make the threshold rule decide when to stop; scan_rows 0 pages through
        # tantivy for filtered searches too.
        text = TextLayout(Path(root), {"body": "en"}, scan_rows=scan_rows, first_page=first_page)
        for kind, argument, body in history:
            if kind == "put":
                text.put(str(argument), {"body": body})
            elif kind == "delete":
                text.delete(str(argument))
            elif kind == "fold":
                text.fold(int(str(argument)))
            elif len(text.segments) >= 2:
                text.merge(sorted(text.segments)[-int(str(argument)):])
        reference = text.reference("body")
        allowed = set(KEYS[::2]) if filtered else None
        for index in (text.index, text.reopened()):
            for query in searches:
                hits = index.search("body", query, k, None if allowed is None else text.allowed(allowed))
                assert_same_as_reference(hits, reference, query, "en", k, allowed)
