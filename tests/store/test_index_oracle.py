"""The indexed engine under random writes, indexing steps, crashes and restarts, against an oracle.

Rules put, overwrite and delete vectors, fold the unindexed tail into segments, merge segments,
restart cleanly, and crash at every step of the indexer's commit protocol (after a segment is
written, after the manifest is committed, after the log is purged). After each step the
contents must equal a dictionary of key -> (vector, metadata), and queries must return exact
distances, in order, and k results whenever k vectors match, whatever the filter. The
approximate path is forced (no exact scans except what the planner needs for completeness) and
its recall is checked over the whole run. ``test_text_index_oracle.py`` runs this machine on rows
with full-text searchable keys and checks text search against the reference BM25 as well.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import pgs3v.store.engine.vector_index as vector_index_module
from pgs3v.store.engine import segment as segment_module
from pgs3v.store.engine.distances import exact_distances
from pgs3v.store.engine.filters import compile_filter
from pgs3v.store.engine.index_settings import IndexSettings
from pgs3v.store.engine.mutations import DeleteBatch, PutBatch
from pgs3v.store.engine.segment_search import SearchKnobs
from pgs3v.store.engine.vector_index import VectorIndex
from pgs3v.store.storage.local_objects import LocalObjects
from pgs3v.store.storage.manifest import ManifestStore
from pgs3v.store.storage.object_log import ObjectLog
from pgs3v.store.storage.store_storage import ObjectStoreStorage, local_index_storage
from pgs3v.store.storage.wal import WriteAheadLog

DIMENSION = 8
KEYS = [f"key-{i}" for i in range(400)]
GROUPS = 10
CENTRES = np.random.default_rng(7).standard_normal((12, DIMENSION)).astype(np.float32) * 3

# Small thresholds so that segments, approximate indexes and merges all happen within a run;
# no exact scans of segments, so queries go through the IVF-PQ codes and re-ranking.
ENGINE = IndexSettings(
    fold_rows=10_000, ann_min_floats=40 * DIMENSION, merge_width=3, background=False, build_threads=1,
    search=SearchKnobs(probes=2, rerank=24, exact_scan_floats=0),
)


class CrashError(BaseException):
    """Stands for the process dying at this point (not an Exception: no handler cleans up after it)."""


def _vectors(seed: int, count: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = CENTRES[rng.integers(0, len(CENTRES), count)]
    return (centres + rng.standard_normal((count, DIMENSION)).astype(np.float32)).astype(np.float32)


batches = st.tuples(
    st.integers(0, 2**31), st.lists(st.sampled_from(KEYS), min_size=1, max_size=120, unique=True),
)
crash_points = st.sampled_from(["segment written", "manifest committed", "log purged"])


class IndexAgainstOracle(RuleBasedStateMachine):
    """The engine must always agree with a dictionary of key -> (vector, metadata)."""

    metric = "cosine"

    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="pgs3v-index-oracle-"))
        self.index = self._open()
        self.model: dict[str, tuple[np.ndarray, dict[str, Any] | None]] = {}
        self.recall_hits = 0
        self.recall_total = 0

    def _open(self) -> VectorIndex:
        storage = local_index_storage(self.directory / "index")
        return VectorIndex(storage, DIMENSION, self.metric, frozenset({"note"}), ENGINE)

    def teardown(self) -> None:
        self.index.close()
        shutil.rmtree(self.directory, ignore_errors=True)
        if self.recall_total >= 50:
            # Recall of the approximate path (probes=2 of a few lists, small re-rank pool).
            assert self.recall_hits / self.recall_total >= 0.8

    @rule(batch=batches, with_metadata=st.booleans())
    def put(self, batch: tuple[int, list[str]], with_metadata: bool) -> None:
        seed, keys = batch
        vectors = _vectors(seed, len(keys))
        metadata: list[dict[str, Any] | None] = [
            {"group": (seed + i) % GROUPS, "note": "x" * (i % 3)} if with_metadata or i % 2 else None
            for i in range(len(keys))
        ]
        self.index.write(PutBatch(keys, vectors, metadata))
        for key, vector, meta in zip(keys, vectors, metadata, strict=True):
            self.model[key] = (vector, meta)

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        present = sorted(self.model)
        keys = data.draw(st.lists(st.sampled_from(present), min_size=1, max_size=60))
        keys.append("never-stored")
        self.index.write(DeleteBatch(keys))
        for key in keys:
            self.model.pop(key, None)

    @rule()
    def fold(self) -> None:
        self.index.fold()

    @rule(data=st.data())
    def merge(self, data: st.DataObject) -> None:
        names = [live.segment.name for live in self.index.segment_states()]
        if names:
            self.index.merge(data.draw(st.lists(st.sampled_from(names), min_size=1, unique=True)))

    @rule()
    def optimize(self) -> None:
        self.index.optimize()

    @rule()
    def restart(self) -> None:
        self.index.close()
        self.index = self._open()

    @rule(point=crash_points, merge=st.booleans())
    def crash_while_indexing(self, point: str, merge: bool) -> None:
        """kill -9 at one step of a fold or merge: nothing acknowledged may be lost."""
        with pytest.MonkeyPatch.context() as patch:
            _arm(patch, point)
            try:
                if merge:
                    self.index.merge([live.segment.name for live in self.index.segment_states()])
                else:
                    self.index.fold()
            except CrashError:
                pass
        _abandon(self.index)
        self.index = self._open()

    @precondition(lambda self: bool(self.model))
    @rule(seed=st.integers(0, 2**31), top_k=st.integers(1, 30), group=st.none() | st.integers(0, GROUPS))
    def query(self, seed: int, top_k: int, group: int | None) -> None:
        query = _vectors(seed, 1)[0]
        document = None if group is None else {"group": {"$lte": group}} if group % 3 == 0 else {"group": group}
        row_filter = None
        if document is not None:
            row_filter = compile_filter(document, non_filterable_keys=frozenset({"note"}), max_depth=8)
        results = self.index.query(query, top_k, 0, row_filter)
        eligible = {key: (vector, meta) for key, (vector, meta) in self.model.items()
                    if document is None or _matches(document, meta)}
        assert len(results) == min(top_k, len(eligible))
        if not eligible:
            return
        keys = list(eligible)
        exact = exact_distances(self.metric, query, np.stack([eligible[k][0] for k in keys]))
        truth = dict(zip(keys, exact.tolist(), strict=True))
        for item in results:
            assert item.key in eligible
            assert item.distance == pytest.approx(truth[item.key], abs=1e-6)
            assert item.metadata == eligible[item.key][1]
        distances = [item.distance for item in results]
        assert distances == sorted(distances)
        # Recall counts ties as hits: anything within the true k-th distance is a right answer.
        kth = np.sort(exact)[min(top_k, len(keys)) - 1]
        self.recall_hits += sum(d <= kth + 1e-9 for d in distances)
        self.recall_total += len(distances)

    @invariant()
    def contents_match(self) -> None:
        listed: dict[str, Any] = {}
        after = None
        while True:
            page = self.index.list_page(1, 0, after, 97)
            for position, vector in page:
                assert vector.key not in listed
                listed[vector.key] = vector
                after = position
            if len(page) < 97:
                break
        assert set(listed) == set(self.model)
        for key, vector in listed.items():
            np.testing.assert_array_equal(vector.data, self.model[key][0])
            assert vector.metadata == self.model[key][1]
        sample = [*sorted(self.model)[:50], "never-stored"]
        got = {vector.key: vector for vector in self.index.get(sample)}
        assert set(got) == {key for key in sample if key in self.model}


def _matches(document: dict[str, Any], metadata: dict[str, Any] | None) -> bool:
    value = (metadata or {}).get("group")
    if value is None:
        return False
    condition = document["group"]
    if isinstance(condition, dict):
        return bool(value <= condition["$lte"])
    return bool(value == condition)


def _arm(patch: pytest.MonkeyPatch, point: str) -> None:
    if point == "segment written":
        real_write = segment_module.write_segment

        def write_then_die(*args: Any, **kwargs: Any) -> None:
            real_write(*args, **kwargs)
            raise CrashError(point)

        patch.setattr(vector_index_module, "write_segment", write_then_die)
    elif point == "manifest committed":
        real_commit = ManifestStore.commit

        def commit_then_die(self: ManifestStore, manifest: Any) -> None:
            real_commit(self, manifest)
            raise CrashError(point)

        patch.setattr(ManifestStore, "commit", commit_then_die)
    else:
        for log_class in (WriteAheadLog, ObjectLog):
            patch.setattr(log_class, "truncate_before", _then_die(log_class.truncate_before, point))


def _then_die(real: Any, point: str) -> Any:
    def truncate_then_die(self: Any, lsn: int) -> None:
        real(self, lsn)
        raise CrashError(point)

    return truncate_then_die


def _abandon(index: VectorIndex) -> None:
    """Drop an index as kill -9 would: no flush, no cleanup, only the file locks released."""
    log = index._log  # a crash is not part of the public interface
    log.close()


class EuclideanIndexAgainstOracle(IndexAgainstOracle):
    """The same on a euclidean index."""

    metric = "euclidean"


class ObjectStorageIndexAgainstOracle(IndexAgainstOracle):
    """The same with the index kept as objects (on a local directory) and segments in a 1 MiB cache,
    which a rule also wipes, as a server that lost its disk would find it."""

    def _open(self) -> VectorIndex:
        storage = ObjectStoreStorage(LocalObjects(self.directory / "bucket"), self.directory / "cache", 1 << 20)
        return VectorIndex(storage.index("oracle"), DIMENSION, self.metric, frozenset({"note"}), ENGINE)

    @rule()
    def restart_on_an_empty_disk(self) -> None:
        _abandon(self.index)
        shutil.rmtree(self.directory / "cache", ignore_errors=True)
        self.index = self._open()


_settings = settings(max_examples=25, stateful_step_count=30, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
IndexAgainstOracle.TestCase.settings = _settings
EuclideanIndexAgainstOracle.TestCase.settings = _settings
ObjectStorageIndexAgainstOracle.TestCase.settings = _settings
test_index_against_oracle = IndexAgainstOracle.TestCase
test_euclidean_index_against_oracle = EuclideanIndexAgainstOracle.TestCase
test_object_storage_index_against_oracle = ObjectStorageIndexAgainstOracle.TestCase
