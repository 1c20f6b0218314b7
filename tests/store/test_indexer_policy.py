"""The indexer's policy: plain folds, tiered merges, indexing once writes pause, folds during a merge."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pgs3v.store.indexer as indexer_module
import pgs3v.store.vector_index as vector_index_module
from pgs3v.store.index_settings import IndexSettings
from pgs3v.store.indexer import merge_choice
from pgs3v.store.mutations import DeleteBatch, PutBatch
from pgs3v.store.segment import write_segment
from pgs3v.store.vector_index import VectorIndex

DIMENSION = 8
SETTINGS = IndexSettings(fold_rows=100, ann_min_floats=60 * DIMENSION, merge_width=3, background=False,
                         build_threads=1)


def _put(index: VectorIndex, start: int, count: int) -> None:
    rng = np.random.default_rng(start)
    vectors = rng.standard_normal((count, DIMENSION)).astype(np.float32)
    index.write(PutBatch([f"v{i}" for i in range(start, start + count)], vectors, [{"n": i} for i in range(count)]))


def _names(index: VectorIndex) -> list[str]:
    return [live.segment.name for live in index.segment_states()]


def test_folds_write_plain_segments_that_the_merger_indexes_once_writes_pause(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path / "index", DIMENSION, "cosine", frozenset(), SETTINGS)
    try:
        for start in (0, 80, 160):
            _put(index, start, 80)
            index.fold()
        assert all(live.segment.ann is None for live in index.segment_states())
        # Three segments of one tier: merged (and indexed) whether or not writes flow.
        assert merge_choice(index.segment_states(), SETTINGS, writes_paused=False) == _names(index)
        index.merge(_names(index))
        [merged] = index.segment_states()
        assert merged.segment.ann is not None and merged.segment.rows == 240

        _put(index, 240, 70)
        index.fold()
        plain = [live for live in index.segment_states() if live.segment.ann is None]
        assert [live.segment.rows for live in plain] == [70]
        # Large enough for an index, but alone in its tier: left alone while writes flow ...
        assert merge_choice(index.segment_states(), SETTINGS, writes_paused=False) == []
        # ... and indexed once they pause.
        assert merge_choice(index.segment_states(), SETTINGS, writes_paused=True) == [plain[0].segment.name]
        index.merge([plain[0].segment.name])
        assert all(live.segment.ann is not None for live in index.segment_states())
        assert merge_choice(index.segment_states(), SETTINGS, writes_paused=True) == []

        _put(index, 310, 20)
        index.fold()
        # Too small for an index: scanned exactly, never rewritten for nothing.
        assert merge_choice(index.segment_states(), SETTINGS, writes_paused=True) == []
    finally:
        index.close()


def test_a_fold_commits_while_a_merge_is_still_building(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = VectorIndex(tmp_path / "index", DIMENSION, "cosine", frozenset(), SETTINGS)
    building, release = threading.Event(), threading.Event()

    def slow_when_approximate(*args: Any, approximate: bool) -> None:
        if approximate:
            building.set()
            assert release.wait(30)
        write_segment(*args, approximate=approximate)

    monkeypatch.setattr(vector_index_module, "write_segment", slow_when_approximate)
    try:
        for start in (0, 80, 160):
            _put(index, start, 80)
            index.fold()
        sources = _names(index)
        merger = threading.Thread(target=index.merge, args=(sources,))
        merger.start()
        assert building.wait(30)
        # Writes, a delete of a row being merged, and a fold all complete while the merge builds.
        _put(index, 240, 50)
        index.write(DeleteBatch(["v5"]))
        assert index.fold()
        assert index.stats()["indexedLsn"] == index.stats()["appliedLsn"]
        release.set()
        merger.join(30)
        assert not merger.is_alive()
        rows = {live.segment.name: live.live_count for live in index.segment_states()}
        assert len(rows) == 2 and sum(rows.values()) == 289 and not set(rows) & set(sources)
        assert [v.key for v in index.get(["v5", "v6", "v260"])] == ["v6", "v260"]
    finally:
        release.set()
        index.close()
    # Reopened from its manifest and log: the same rows, the merged sources' files gone.
    reopened = VectorIndex(tmp_path / "index", DIMENSION, "cosine", frozenset(), SETTINGS)
    try:
        assert {live.segment.name: live.live_count for live in reopened.segment_states()} == rows
        assert sorted(p.name for p in (tmp_path / "index" / "segments").iterdir()) == sorted(rows)
        assert [v.key for v in reopened.get(["v5", "v6", "v260"])] == ["v6", "v260"]
    finally:
        reopened.close()


def test_a_failed_segment_write_leaves_no_files_and_loses_nothing(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    index = VectorIndex(tmp_path / "index", DIMENSION, "cosine", frozenset(), SETTINGS)

    def write_then_fail(*args: Any, **kwargs: Any) -> None:
        write_segment(*args, **kwargs)
        raise OSError(28, "No space left on device")

    try:
        _put(index, 0, 80)
        with monkeypatch.context() as patch:
            patch.setattr(vector_index_module, "write_segment", write_then_fail)
            with pytest.raises(OSError, match="No space left"):
                index.fold()
        # Each retry would otherwise leave a segment's worth of files behind.
        assert list((tmp_path / "index" / "segments").iterdir()) == []
        assert index.tail_rows == 80 and index.segment_states() == ()
        assert index.fold()
        assert [live.live_count for live in index.segment_states()] == [80]
        assert len(index.get([f"v{i}" for i in range(80)])) == 80
    finally:
        index.close()


@pytest.mark.parametrize("patience", [0.0, 3600.0])
def test_under_steady_writes_a_plain_segment_is_indexed_once_it_has_waited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, patience: float
) -> None:
    monkeypatch.setattr(indexer_module, "_PLAIN_PATIENCE_SECONDS", patience)
    # Writes never "pause" here (the idle time is an hour), as under a steady trickle.
    settings = replace(SETTINGS, background=True, fold_idle_seconds=3600.0)
    index = VectorIndex(tmp_path / "index", DIMENSION, "cosine", frozenset(), settings)
    try:
        _put(index, 0, 150)  # over fold_rows: folded into one plain segment, alone in its tier
        deadline = time.monotonic() + 60
        while not index.segment_states() or index.tail_rows:
            assert time.monotonic() < deadline, "the folder did not fold"
            time.sleep(0.02)
        if patience:
            time.sleep(2.5)  # two of the merger's polls: it must leave the segment alone
            assert [live.segment.ann is None for live in index.segment_states()] == [True]
            return
        while index.segment_states()[0].segment.ann is None:
            assert time.monotonic() < deadline, "the merger did not index the waiting segment"
            time.sleep(0.02)
        assert [live.live_count for live in index.segment_states()] == [150]
    finally:
        index.close()
