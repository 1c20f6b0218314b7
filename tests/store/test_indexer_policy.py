"""The indexer's policy: indexed folds, tiered merges under a cap, settling, folds during a merge."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pgs3v.store.engine.ann as ann_module
import pgs3v.store.engine.indexer as indexer_module
import pgs3v.store.engine.vector_index as vector_index_module
from pgs3v.store.engine.index_settings import IndexSettings
from pgs3v.store.engine.merge_policy import merge_choice, optimize_plan, settle_choice
from pgs3v.store.engine.mutations import DeleteBatch, PutBatch
from pgs3v.store.engine.segment import write_segment
from pgs3v.store.engine.vector_index import VectorIndex
from pgs3v.store.storage.store_storage import local_index_storage

DIMENSION = 8
SETTINGS = IndexSettings(fold_rows=100, ann_min_floats=60 * DIMENSION, merge_width=3, background=False,
                         build_threads=1)


def _put(index: VectorIndex, start: int, count: int) -> None:
    rng = np.random.default_rng(start)
    vectors = rng.standard_normal((count, DIMENSION)).astype(np.float32)
    index.write(PutBatch([f"v{i}" for i in range(start, start + count)], vectors, [{"n": i} for i in range(count)]))


def _names(index: VectorIndex) -> list[str]:
    return [live.segment.name for live in index.segment_states()]


def test_folds_are_indexed_at_once_and_reuse_the_last_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trainings: list[int] = []
    real_train = ann_module.train_ann

    def counted(vectors: Any, metric: str, **kwargs: Any) -> Any:
        trainings.append(len(vectors))
        return real_train(vectors, metric, **kwargs)

    monkeypatch.setattr(ann_module, "train_ann", counted)
    index = VectorIndex(local_index_storage(tmp_path / "index"), DIMENSION, "cosine", frozenset(), SETTINGS)
    try:
        for start in (0, 80, 160):
            _put(index, start, 80)
            index.fold()
        # Each fold is large enough for an index and gets one; only the first trains (2 lists).
        assert [live.segment.ann is not None for live in index.segment_states()] == [True] * 3
        assert trainings == [80]
        # Three segments of one tier: merged whether or not writes flow. 240 rows want 6 lists,
        # within 4x of the training's 2: reused.
        assert merge_choice(index.segment_states(), SETTINGS, settle=False) == _names(index)
        index.merge(_names(index))
        [merged] = index.segment_states()
        assert merged.segment.ann is not None and merged.segment.rows == 240
        assert trainings == [80]

        _put(index, 240, 20)
        index.fold()
        # Too small for an index: scanned exactly.
        assert [live.segment.ann is None for live in index.segment_states()] == [False, True]
        _put(index, 260, 200)
        index.fold()
        # Alone in their tiers: left alone while writes flow, settled into one once they pause.
        assert merge_choice(index.segment_states(), SETTINGS, settle=False) == []
        assert sorted(merge_choice(index.segment_states(), SETTINGS, settle=True)) == _names(index)
        index.merge(_names(index))
        assert [live.live_count for live in index.segment_states()] == [460]
        # 460 rows want 11 lists, beyond 4x the training's: this merge trained anew.
        assert trainings == [80, 460]
        assert merge_choice(index.segment_states(), SETTINGS, settle=True) == []
    finally:
        index.close()


def test_no_merge_builds_a_segment_above_the_cap(tmp_path: Path) -> None:
    capped = replace(SETTINGS, max_segment_rows=200)
    index = VectorIndex(local_index_storage(tmp_path / "index"), DIMENSION, "cosine", frozenset(), capped)
    try:
        for start, count in ((0, 90), (90, 95), (185, 70)):
            _put(index, start, count)
            index.fold()
        sizes = {live.segment.name: live.live_count for live in index.segment_states()}
        # A full tier (90, 95, 70) would make 255 rows: not merged under a cap of 200.
        assert merge_choice(index.segment_states(), capped, settle=False) == []
        # Settling packs largest first: 95 + 90, then 70 alone (95 + 70 would pass the cap too).
        chosen = merge_choice(index.segment_states(), capped, settle=True)
        assert sorted(sizes[name] for name in chosen) == [90, 95]
        assert optimize_plan(index.segment_states(), capped) == [chosen]
        index.optimize()
        assert sorted(live.live_count for live in index.segment_states()) == [70, 185]
        assert merge_choice(index.segment_states(), capped, settle=True) == []
        assert len(index.get([f"v{i}" for i in range(255)])) == 255
    finally:
        index.close()


def test_a_fold_commits_while_a_merge_is_still_building(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = VectorIndex(local_index_storage(tmp_path / "index"), DIMENSION, "cosine", frozenset(), SETTINGS)
    building, release = threading.Event(), threading.Event()

    def slow_when_merging(directory: Path, rows: Any, *args: Any, **kwargs: Any) -> Any:
        if len(rows) == 240:  # the merge of the three folds below
            building.set()
            assert release.wait(30)
        return write_segment(directory, rows, *args, **kwargs)

    try:
        for start in (0, 80, 160):
            _put(index, start, 80)
            index.fold()
        monkeypatch.setattr(vector_index_module, "write_segment", slow_when_merging)
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
    reopened = VectorIndex(local_index_storage(tmp_path / "index"), DIMENSION, "cosine", frozenset(), SETTINGS)
    try:
        assert {live.segment.name: live.live_count for live in reopened.segment_states()} == rows
        assert sorted(p.name for p in (tmp_path / "index" / "segments").iterdir()) == sorted(rows)
        assert [v.key for v in reopened.get(["v5", "v6", "v260"])] == ["v6", "v260"]
    finally:
        reopened.close()


def test_a_failed_segment_write_leaves_no_files_and_loses_nothing(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    index = VectorIndex(local_index_storage(tmp_path / "index"), DIMENSION, "cosine", frozenset(), SETTINGS)

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
def test_under_steady_writes_segments_settle_once_the_last_settle_is_long_enough_ago(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, patience: float
) -> None:
    monkeypatch.setattr(indexer_module, "_SETTLE_PATIENCE_SECONDS", patience)
    # Writes never "pause" here (an hour of idle time), as under a steady trickle.
    settings = replace(SETTINGS, background=True, fold_idle_seconds=3600.0, settle_seconds=3600.0)
    index = VectorIndex(local_index_storage(tmp_path / "index"), DIMENSION, "cosine", frozenset(), settings)
    try:
        deadline = time.monotonic() + 60
        for start in (0, 150):
            _put(index, start, 150)  # over fold_rows: folded into a segment, alone in its tier
            while len(index.segment_states()) <= start // 150 or index.tail_rows:
                assert time.monotonic() < deadline, "the folder did not fold"
                time.sleep(0.02)
        if patience:
            time.sleep(2.5)  # two of the merger's polls: it must leave the segments alone
            assert [live.live_count for live in index.segment_states()] == [150, 150]
            return
        while len(index.segment_states()) > 1:
            assert time.monotonic() < deadline, "the merger did not settle the segments"
            time.sleep(0.02)
        assert [live.live_count for live in index.segment_states()] == [300]
    finally:
        index.close()


def test_a_partial_settle_merges_the_small_segments_before_rewriting_the_large_one(tmp_path: Path) -> None:
    index = VectorIndex(local_index_storage(tmp_path / "index"), DIMENSION, "cosine", frozenset(), SETTINGS)
    try:
        for start, count in ((0, 1000), (1000, 50), (1050, 40), (1090, 30)):
            _put(index, start, count)
            index.fold()
        sizes = {live.segment.name: live.live_count for live in index.segment_states()}
        # Writes keep coming: the three small ones (120 rows, under a quarter of 1,000) only.
        chosen = settle_choice(index.segment_states(), SETTINGS, partial=True)
        assert sorted(sizes[name] for name in chosen) == [30, 40, 50]
        # Writes paused: everything into one.
        assert sorted(settle_choice(index.segment_states(), SETTINGS)) == sorted(sizes)
        index.merge(chosen)
        for start in (1120, 1200):
            _put(index, start, 80)
            index.fold()
        # 120 + 80 + 80 = 280 rows beside the 1,000: now worth rewriting the large one too.
        assert len(settle_choice(index.segment_states(), SETTINGS, partial=True)) == 4
    finally:
        index.close()


def test_under_a_trickle_that_never_pauses_the_tail_is_folded_once_it_is_old(tmp_path: Path) -> None:
    settings = replace(SETTINGS, background=True, fold_idle_seconds=3600.0, fold_max_age_seconds=0.3)
    index = VectorIndex(local_index_storage(tmp_path / "index"), DIMENSION, "cosine", frozenset(), settings)
    try:
        deadline = time.monotonic() + 60
        start = 0
        while not index.segment_states():
            assert time.monotonic() < deadline, "the folder did not fold an old tail"
            _put(index, start, 1)  # one row at a time: the tail never fills, writes never pause
            start += 1
            time.sleep(0.05)
        assert len(index.get([f"v{i}" for i in range(start)])) == start
    finally:
        index.close()
