"""Data sets, exact answers and the exact-search baseline of the ANN benchmark.

Three data sets (:data:`DATASETS`): seeded synthetic embeddings of any size, GloVe 50d word
vectors, and all-MiniLM-L6-v2 embeddings of WordNet's synsets. Each is an :class:`AnnDataset`
whose rows carry a ``band`` for filtered queries of a chosen selectivity
(:func:`selectivity_filter`, :func:`selectivity_mask`). :func:`load_ground_truth` gives the exact
top k of every query, unfiltered and filtered, and caches it; :class:`ExactIndex` answers one
query exactly, the numpy baseline to time; :func:`difficulty_report` shows how hard a set is for
an IVF index. Generated vectors, embeddings and answers are cached under :func:`default_cache_root`,
except synthetic sets above 8 GB, whose rows are generated when read (:class:`GeneratedMatrix`) and
searched exactly a block at a time (:class:`BlockExactSearch`).
"""

from pgs3v.bench.ann_data.cache import Cache, default_cache_root
from pgs3v.bench.ann_data.catalog import DATASETS, load_dataset
from pgs3v.bench.ann_data.dataset import (
    BAND_COUNT,
    SELECTIVITIES,
    AnnDataset,
    Metric,
    band_limit,
    hold_out_queries,
    seeded_bands,
    selectivity_filter,
    selectivity_mask,
)
from pgs3v.bench.ann_data.difficulty import DifficultyReport, difficulty_report
from pgs3v.bench.ann_data.exact import BlockExactSearch, ExactIndex, Neighbours
from pgs3v.bench.ann_data.generated import GeneratedMatrix
from pgs3v.bench.ann_data.glove import glove_dataset
from pgs3v.bench.ann_data.ground_truth import GroundTruth, Selectivity, exact_ground_truth, load_ground_truth
from pgs3v.bench.ann_data.synthetic import (
    SyntheticParameters,
    generates_on_demand,
    synthetic_dataset,
    synthetic_generated,
    synthetic_in_memory,
)
from pgs3v.bench.ann_data.wordnet import wordnet_dataset

__all__ = [
    "BAND_COUNT",
    "DATASETS",
    "SELECTIVITIES",
    "AnnDataset",
    "BlockExactSearch",
    "Cache",
    "DifficultyReport",
    "ExactIndex",
    "GeneratedMatrix",
    "GroundTruth",
    "Metric",
    "Neighbours",
    "Selectivity",
    "SyntheticParameters",
    "band_limit",
    "default_cache_root",
    "difficulty_report",
    "exact_ground_truth",
    "generates_on_demand",
    "glove_dataset",
    "hold_out_queries",
    "load_dataset",
    "load_ground_truth",
    "seeded_bands",
    "selectivity_filter",
    "selectivity_mask",
    "synthetic_dataset",
    "synthetic_generated",
    "synthetic_in_memory",
    "wordnet_dataset",
]
