"""The data set type of the ANN benchmark, its band column and the filters built on it.

Every row carries a ``band``: a seeded uniform integer in [0, 10000), independent of the vector.
A filtered query of selectivity ``s`` keeps the rows with ``band < round(s * 10000)``, so the share
of matching rows is ``s`` in expectation whatever the data, and the same filter is easy to state to
every system (an S3 Vectors filter, an SQL ``WHERE``, a numpy mask).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, overload

import numpy as np
import numpy.typing as npt

from pgs3v.bench.ann_data.generated import GeneratedMatrix

Metric = Literal["cosine", "euclidean"]
FloatMatrix = npt.NDArray[np.float32]
# An array in RAM, a read-only memory map of a cached file, or rows generated when read.
Vectors = FloatMatrix | GeneratedMatrix
BandArray = npt.NDArray[np.int32]
Mask = npt.NDArray[np.bool_]

BAND_COUNT = 10_000
# The shares of rows a filtered query keeps, from loose to very selective.
SELECTIVITIES = (0.5, 0.1, 0.01, 0.001, 0.0001)
_BAND_CHUNK_ROWS = 1 << 16
_BAND_STREAM, _HOLD_OUT_STREAM = 0xBA4D, 0x401D  # seed streams, so bands and held-out rows are unrelated


@dataclass(frozen=True)
class AnnDataset:
    """Vectors to index, queries to ask, and a band per vector for filtered queries.

    ``vectors`` may be a read-only ``np.memmap`` of a cached file, or a :class:`GeneratedMatrix`
    (read it in slices or row arrays, never whole); ``queries`` are never rows of ``vectors``.
    Row ``i`` is stored under the key ``f"v{i}"`` with metadata ``{"band": bands[i]}``.
    """

    name: str
    metric: Metric
    vectors: Vectors
    queries: FloatMatrix
    bands: BandArray
    seed: int

    def __post_init__(self) -> None:
        rows, dimension = self.vectors.shape
        if self.queries.ndim != 2 or self.queries.shape[1] != dimension:
            raise ValueError(f"queries of shape {self.queries.shape} do not match vectors of dimension {dimension}")
        if self.bands.shape != (rows,):
            raise ValueError(f"{self.bands.shape[0]} bands for {rows} vectors")

    @property
    def dimension(self) -> int:
        """Length of every vector."""
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    def key(self, row: int) -> str:
        """The key a row is stored under."""
        return f"v{row}"

    def metadata(self, row: int) -> dict[str, int]:
        """The filterable metadata stored with a row."""
        return {"band": int(self.bands[row])}

    def keys(self) -> Sequence[str]:
        """Every row's key, made when read (10M keys as a list take 0.6 GB)."""
        return _RowKeys(len(self))

    def metadata_rows(self) -> Sequence[dict[str, int]]:
        """Every row's metadata, made when read (10M one-entry dicts take 2 GB)."""
        return _RowMetadata(self.bands)

    @property
    def generated(self) -> bool:
        """Whether the rows are generated when read rather than held in memory or a file."""
        return isinstance(self.vectors, GeneratedMatrix)

    def mask(self, selectivity: float | None) -> Mask:
        """Rows a query of this selectivity may return (every row for ``None``)."""
        if selectivity is None:
            return np.ones(len(self), dtype=np.bool_)
        return selectivity_mask(self.bands, selectivity)


class _RowKeys(Sequence[str]):
    """``v0``, ``v1``, … as a sequence that holds nothing."""

    def __init__(self, rows: int) -> None:
        self._rows = rows

    def __len__(self) -> int:
        return self._rows

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [f"v{row}" for row in range(*index.indices(self._rows))]
        return f"v{range(self._rows)[index]}"


class _RowMetadata(Sequence[dict[str, int]]):
    """``{"band": b}`` per row as a sequence that holds only the bands."""

    def __init__(self, bands: BandArray) -> None:
        self._bands = bands

    def __len__(self) -> int:
        return len(self._bands)

    @overload
    def __getitem__(self, index: int) -> dict[str, int]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, int]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, int] | list[dict[str, int]]:
        if isinstance(index, slice):
            return [{"band": band} for band in self._bands[index].tolist()]
        return {"band": int(self._bands[index])}


def band_limit(selectivity: float) -> int:
    """The exclusive upper bound on ``band`` that keeps a ``selectivity`` share of the rows."""
    if not 0.0 < selectivity <= 1.0:
        raise ValueError(f"selectivity must be in (0, 1], not {selectivity}")
    return round(selectivity * BAND_COUNT)


def selectivity_filter(selectivity: float) -> dict[str, dict[str, int]]:
    """The S3 Vectors filter of a selectivity: ``{"band": {"$lt": round(s * 10000)}}``."""
    return {"band": {"$lt": band_limit(selectivity)}}


def selectivity_mask(bands: BandArray, selectivity: float) -> Mask:
    """Which rows the filter of a selectivity keeps."""
    mask: Mask = bands < band_limit(selectivity)
    return mask


def seeded_bands(rows: int, seed: int) -> BandArray:
    """Uniform bands in [0, 10000) for ``rows`` rows; the first rows are the same for any ``rows``."""
    bands = np.empty(rows, dtype=np.int32)
    # One generator per fixed-size chunk, so a larger data set extends a smaller one.
    for chunk, start in enumerate(range(0, rows, _BAND_CHUNK_ROWS)):
        stop = min(rows, start + _BAND_CHUNK_ROWS)
        rng = np.random.default_rng([seed, _BAND_STREAM, chunk])
        bands[start:stop] = rng.integers(0, BAND_COUNT, stop - start, dtype=np.int32)
    return bands


def hold_out_queries(rows: int, queries: int, seed: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """A seeded split of ``rows`` into the rows kept as vectors and the rows held out as queries."""
    if not 0 < queries < rows:
        raise ValueError(f"cannot hold out {queries} queries from {rows} rows")
    rng = np.random.default_rng([seed, _HOLD_OUT_STREAM])
    held_out = np.sort(rng.choice(rows, size=queries, replace=False))
    kept = np.ones(rows, dtype=np.bool_)
    kept[held_out] = False
    return np.flatnonzero(kept), held_out
