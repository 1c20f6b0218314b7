"""One index on object storage opened by two servers: each catches up with the other's log.

Two VectorIndex objects over one bucket (a local directory through the object protocol), each
with its own cache, stand for two servers. Nothing here is served over HTTP yet.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pgs3v.store.engine.errors import IndexStale
from pgs3v.store.engine.index_settings import IndexSettings
from pgs3v.store.engine.mutations import DeleteBatch, PutBatch
from pgs3v.store.engine.vector_index import VectorIndex
from pgs3v.store.storage.local_objects import LocalObjects
from pgs3v.store.storage.store_storage import ObjectStoreStorage

SETTINGS = IndexSettings(background=False, build_threads=1)


def _server(tmp_path: Path, name: str) -> VectorIndex:
    storage = ObjectStoreStorage(LocalObjects(tmp_path / "bucket"), tmp_path / f"cache-{name}", 1 << 30)
    return VectorIndex(storage.index("shared"), 2, "euclidean", frozenset(), SETTINGS)


def _put(index: VectorIndex, key: str, x: float) -> None:
    index.write(PutBatch([key], np.array([[x, 0.0]], dtype=np.float32), [None]))


def _keys(index: VectorIndex) -> list[str]:
    return sorted(vector.key for vector in index.get([f"k{i}" for i in range(10)]))


def test_a_server_sees_the_others_writes_after_catching_up(tmp_path: Path) -> None:
    first, second = _server(tmp_path, "a"), _server(tmp_path, "b")
    try:
        _put(first, "k1", 1.0)
        assert _keys(second) == []
        second.catch_up()
        assert _keys(second) == ["k1"]
        first.write(DeleteBatch(["k1"]))
        second.catch_up()
        assert _keys(second) == []
    finally:
        first.close()
        second.close()


def test_a_fenced_write_catches_up_and_lands_after_the_others(tmp_path: Path) -> None:
    first, second = _server(tmp_path, "a"), _server(tmp_path, "b")
    try:
        _put(first, "k1", 1.0)
        _put(second, "k2", 2.0)  # its view ends before k1's position: fenced, caught up, written after it
        assert _keys(second) == ["k1", "k2"]
        first.catch_up()
        assert _keys(first) == ["k1", "k2"]
        assert first.stats()["appliedLsn"] == second.stats()["appliedLsn"] == 2
    finally:
        first.close()
        second.close()


def test_records_purged_before_a_server_saw_them_make_its_index_stale(tmp_path: Path) -> None:
    first, second = _server(tmp_path, "a"), _server(tmp_path, "b")
    try:
        for i in range(1, 4):
            _put(first, f"k{i}", float(i))
        second.catch_up()
        for i in range(4, 6):
            _put(first, f"k{i}", float(i))
        first.fold()  # folds k1..k5 into a segment and purges the log objects before the newest
        with pytest.raises(IndexStale):
            second.catch_up()
        second.close()
        second = _server(tmp_path, "b")  # reopened: the newest manifest, then the log after it
        assert _keys(second) == ["k1", "k2", "k3", "k4", "k5"]
    finally:
        first.close()
        second.close()
