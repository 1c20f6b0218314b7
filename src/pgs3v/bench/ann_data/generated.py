"""A read-only matrix whose rows are generated on demand, a fixed chunk at a time, instead of stored.

A seeded synthetic set makes chunk ``c`` (rows ``c·chunk_rows`` ..) from a generator of its own,
so any row can be made again without the rows before it. :class:`GeneratedMatrix` answers
slices and integer row arrays by generating the chunks they touch, and keeps the last few in a
small cache so sequential readers (ingest, the ground-truth pass, two ingest threads side by
side) generate every chunk once. Memory stays at a few chunks whatever the number of rows: 10M
× 768 is 30.7 GB as a file, and the benchmark must leave the disk and the page cache to the
store it measures.

Turning the whole matrix into one array (``np.asarray``) is refused above
:data:`MATERIALIZE_LIMIT_BYTES`: a consumer that needs every row must read it in slices.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

FloatMatrix = npt.NDArray[np.float32]
ChunkMaker = Callable[[int], FloatMatrix]  # chunk number → its (chunk_rows, dimension) float32 rows

# Above this, np.asarray(matrix) raises instead of allocating: whoever needs all rows reads slices.
MATERIALIZE_LIMIT_BYTES = 1 << 30
_CACHED_CHUNKS = 4  # two ingest threads read neighbouring chunks; four leave room for both


class GeneratedMatrix:
    """``rows`` × ``dimension`` float32 rows made by ``make_chunk``, read like a read-only array."""

    def __init__(self, make_chunk: ChunkMaker, rows: int, dimension: int, chunk_rows: int, identity: str) -> None:
        if rows < 0 or dimension < 1 or chunk_rows < 1:
            raise ValueError(f"bad generated matrix: {rows} rows, {dimension} dimensions, chunks of {chunk_rows}")
        self._make_chunk = make_chunk
        self.chunk_rows = chunk_rows
        # What generates the rows (generator version, parameters, seed): part of cache keys.
        self.identity = identity
        self._rows, self._dimension = rows, dimension
        self._cache: OrderedDict[int, FloatMatrix] = OrderedDict()
        # One lock for the cache and the generation: two threads that want the same chunk
        # (the ingest clients do) must not both generate it.
        self._lock = threading.Lock()
        self.chunks_generated = 0

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, dimension), as an array's."""
        return (self._rows, self._dimension)

    @property
    def dtype(self) -> np.dtype[np.float32]:
        """float32, as the rows."""
        return np.dtype(np.float32)

    @property
    def ndim(self) -> int:
        """2."""
        return 2

    @property
    def nbytes(self) -> int:
        """What the rows would take as one array."""
        return self._rows * self._dimension * 4

    @property
    def cached_chunks(self) -> int:
        """How many generated chunks are held now (at most four)."""
        return len(self._cache)

    def __len__(self) -> int:
        return self._rows

    def __repr__(self) -> str:
        return f"GeneratedMatrix({self._rows} x {self._dimension}, {self.identity})"

    def __getitem__(self, index: Any) -> FloatMatrix:
        """Rows by an int, a slice, an integer or boolean array, optionally with a column index after it."""
        if isinstance(index, tuple):
            if len(index) == 1:
                return self[index[0]]
            if len(index) != 2:
                raise IndexError(f"too many indices for a 2-D matrix: {len(index)}")
            picked: FloatMatrix = self[index[0]][..., index[1]]
            return picked
        if isinstance(index, slice):
            start, stop, step = index.indices(self._rows)
            if step == 1:
                return self.row_range(start, max(start, stop))
            return self.gather(np.arange(start, stop, step, dtype=np.int64))
        if isinstance(index, (int, np.integer)):
            row = int(index) + self._rows if index < 0 else int(index)
            if not 0 <= row < self._rows:
                raise IndexError(f"row {int(index)} is out of bounds for {self._rows} rows")
            one: FloatMatrix = self.row_range(row, row + 1)[0]
            return one
        wanted = np.asarray(index)
        if wanted.dtype == np.bool_:
            if wanted.shape != (self._rows,):
                raise IndexError(f"a boolean index of shape {wanted.shape} for {self._rows} rows")
            return self.gather(np.flatnonzero(wanted))
        if wanted.dtype.kind not in "iu":
            raise IndexError(f"rows must be indexed by integers, slices or booleans, not {wanted.dtype}")
        return self.gather(wanted)

    def __array__(self, dtype: npt.DTypeLike | None = None, copy: bool | None = None) -> FloatMatrix:
        """All rows as one array, for small matrices only (see :data:`MATERIALIZE_LIMIT_BYTES`)."""
        if copy is False:
            raise ValueError("a generated matrix has no array to share: it can only be copied")
        if self.nbytes > MATERIALIZE_LIMIT_BYTES:
            raise MemoryError(
                f"{self!r} is {self.nbytes / 1e9:.1f} GB: read it in slices, not as one array "
                f"(the limit is {MATERIALIZE_LIMIT_BYTES / 1e9:.1f} GB)"
            )
        rows = self.row_range(0, self._rows)
        return rows if dtype is None else rows.astype(dtype)

    def row_range(self, start: int, stop: int) -> FloatMatrix:
        """Rows ``start`` .. ``stop - 1``: a read-only view when they lie in one chunk, else a new array."""
        if not 0 <= start <= stop <= self._rows:
            raise IndexError(f"rows {start}..{stop} are out of bounds for {self._rows} rows")
        first, last = start // self.chunk_rows, (stop - 1) // self.chunk_rows
        if stop > start and first == last:
            offset = first * self.chunk_rows
            view: FloatMatrix = self.chunk(first)[start - offset : stop - offset]
            return view
        out = np.empty((stop - start, self._dimension), dtype=np.float32)
        for number, chunk_start in self._chunk_starts(start, stop):
            low, high = max(start, chunk_start), min(stop, chunk_start + self.chunk_rows)
            out[low - start : high - start] = self.chunk(number)[low - chunk_start : high - chunk_start]
        return out

    def gather(self, rows: npt.ArrayLike) -> FloatMatrix:
        """The given rows, in the given order (repeats and negative numbers allowed), each chunk generated once."""
        wanted = np.asarray(rows, dtype=np.int64).reshape(-1)
        if wanted.size and (wanted.min() < -self._rows or wanted.max() >= self._rows):
            raise IndexError(f"row numbers out of bounds for {self._rows} rows")
        wanted = np.where(wanted < 0, wanted + self._rows, wanted)
        out = np.empty((len(wanted), self._dimension), dtype=np.float32)
        order = np.argsort(wanted, kind="stable")
        ordered = wanted[order]
        chunks = ordered // self.chunk_rows
        # Sorted, so each chunk's rows are one run: generate it once, copy its rows out.
        bounds = np.flatnonzero(np.diff(chunks)) + 1
        for run in np.split(np.arange(len(ordered)), bounds):
            if len(run) == 0:
                continue
            number = int(chunks[run[0]])
            out[order[run]] = self.chunk(number)[ordered[run] - number * self.chunk_rows]
        return out

    def chunk(self, number: int) -> FloatMatrix:
        """The rows of chunk ``number`` (the last one cut to the matrix), read-only; cached."""
        with self._lock:
            cached = self._cache.get(number)
            if cached is not None:
                self._cache.move_to_end(number)
                return cached
            start = number * self.chunk_rows
            rows = min(self.chunk_rows, self._rows - start)
            made = np.ascontiguousarray(self._make_chunk(number)[:rows], dtype=np.float32)
            if made.shape != (rows, self._dimension):
                raise ValueError(f"chunk {number} has shape {made.shape}, not {(rows, self._dimension)}")
            made.flags.writeable = False
            self.chunks_generated += 1
            self._cache[number] = made
            if len(self._cache) > _CACHED_CHUNKS:
                self._cache.popitem(last=False)
            return made

    def _chunk_starts(self, start: int, stop: int) -> Iterator[tuple[int, int]]:
        for number in range(start // self.chunk_rows, (stop - 1) // self.chunk_rows + 1):
            yield number, number * self.chunk_rows

    def sample(self, chunks: int = 16, rows_per_chunk: int = 64) -> FloatMatrix:
        """A few rows from up to ``chunks`` evenly spaced chunks and the last row: cheap to make, for fingerprints."""
        if not self._rows:
            return np.empty((0, self._dimension), dtype=np.float32)
        count = -(-self._rows // self.chunk_rows)
        numbers = np.unique(np.linspace(0, max(count - 1, 0), min(chunks, count)).round().astype(np.int64))
        # Copies, not views: a view would keep its whole chunk alive past the cache's four.
        parts = [self.chunk(int(n))[:rows_per_chunk].copy() for n in numbers]
        parts.append(self.row_range(self._rows - 1, self._rows).copy())
        return np.concatenate(parts)
