"""The store's files are its owner's only: data and log files 0600, directories 0700.

A real server writes every kind of file it has (credentials, catalog, write-ahead log,
manifests, segments with an approximate index, deletion masks); none may be readable, writable
or enterable by anyone else, whatever the umask, and a data directory left open by an older
version or by hand is closed on start.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import numpy as np

from tests.support import StoreProcess, client, engine_client

DIMENSION = 8
# Small enough that a few hundred vectors give segments with an approximate index.
SMALL_SEGMENTS = ("--limit", "index_fold_rows=100", "--limit", f"index_ann_min_floats={50 * DIMENSION}",
                  "--limit", "index_fold_idle_ms=1")


def _modes(root: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def test_every_file_is_private_to_the_owner(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)  # as an older version, or a user, left it
    previous = os.umask(0o002)  # the loosest umask in common use; the server inherits it
    try:
        server = StoreProcess(data_dir, extra_args=SMALL_SEGMENTS).start()
    finally:
        os.umask(previous)
    try:
        s3v = client(server.endpoint)
        s3v.create_vector_bucket(vectorBucketName="private")
        index = {"vectorBucketName": "private", "indexName": "files"}
        s3v.create_index(**index, dataType="float32", dimension=DIMENSION, distanceMetric="cosine")
        rows = np.random.default_rng(3).standard_normal((800, DIMENSION)).astype(np.float32)

        def put(start: int, stop: int) -> None:
            s3v.put_vectors(**index, vectors=[
                {"key": f"k{i}", "data": {"float32": rows[i].tolist()}, "metadata": {"n": i}}
                for i in range(start, stop)])

        put(0, 300)
        put(300, 600)
        engine_client(server.endpoint).call("Pgs3vOptimizeIndex", index)
        # Deletes in a built segment are saved as a mask when the indexer next commits (a fold).
        s3v.delete_vectors(**index, keys=["k1", "k2"])
        put(600, 800)
        deadline = time.monotonic() + 60
        while not list(data_dir.rglob("deleted-*.npy")):
            assert time.monotonic() < deadline, "no deletion mask was saved"
            time.sleep(0.05)
        s3v.tag_resource(resourceArn=s3v.get_index(**index)["index"]["indexArn"], tags={"team": "search"})
    finally:
        server.stop()

    modes = _modes(data_dir)
    names = {Path(name).name for name in modes}
    assert {"ann.faiss", "vectors.npy", "catalog.journal", "LOCK"} <= names, sorted(names)
    loose = {name: oct(mode) for name, mode in modes.items()
             if mode & 0o077 or ((data_dir / name).is_dir() and mode != 0o700)}
    assert not loose, loose
