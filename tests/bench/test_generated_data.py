"""Synthetic rows generated on demand: the same rows as the cached set, read by every consumer in bounded memory."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from pgs3v.bench.ann_data import ground_truth
from pgs3v.bench.ann_data.cache import Cache
from pgs3v.bench.ann_data.dataset import SELECTIVITIES, AnnDataset
from pgs3v.bench.ann_data.exact import BlockExactSearch, ExactIndex
from pgs3v.bench.ann_data.generated import MATERIALIZE_LIMIT_BYTES, GeneratedMatrix
from pgs3v.bench.ann_data.ground_truth import dataset_fingerprint, exact_ground_truth
from pgs3v.bench.ann_data.synthetic import (
    SyntheticParameters,
    generates_on_demand,
    synthetic_dataset,
    synthetic_generated,
    synthetic_in_memory,
)

SMALL = SyntheticParameters(dimension=32, latent_dimension=16, components=50)
CHUNK = 1 << 14
SPANNING = 2 * CHUNK + 1234  # three chunks, the last one partial


@pytest.fixture(scope="module")
def spanning() -> tuple[AnnDataset, AnnDataset]:
    """The same set in memory and generated on demand, over several generator chunks."""
    return (synthetic_in_memory(SPANNING, 12, seed=4, parameters=SMALL),
            synthetic_generated(SPANNING, 12, seed=4, parameters=SMALL))


def generated(dataset: AnnDataset) -> GeneratedMatrix:
    assert isinstance(dataset.vectors, GeneratedMatrix)
    return dataset.vectors


def test_generated_rows_equal_the_cached_ones_row_for_row(tmp_path: Path) -> None:
    cached = synthetic_dataset(3000, 20, seed=3, parameters=SMALL, cache=Cache(tmp_path), generate=False)
    made = synthetic_dataset(3000, 20, seed=3, parameters=SMALL, cache=Cache(tmp_path / "unused"), generate=True)
    matrix = generated(made)
    assert isinstance(cached.vectors, np.memmap)
    assert matrix.shape == (3000, 32) and len(matrix) == 3000 and matrix.dtype == np.float32 and matrix.ndim == 2
    assert np.array_equal(np.asarray(matrix), cached.vectors)
    assert np.array_equal(made.queries, cached.queries) and np.array_equal(made.bands, cached.bands)
    assert made.generated and not cached.generated
    assert not (tmp_path / "unused").exists()  # nothing written for the generated set


def test_slices_across_chunk_boundaries_and_single_rows(spanning: tuple[AnnDataset, AnnDataset]) -> None:
    memory, made = spanning
    expected, matrix = np.asarray(memory.vectors), generated(made)
    for start, stop in ((0, 10), (CHUNK - 5, CHUNK + 5), (CHUNK - 1, 2 * CHUNK + 1), (0, SPANNING),
                        (2 * CHUNK, SPANNING), (SPANNING - 3, SPANNING + 100), (7, 7)):
        assert np.array_equal(matrix[start:stop], expected[start:stop]), (start, stop)
    assert np.array_equal(matrix[::997], expected[::997]) and np.array_equal(matrix[-1:], expected[-1:])
    assert np.array_equal(matrix[::-4000], expected[::-4000])
    for row in (0, CHUNK - 1, CHUNK, SPANNING - 1, -1, -SPANNING):
        assert np.array_equal(matrix[row], expected[row])
    assert np.array_equal(matrix[CHUNK - 2 : CHUNK + 2, 3], expected[CHUNK - 2 : CHUNK + 2, 3])
    with pytest.raises(IndexError):
        matrix[SPANNING]
    inside = matrix[10:20]
    assert not inside.flags.writeable  # a view of a cached chunk: nobody may change it


def test_fancy_indexing_in_any_order_with_repeats(spanning: tuple[AnnDataset, AnnDataset]) -> None:
    memory, made = spanning
    expected, matrix = np.asarray(memory.vectors), generated(made)
    rng = np.random.default_rng(0)
    unsorted = rng.integers(0, SPANNING, 500)
    for rows in (np.sort(unsorted), unsorted, np.array([CHUNK, 3, CHUNK, 3, SPANNING - 1]), np.array([-1, -CHUNK]),
                 np.array([], dtype=np.int64)):
        assert np.array_equal(matrix[rows], expected[rows])
    mask = rng.random(SPANNING) < 0.01
    assert np.array_equal(matrix[mask], expected[mask])
    with pytest.raises(IndexError):
        matrix[np.array([SPANNING])]


def test_reading_in_order_generates_each_chunk_once_and_memory_stays_at_a_few_chunks() -> None:
    matrix = generated(synthetic_generated(6 * CHUNK, 2, seed=1, parameters=SMALL))
    for start in range(0, len(matrix), 500):  # the ingest's batches
        matrix[start : start + 500]
    assert matrix.chunks_generated == 6
    assert matrix.cached_chunks <= 4

    # Two ingest threads reading side by side still generate each chunk once.
    matrix = generated(synthetic_generated(6 * CHUNK, 2, seed=1, parameters=SMALL))
    starts = iter(range(0, len(matrix), 500))
    lock = threading.Lock()

    def read() -> None:
        while True:
            with lock:
                start = next(starts, None)
            if start is None:
                return
            matrix[start : start + 500]

    threads = [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert matrix.chunks_generated == 6


def test_a_huge_generated_matrix_refuses_to_become_one_array(monkeypatch: pytest.MonkeyPatch) -> None:
    matrix = generated(synthetic_generated(3000, 2, seed=1, parameters=SMALL))
    assert np.asarray(matrix).shape == (3000, 32)
    with pytest.raises(ValueError, match="copied"):
        matrix.__array__(copy=False)
    huge = generated(synthetic_generated(10_000_000, 2, seed=1, parameters=SyntheticParameters()))
    assert huge.nbytes == 30_720_000_000 > MATERIALIZE_LIMIT_BYTES
    with pytest.raises(MemoryError, match="slices"):
        np.asarray(huge)
    assert huge[9_999_999].shape == (768,)  # one chunk generated, not 30 GB
    assert huge.chunks_generated == 1


def test_the_size_decides_unless_told() -> None:
    assert not generates_on_demand(1_000_000, 768) and generates_on_demand(10_000_000, 768)
    assert generates_on_demand(100, 768, generate=True) and not generates_on_demand(10_000_000, 768, generate=False)


def test_ground_truth_from_generated_rows_equals_the_one_from_the_array(
    spanning: tuple[AnnDataset, AnnDataset],
) -> None:
    memory, made = spanning
    selectivities = (0.5, 0.01, 0.0001)
    expected = exact_ground_truth(memory, 10, selectivities)
    found = exact_ground_truth(made, 10, selectivities)
    assert found.matching_rows == expected.matching_rows
    for selectivity in expected.rows:
        assert np.array_equal(found.rows[selectivity], expected.rows[selectivity])
        assert np.array_equal(found.distances[selectivity], expected.distances[selectivity])


def test_the_fingerprint_of_generated_rows_reads_a_few_chunks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    made = synthetic_generated(40 * CHUNK, 5, seed=2, parameters=SMALL)
    fingerprint = dataset_fingerprint(made)
    assert generated(made).chunks_generated <= 17
    assert fingerprint == dataset_fingerprint(synthetic_generated(40 * CHUNK, 5, seed=2, parameters=SMALL))
    assert fingerprint != dataset_fingerprint(synthetic_generated(40 * CHUNK, 5, seed=3, parameters=SMALL))
    small = synthetic_generated(2000, 5, seed=2, parameters=SMALL)
    computed = ground_truth.load_ground_truth(small, 10, cache=Cache(tmp_path))
    monkeypatch.setattr(ground_truth, "exact_ground_truth", lambda *a, **k: pytest.fail("recomputed"))
    cached = ground_truth.load_ground_truth(synthetic_generated(2000, 5, seed=2, parameters=SMALL), 10,
                                            cache=Cache(tmp_path))
    assert set(cached.rows) == {None, *SELECTIVITIES}
    assert all(np.array_equal(cached.rows[s], computed.rows[s]) for s in cached.rows)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_the_blockwise_exact_scan_finds_what_the_whole_scan_finds(metric: str) -> None:
    parameters = SyntheticParameters(dimension=32, latent_dimension=16, components=50, metric=metric)  # type: ignore[arg-type]
    memory = synthetic_in_memory(SPANNING, 8, seed=6, parameters=parameters)
    made = synthetic_generated(SPANNING, 8, seed=6, parameters=parameters)
    whole = ExactIndex(memory)
    blocks = BlockExactSearch(made, block_bytes=CHUNK * 32 * 4)  # one chunk a block: three blocks
    assert blocks.blocks == 3
    masks = [None, memory.mask(0.1), memory.mask(0.0001)]
    progress: list[tuple[int, int]] = []
    answers, durations = blocks.search(made.queries, 10, masks, lambda done, total: progress.append((done, total)))
    assert progress == [(1, 3), (2, 3), (3, 3)]
    for mask, found, timed in zip(masks, answers, durations, strict=True):
        assert len(found) == len(timed) == 8 and all(t > 0 for t in timed)
        for query, neighbours in zip(made.queries, found, strict=True):
            expected = whole.search(query, 10, mask)
            assert neighbours.rows.tolist() == expected.rows.tolist()
            assert np.allclose(neighbours.distances, expected.distances)


def test_the_whole_exact_index_takes_a_small_generated_set_and_refuses_a_huge_one() -> None:
    memory = synthetic_in_memory(3000, 4, seed=2, parameters=SMALL)
    made = synthetic_generated(3000, 4, seed=2, parameters=SMALL)
    for query in made.queries:
        assert ExactIndex(made).search(query, 10).rows.tolist() == ExactIndex(memory).search(query, 10).rows.tolist()
    with pytest.raises(MemoryError, match="slices"):
        ExactIndex(synthetic_generated(10_000_000, 2, seed=1, parameters=SyntheticParameters()))


def test_the_difficulty_report_samples_generated_rows_as_it_samples_the_array() -> None:
    pytest.importorskip("faiss", reason="the difficulty report needs faiss-cpu")
    from pgs3v.bench.ann_data.difficulty import difficulty_report

    parameters = SyntheticParameters(dimension=64)
    for rows, sample in ((SPANNING, 5000), (3000, 100_000)):  # a sample of rows; every row
        made = difficulty_report(synthetic_generated(rows, 30, parameters=parameters), sample_rows=sample, nprobes=(1,))
        kept = difficulty_report(synthetic_in_memory(rows, 30, parameters=parameters), sample_rows=sample, nprobes=(1,))
        assert made == kept
