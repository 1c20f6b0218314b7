"""A data directory written before the store's modules moved into sub-packages still opens.

``tests/data/store-before-layers`` was written by commit e486ca1 (its README has the script):
two segments with ANNs, and a log tail holding two deletes and a put. The current server must
open it, answer every row with its vector and metadata, filter, and rank as an exact scan does.
A segment's ``columns.pickle`` names classes by module path, which the move changed.
"""

from __future__ import annotations

import pickle
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from pgs3v.store.engine.segment import Segment
from tests.support import StoreProcess, client

FIXTURE = Path(__file__).parent.parent / "data" / "store-before-layers"


def _expected() -> dict[str, tuple[np.ndarray, dict[str, object]]]:
    vectors = np.load(FIXTURE / "vectors.npy")
    rows: dict[str, tuple[np.ndarray, dict[str, object]]] = {
        f"k{i:03d}": (vectors[i], {"color": ["red", "blue", "green"][i % 3], "price": float(i),
                                   "tags": [f"t{i % 5}", "x"], "note": f"n{i}"})
        for i in range(300)
    }
    del rows["k000"], rows["k150"]
    rows["k999"] = (vectors[0], {"color": "red"})
    return rows


@pytest.fixture
def old_store(tmp_path: Path) -> Iterator[StoreProcess]:
    data = tmp_path / "store"
    data.mkdir()
    shutil.copy(FIXTURE / "catalog.journal", data)
    shutil.copytree(FIXTURE / "indexes", data / "indexes")
    store = StoreProcess(data).start()
    try:
        yield store
    finally:
        store.stop()


def test_the_current_server_answers_from_a_directory_written_before_the_move(old_store: StoreProcess) -> None:
    expected = _expected()
    s3v = client(old_store.endpoint)
    found = {}
    for page in s3v.get_paginator("list_vectors").paginate(vectorBucketName="old", indexName="items",
                                                           returnData=True, returnMetadata=True):
        for vector in page["vectors"]:
            found[vector["key"]] = (vector["data"]["float32"], vector.get("metadata", {}))
    assert set(found) == set(expected)
    for key, (vector, metadata) in expected.items():
        assert np.array_equal(np.asarray(found[key][0], dtype=np.float32), vector) and found[key][1] == metadata

    query = np.asarray(expected["k042"][0], dtype=np.float32)
    answer = s3v.query_vectors(vectorBucketName="old", indexName="items", queryVector={"float32": query.tolist()},
                               topK=5, filter={"color": "green"}, returnDistance=True)
    green = [key for key, (_, metadata) in expected.items() if metadata.get("color") == "green"]
    cosine = {key: 1 - float(expected[key][0] @ query) / float(np.linalg.norm(expected[key][0]) * np.linalg.norm(query))
              for key in green}
    assert [v["key"] for v in answer["vectors"]] == sorted(green, key=lambda key: (cosine[key], key))[:5]


def test_a_segment_file_cannot_name_other_code(tmp_path: Path) -> None:
    source = next((FIXTURE / "indexes").glob("*/segments/seg-*"))
    segment_dir = tmp_path / source.name
    shutil.copytree(source, segment_dir)
    (segment_dir / "columns.pickle").write_bytes(pickle.dumps(print))  # a global outside the allow-list
    with pytest.raises(pickle.UnpicklingError, match=r"builtins\.print"):
        Segment(segment_dir)
