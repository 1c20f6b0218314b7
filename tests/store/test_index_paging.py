"""Paging an approximate ranking with a cursor: no vector twice, distances in order, nearly all reached."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pgs3v.store.engine.distances import exact_distances
from pgs3v.store.engine.index_settings import IndexSettings
from pgs3v.store.engine.mutations import PutBatch
from pgs3v.store.engine.vector_index import VectorIndex
from pgs3v.store.storage.store_storage import local_index_storage

ROWS, DIMENSION, PAGE = 4000, 16, 50


def test_a_cursor_walk_never_repeats_a_vector(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    vectors = rng.standard_normal((ROWS, DIMENSION)).astype(np.float32)
    settings = IndexSettings(background=False, ann_min_floats=1000, build_threads=1)
    index = VectorIndex(local_index_storage(tmp_path / "index"), DIMENSION, "cosine", frozenset(), settings)
    try:
        index.write(PutBatch([f"v{i}" for i in range(ROWS)], vectors, [None] * ROWS))
        index.optimize()
        assert [s.segment.ann is not None for s in index.segment_states()] == [True]
        query = rng.standard_normal(DIMENSION).astype(np.float32)
        walk: list[tuple[str, float]] = []
        after = None
        while True:
            page = index.query(query, PAGE + 1, len(walk), None, after=after)
            walk += [(n.key, n.distance) for n in page[:PAGE]]
            if len(page) <= PAGE:
                break
            after = (page[PAGE - 1].distance, page[PAGE - 1].key)
        keys = [key for key, _ in walk]
        assert len(keys) == len(set(keys))
        distances = [distance for _, distance in walk]
        assert distances == sorted(distances)
        exact = exact_distances("cosine", query, vectors)
        for key, distance in walk:
            assert abs(exact[int(key[1:])] - distance) < 1e-9
        # The first page is approximate; what it misses is not returned later, so allow a few.
        assert len(walk) >= 0.95 * ROWS
        first = {key for key, _ in walk[:PAGE]}
        assert len(first & {f"v{i}" for i in np.argsort(exact)[:PAGE]}) >= 0.9 * PAGE
    finally:
        index.close()
