"""Seeded synthetic embeddings with the structure of real ones, generated in bounded memory.

Real embedding sets are neither a few tight clusters (every ANN index finds those) nor isotropic
noise (in 768 dimensions every point is then nearly equidistant from every other, so no index can
do better than a scan). They have a low intrinsic dimension, topics of very unequal sizes, and an
anisotropic spread. The generator draws a latent point from a mixture of many gaussians with
log-normal weights and spreads in ``latent_dimension`` dimensions, maps it into ``dimension``
dimensions through a random linear map whose singular values decay, adds a little isotropic
noise and one vector shared by every row (real embeddings share a mean direction, so unrelated
texts sit at a cosine distance near 0.9, not 1), and normalises it for cosine. Queries are fresh
draws from the same distribution, never copies of stored vectors.

Rows are generated in fixed chunks, each from its own seeded generator, so row ``i`` is the same
for any ``vectors`` count (a larger set extends a smaller one) and any chunk can be made alone.
Up to :data:`GENERATE_ABOVE_BYTES` the rows are written once into a cached ``.npy`` and memory
mapped (1M × 768 takes about 20 s and 3 GB of disk); above it they are not stored at all but
generated on demand (:class:`~pgs3v.bench.ann_data.generated.GeneratedMatrix`, 0.28 s a chunk of
16,384 × 768, so about 3 minutes a pass over 10M rows): 10M × 768 would be a 30.7 GB file beside
the store's own copy, on a disk and a page cache too small for both.

Measured with the defaults (seed 0, 1,000 queries) by :func:`.difficulty.difficulty_report` on
100,000 rows (the same on the first 100,000 and on a sample of 1,000,000), faiss ``IndexIVFFlat``
with nlist 316 ≈ √N, recall@10: nprobe 1 → 0.39, nprobe 4 → 0.68, nprobe 16 → 0.92, nprobe 316
→ 1.00. Exact cosine distances (medians over the queries): 1st neighbour 0.226, 10th 0.287, all
rows 0.915, so the 10th neighbour lies at 0.31 × the median distance; isotropic noise gives 0.71
already at 128 dimensions. The real sets, same report on 100,000-row samples: GloVe 50d 0.39 /
0.66 / 0.89 with distances 0.249, 0.331, 0.871 (0.38); WordNet all-MiniLM-L6-v2 384-d 0.49 /
0.77 / 0.92 with 0.310, 0.466, 0.947 (0.49).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import numpy.typing as npt

from pgs3v.bench.ann_data.cache import Cache
from pgs3v.bench.ann_data.dataset import AnnDataset, FloatMatrix, Metric, seeded_bands
from pgs3v.bench.ann_data.generated import GeneratedMatrix
from pgs3v.store.engine.distances import unit_rows

GENERATOR_VERSION = 1  # part of every cached file's name: bump it when the output changes
# Larger sets are generated on demand, not cached: a third of this machine's 24 GB of RAM, above
# which the benchmark's mapped copy competes with the store's page cache (at 5M × 768, 15 GB,
# some of the store's re-rank reads went to disk because of it).
GENERATE_ABOVE_BYTES = 8_000_000_000
_CHUNK_ROWS = 1 << 14
_MODEL_STREAM, _VECTOR_STREAM, _QUERY_STREAM = 1, 2, 3


@dataclass(frozen=True)
class SyntheticParameters:
    """The shape of the distribution; the defaults are tuned as the module docstring reports."""

    dimension: int = 768
    latent_dimension: int = 48  # at most ``dimension``
    components: int = 2000
    # Log-normal σ of the component weights: a few big topics and a long tail of small ones.
    weight_sigma: float = 1.0
    # Spread of a component relative to the spread of the component centres.
    component_spread: float = 1.0
    # Singular value i of the latent → embedding map is (1 + i) ** -spectrum_decay.
    spectrum_decay: float = 0.5
    # Norm of the isotropic noise relative to the norm of the mapped latent point.
    noise: float = 0.2
    # Norm of one vector added to every row, relative to the same: real embeddings share a mean
    # direction, so two unrelated texts are at a cosine distance below 1 (about 0.9), not at 1.
    offset: float = 0.3
    metric: Metric = "cosine"

    def tag(self) -> str:
        """A short name of these parameters for cache file names."""
        return (
            f"g{GENERATOR_VERSION}-d{self.dimension}-l{self.latent_dimension}-c{self.components}"
            f"-w{self.weight_sigma:g}-s{self.component_spread:g}-p{self.spectrum_decay:g}-n{self.noise:g}"
            f"-o{self.offset:g}"
            f"-{self.metric}"
        )


class SyntheticDistribution:
    """The mixture and the map of one seed: draw rows from it chunk by chunk."""

    def __init__(self, parameters: SyntheticParameters, seed: int) -> None:
        self.parameters = parameters
        p = parameters
        self._latent = latent = min(p.latent_dimension, p.dimension)
        rng = np.random.default_rng([seed, _MODEL_STREAM])
        self._centres = rng.standard_normal((p.components, latent))
        weights = rng.lognormal(0.0, p.weight_sigma, p.components)
        self._weights = weights / weights.sum()
        # Components differ in how spread out they are, as real topics do.
        self._spreads = p.component_spread * rng.lognormal(0.0, 0.35, p.components)
        singular = (1.0 + np.arange(latent)) ** -p.spectrum_decay
        left, _ = np.linalg.qr(rng.standard_normal((p.dimension, latent)))
        right, _ = np.linalg.qr(rng.standard_normal((latent, latent)))
        self._map = ((right * singular) @ left.T).astype(np.float32)  # latent row @ map = embedding row
        # Expected norm of a mapped latent point, so the noise is relative to the signal.
        signal_norm = np.sqrt((1.0 + p.component_spread**2) * np.sum(singular**2))
        self._noise_scale = np.float32(p.noise * signal_norm / np.sqrt(p.dimension))
        direction = rng.standard_normal(p.dimension)
        self._offset = (p.offset * signal_norm * direction / np.linalg.norm(direction)).astype(np.float32)

    def sample(self, rng: np.random.Generator, rows: int) -> FloatMatrix:
        """``rows`` fresh float32 rows (unit length for cosine)."""
        p = self.parameters
        components = rng.choice(p.components, size=rows, p=self._weights)
        latent = rng.standard_normal((rows, self._latent), dtype=np.float32)
        latent *= self._spreads[components, None].astype(np.float32)
        latent += self._centres[components].astype(np.float32)
        out: FloatMatrix = latent @ self._map
        out += self._noise_scale * rng.standard_normal((rows, p.dimension), dtype=np.float32)
        out += self._offset
        if p.metric == "cosine":
            out = unit_rows(out)
        return out

    def chunk(self, number: int, seed: int) -> FloatMatrix:
        """Rows ``number · 16384`` .. of the vector stream of ``seed``: a full chunk, from its own generator."""
        return self.sample(np.random.default_rng([seed, _VECTOR_STREAM, number]), _CHUNK_ROWS)

    def fill(self, out: npt.NDArray[np.float32], seed: int) -> None:
        """Fill ``out`` with rows 0.. of the vector stream of ``seed``, one chunk at a time."""
        for chunk, start in enumerate(range(0, len(out), _CHUNK_ROWS)):
            stop = min(len(out), start + _CHUNK_ROWS)
            out[start:stop] = self.chunk(chunk, seed)[: stop - start]

    def matrix(self, rows: int, seed: int) -> GeneratedMatrix:
        """Rows 0 .. ``rows - 1`` of the vector stream of ``seed``, generated when read, never stored."""
        p = self.parameters
        return GeneratedMatrix(partial(self.chunk, seed=seed), rows, p.dimension, _CHUNK_ROWS,
                               f"{p.tag()}-seed{seed}")

    def queries(self, count: int, seed: int) -> FloatMatrix:
        """``count`` query rows, drawn from the same distribution as the vectors but another stream."""
        return self.sample(np.random.default_rng([seed, _QUERY_STREAM]), count)


def generates_on_demand(vectors: int, dimension: int, generate: bool | None = None) -> bool:
    """Whether a synthetic set of this size is generated on demand (``generate`` None: above 8 GB)."""
    return generate if generate is not None else vectors * dimension * 4 > GENERATE_ABOVE_BYTES


def synthetic_dataset(
    vectors: int,
    queries: int = 1000,
    seed: int = 0,
    parameters: SyntheticParameters | None = None,
    cache: Cache | None = None,
    generate: bool | None = None,
) -> AnnDataset:
    """The seeded synthetic set: vectors from the cache (generated there first if missing), or generated on demand.

    ``generate`` None decides by size (:func:`generates_on_demand`); the rows are the same either way.
    """
    p = parameters or SyntheticParameters()
    if generates_on_demand(vectors, p.dimension, generate):
        return synthetic_generated(vectors, queries, seed, p)
    cache = cache or Cache.default()
    distribution = SyntheticDistribution(p, seed)
    name = f"synthetic-{p.dimension}d"
    data = cache.array(
        name, f"vectors-{p.tag()}-seed{seed}-n{vectors}.npy", (vectors, p.dimension), np.float32,
        lambda out: distribution.fill(out, seed),
    )
    return AnnDataset(
        name=name, metric=p.metric, vectors=data, queries=distribution.queries(queries, seed),
        bands=seeded_bands(vectors, seed), seed=seed,
    )


def synthetic_in_memory(
    vectors: int, queries: int = 1000, seed: int = 0, parameters: SyntheticParameters | None = None
) -> AnnDataset:
    """The same data set as :func:`synthetic_dataset`, built in memory (for small sizes and tests)."""
    p = parameters or SyntheticParameters()
    distribution = SyntheticDistribution(p, seed)
    data = np.empty((vectors, p.dimension), dtype=np.float32)
    distribution.fill(data, seed)
    return AnnDataset(
        name=f"synthetic-{p.dimension}d", metric=p.metric, vectors=data, queries=distribution.queries(queries, seed),
        bands=seeded_bands(vectors, seed), seed=seed,
    )


def synthetic_generated(
    vectors: int, queries: int = 1000, seed: int = 0, parameters: SyntheticParameters | None = None
) -> AnnDataset:
    """The same data set as :func:`synthetic_dataset`, its rows generated when read and never stored."""
    p = parameters or SyntheticParameters()
    distribution = SyntheticDistribution(p, seed)
    return AnnDataset(
        name=f"synthetic-{p.dimension}d", metric=p.metric, vectors=distribution.matrix(vectors, seed),
        queries=distribution.queries(queries, seed), bands=seeded_bands(vectors, seed), seed=seed,
    )
