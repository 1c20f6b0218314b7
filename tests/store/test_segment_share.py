"""Several segments share one query's results: each is probed for its share, not for all of them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pgs3v.bench.ann_data.synthetic import SyntheticParameters, synthetic_in_memory
from pgs3v.store.engine.ann import build_ann, calibrate_probes, probes_for_top
from pgs3v.store.engine.distances import exact_distances
from pgs3v.store.engine.metadata_columns import MetadataColumns
from pgs3v.store.engine.segment import Segment, SegmentBuild, write_segment
from pgs3v.store.engine.segment_rows import SegmentRows
from pgs3v.store.engine.segment_search import SearchKnobs
from pgs3v.store.engine.segment_set import LiveSegment, expected_share, query_segments
from pgs3v.store.engine.vector_table import key_order

_PARAMETERS = SyntheticParameters(dimension=64, latent_dimension=16, components=200)


def test_one_segment_is_planned_for_every_result() -> None:
    assert expected_share(10, 5_000, 5_000) == 10
    assert expected_share(10, 0, 0) == 10


def test_equal_segments_are_planned_for_their_share_and_a_margin() -> None:
    # Six equal segments: 10/6 = 1.67 results each on average, planned for 1.67 + 1.29 -> 3.
    assert expected_share(10, 1_000, 6_000) == 3
    # Two: 5 + 2.2 -> 8. A tiny segment still looks for one; shares never exceed what is asked.
    assert expected_share(10, 1_000, 2_000) == 8
    assert expected_share(10, 1, 1_000_000) == 1
    assert expected_share(100, 900_000, 1_000_000) == 100


def test_the_planned_shares_cover_the_results_asked_for() -> None:
    for counts in ([1, 1], [5, 1, 1, 1], [10] * 12, [1_000_000, 3, 7]):
        total = sum(counts)
        assert sum(expected_share(10, count, total) for count in counts) >= 10


def test_calibration_measures_the_probes_for_each_top() -> None:
    data = synthetic_in_memory(20_000, queries=1, parameters=_PARAMETERS)
    vectors = np.asarray(data.vectors)
    index, _ = build_ann(vectors, "cosine")
    calibration = calibrate_probes(index, vectors, "cosine", 64, 0.985)
    assert len(calibration.probes_by_top) == 10
    assert calibration.probes_by_top[-1] == calibration.probes
    assert all(probes <= calibration.probes for probes in calibration.probes_by_top)
    # The nearest row alone needs no more probes than all ten.
    assert calibration.probes_by_top[0] <= calibration.probes_by_top[-1]
    assert probes_for_top(calibration.probes, calibration.probes_by_top, 1) == calibration.probes_by_top[0]
    # Beyond the measured range (top 20) or without a table (older segments): the full count.
    assert probes_for_top(calibration.probes, calibration.probes_by_top, 20) == calibration.probes
    assert probes_for_top(calibration.probes, (), 1) == calibration.probes


def _write(directory: Path, vectors: np.ndarray, first_key: int) -> Segment:
    keys = [f"k{first_key + i}" for i in range(len(vectors))]
    hashes = [key_order(key) for key in keys]
    columns = MetadataColumns()
    columns.append([None] * len(keys))
    write_segment(
        directory,
        SegmentRows.encoded(keys, vectors, [None] * len(keys), np.array([h for h, _ in hashes], dtype=np.uint64),
                            np.array([low for _, low in hashes], dtype=np.uint64), columns),
        SegmentBuild("cosine", ann_min_floats=0),
    )
    return Segment(directory)


@pytest.mark.parametrize("segment_count", [1, 4])
def test_segments_probed_for_their_share_keep_recall(tmp_path: Path, segment_count: int) -> None:
    rows = 40_000
    data = synthetic_in_memory(rows, queries=100, parameters=_PARAMETERS)
    vectors = np.asarray(data.vectors)
    bounds = np.linspace(0, rows, segment_count + 1).astype(int)
    segments = [
        LiveSegment.fresh(_write(tmp_path / f"seg{i}", vectors[bounds[i]:bounds[i + 1]], int(bounds[i])))
        for i in range(segment_count)
    ]
    for live in segments:
        # Written with the table that plans each segment's share.
        assert len(live.segment.probes_by_top) == 10
    knobs = SearchKnobs(exact_scan_floats=0)
    found = 0
    for query in data.queries:
        truth = np.argsort(exact_distances("cosine", query, vectors), kind="stable")[:10]
        answer = query_segments(segments, query, 10, None, knobs)
        assert len(answer) == 10
        found += len({int(n.key[1:]) for n in answer} & set(truth.tolist()))
    # Each segment was calibrated for recall 0.985 on its own rows. Measured: 0.983 over four
    # segments planned for their shares, 0.988 planned for all ten, 0.975 planned for one each.
    assert found / (10 * len(data.queries)) >= 0.97
