"""The rows a new segment is written from, already encoded: by a fold from the tail, by a merge from segments.

Keys and metadata travel as :class:`Blobs` (bytes end to end, with offsets) and the filterable
metadata as :class:`MetadataColumns`, which is how a segment stores them. So a merge copies byte
ranges and concatenates columns instead of decoding and re-encoding every row: at 528k rows
that per-row Python work took 4-5 s of the merge, holding the GIL against the requests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import orjson

from pgs3v.store.engine.metadata_columns import MetadataColumns

RowArray = npt.NDArray[np.int64]
ByteArray = npt.NDArray[np.uint8]


class RowVectors(Protocol):
    """Vectors that can be read a slice of rows at a time (an array, or rows of other segments)."""

    @property
    def shape(self) -> tuple[int, ...]: ...

    def __getitem__(self, rows: slice, /) -> Any: ...


@dataclass(frozen=True)
class Blobs:
    """Byte strings end to end: item ``i`` is ``data[offsets[i]:offsets[i + 1]]``."""

    data: ByteArray
    offsets: RowArray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @staticmethod
    def of(items: Sequence[bytes]) -> Blobs:
        """The items, encoded."""
        offsets = np.zeros(len(items) + 1, dtype=np.int64)
        np.cumsum([len(item) for item in items], out=offsets[1:])
        return Blobs(np.frombuffer(b"".join(items), dtype=np.uint8), offsets)

    @staticmethod
    def gathered(sources: Sequence[tuple[ByteArray, RowArray, RowArray]]) -> Blobs:
        """Items ``rows`` (ascending) of each ``(data, offsets, rows)`` source, one source after the other.

        Rows kept by a merge come in long runs (only deleted rows break them), and a run is one
        slice of the source's bytes.
        """
        pieces: list[ByteArray] = []
        lengths: list[RowArray] = []
        for data, offsets, rows in sources:
            if not len(rows):
                continue
            lengths.append(offsets[rows + 1] - offsets[rows])
            breaks = np.flatnonzero(np.diff(rows) != 1) + 1
            starts = rows[np.concatenate(([0], breaks))]
            stops = rows[np.concatenate((breaks - 1, [len(rows) - 1]))] + 1
            for start, stop in zip(offsets[starts].tolist(), offsets[stops].tolist(), strict=True):
                pieces.append(data[start:stop])
        offsets_out = np.zeros(sum(len(part) for part in lengths) + 1, dtype=np.int64)
        if lengths:
            np.cumsum(np.concatenate(lengths), out=offsets_out[1:])
        data_out = np.concatenate(pieces) if pieces else np.empty(0, dtype=np.uint8)
        return Blobs(np.ascontiguousarray(data_out, dtype=np.uint8), offsets_out)


@dataclass(frozen=True)
class SegmentRows:
    """The rows to write into a new segment (each key once), encoded as the segment stores them."""

    keys: Blobs  # UTF-8
    metadata: Blobs  # JSON; empty for a row without metadata
    columns: MetadataColumns  # the filterable metadata
    vectors: RowVectors
    hash_high: npt.NDArray[np.uint64]
    hash_low: npt.NDArray[np.uint64]

    def __len__(self) -> int:
        return len(self.keys)

    @staticmethod
    def encoded(
        keys: Sequence[str], vectors: RowVectors, metadata: Sequence[dict[str, Any] | None],
        hash_high: npt.NDArray[np.uint64], hash_low: npt.NDArray[np.uint64], columns: MetadataColumns,
    ) -> SegmentRows:
        """Rows given one by one, with ``columns`` holding their filterable metadata."""
        return SegmentRows(
            Blobs.of([key.encode("utf-8") for key in keys]),
            Blobs.of([orjson.dumps(m) if m else b"" for m in metadata]),
            columns, vectors, hash_high, hash_low,
        )


class GatheredVectors:
    """The kept rows of several segments, one after the other, read lazily a slice at a time."""

    def __init__(self, arrays: Sequence[npt.NDArray[np.float32]], rows: Sequence[RowArray], dimension: int) -> None:
        self._arrays, self._rows = list(arrays), list(rows)
        self._starts = np.cumsum([0, *(len(r) for r in rows)])
        self._dimension = dimension

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, dimension)."""
        return int(self._starts[-1]), self._dimension

    def __getitem__(self, wanted: slice) -> npt.NDArray[np.float32]:
        start, stop, _ = wanted.indices(int(self._starts[-1]))
        parts = []
        for array, rows, first in zip(self._arrays, self._rows, self._starts[:-1], strict=True):
            low, high = max(start - first, 0), min(stop - first, len(rows))
            if low < high:
                parts.append(np.asarray(array[rows[low:high]], dtype=np.float32))
        if not parts:
            return np.empty((0, self._dimension), dtype=np.float32)
        return np.concatenate(parts)
