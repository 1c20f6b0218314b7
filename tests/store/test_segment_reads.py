"""Reading a segment's rows: the same vectors whether the file was cached or read ahead."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import pgs3v.store.engine.segment as segment_module
from pgs3v.store.engine.distances import exact_distances
from pgs3v.store.engine.metadata_columns import MetadataColumns
from pgs3v.store.engine.segment import Segment, SegmentBuild, write_segment
from pgs3v.store.engine.segment_rows import SegmentRows
from pgs3v.store.engine.segment_search import SearchKnobs, search_segment
from pgs3v.store.engine.vector_table import key_order


def _segment(directory: Path, rows: int, dimension: int) -> tuple[Segment, np.ndarray]:
    vectors = np.random.default_rng(5).standard_normal((rows, dimension)).astype(np.float32)
    keys = [f"k{i}" for i in range(rows)]
    hashes = [key_order(key) for key in keys]
    columns = MetadataColumns()
    columns.append([None] * rows)
    write_segment(
        directory,
        SegmentRows.encoded(keys, vectors, [None] * rows, np.array([h for h, _ in hashes], dtype=np.uint64),
                            np.array([low for _, low in hashes], dtype=np.uint64), columns),
        SegmentBuild("cosine", ann_min_floats=10**9),
    )
    return Segment(directory), vectors


@pytest.mark.parametrize("read_ahead", [False, True])
def test_read_rows_returns_the_rows_asked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              read_ahead: bool) -> None:
    # 3 rows per page at 1,300 floats: rows straddle pages, and neighbours share them.
    segment, vectors = _segment(tmp_path / "seg", 400, 1300)
    # Every probe counts as slow (or as fast): the path under test runs whatever the page cache
    # holds and however busy the machine is.
    monkeypatch.setattr(segment_module, "_CACHED_PROBE_SECONDS", -1.0 if read_ahead else 1e9)
    called: list[int] = []
    real = segment_module._read_ahead

    def counted(array: np.ndarray, rows: np.ndarray) -> None:
        called.append(len(rows))
        real(array, rows)

    monkeypatch.setattr(segment_module, "_read_ahead", counted)
    rng = np.random.default_rng(9)
    for count in (1, 16, 17, 200, 400):
        rows = np.sort(rng.choice(400, count, replace=False))
        assert np.array_equal(segment.read_rows(rows), vectors[rows])
    # The first and the last rows of the file, in runs that share pages.
    edges = np.array([*range(0, 9), *range(391, 400)], dtype=np.int64)
    assert np.array_equal(segment.read_rows(edges), vectors[edges])
    assert bool(called) == read_ahead


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("stored_norms", [True, False])
def test_an_exact_scan_ranks_as_float64_does(tmp_path: Path, metric: str, stored_norms: bool) -> None:
    # stored_norms=False: a segment written before norms.npy existed computes them when scanned.
    segment_dir = tmp_path / "seg"
    segment, vectors = _segment(segment_dir, 3000, 24)
    if not stored_norms:
        (segment_dir / "norms.npy").unlink()
        segment = Segment(segment_dir)
    segment.metric = metric
    query = np.random.default_rng(3).standard_normal(24).astype(np.float32)
    allowed = np.random.default_rng(4).random(3000) < 0.5
    for mask in (None, allowed, allowed & (np.arange(3000) < 200)):
        candidates = np.arange(3000) if mask is None else np.flatnonzero(mask)
        hits = search_segment(segment, mask, len(candidates), query, 10, SearchKnobs())
        exact = exact_distances(metric, query, vectors[candidates])
        expected = candidates[np.lexsort((candidates, exact))[:10]]
        assert hits.rows.tolist() == expected.tolist()
        assert np.allclose(hits.distances, np.sort(exact)[:10])
