"""An immutable segment: a batch of rows moved out of the write-ahead log into indexed files.

A segment directory holds:

- ``vectors.npy``: the full-precision float32 vectors, memory-mapped, read only to re-rank or
  to scan the few rows a selective filter leaves;
- ``norms.npy``: each row's L2 norm, so an exact scan is one matrix-vector product over the
  mapped rows (segments written before it compute theirs when first scanned);
- ``keys.bin`` + ``keys_offsets.npy`` and ``metadata.bin`` + ``metadata_offsets.npy``: each
  row's key and metadata (JSON), memory-mapped;
- ``hash_high.npy``, ``hash_low.npy``, ``hash_rows.npy``: the rows sorted by their 128-bit key
  hash, for key lookups (overwrites, deletes, GetVectors) and ListVectors order;
- ``columns.pickle``: the filterable metadata as columns (the store's own file, loaded in RAM);
- ``ann.faiss``: the approximate index over the rows (absent for small segments, which are
  scanned exactly);
- ``segment.json``: written last; a directory without it is an unfinished write.

Nothing in a segment changes after it is written: deletes and overwrites of its rows are kept
apart, as deletion bitmaps named by the manifest.
"""

from __future__ import annotations

import mmap
import pickle
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt
import orjson

from pgs3v.durable_files import PRIVATE_DIRECTORY, SyncedFile, fsync_directory, write_file_atomically
from pgs3v.store.engine import metadata_columns
from pgs3v.store.engine.ann import build_ann, calibrate_probes, load_ann, save_ann
from pgs3v.store.engine.distances import row_norms
from pgs3v.store.engine.metadata_columns import MetadataColumns
from pgs3v.store.engine.segment_rows import Blobs, RowVectors, SegmentRows
from pgs3v.store.storage.segment_files import DESCRIPTOR

FloatArray = npt.NDArray[np.float32]
RowArray = npt.NDArray[np.int64]
ByteArray = npt.NDArray[np.uint8]
BlobSource = tuple[ByteArray, RowArray, RowArray]  # (bytes, offsets, rows), as Blobs.gathered reads it

_FORMAT = 1
_DESCRIPTOR = DESCRIPTOR  # written last: its presence means the segment is whole
_MIN_ANN_ROWS = 32
# read_rows: this many rows are read first; if that takes longer than a page-cache read could,
# the file is not cached and the rest are read ahead concurrently.
_PROBE_ROWS = 8
_CACHED_PROBE_SECONDS = 0.00025


@dataclass(frozen=True)
class SegmentBuild:
    """How to build a segment's ANN."""

    metric: str
    ann_min_floats: int
    build_threads: int = 0
    # Calibration: the probe count stored with the segment is the fewest reaching this recall@10
    # on sample rows, with this many candidates re-ranked.
    recall_target: float = 0.985
    rerank: int = 256


def wants_ann(rows: int, dimension: int, ann_min_floats: int) -> bool:
    """Whether a segment of this size gets an ANN (smaller ones are scanned exactly)."""
    # A 4-bit codebook has 16 centroids to train: fewer rows than a few times that cannot.
    return rows >= _MIN_ANN_ROWS and rows * dimension >= ann_min_floats


def write_segment(
    directory: Path, rows: SegmentRows, build: SegmentBuild, *, trained: faiss.Index | None = None,
    before_descriptor: Callable[[Path], None] | None = None,
) -> faiss.Index | None:
    """Write and fsync every file of a new segment in ``directory`` (which must not exist).

    A segment large enough (:func:`wants_ann`) also gets its ANN, grown from ``trained`` when
    given (see :func:`build_ann`). Returns the empty trained ANN used, for the next segment to
    reuse, or None when the segment has no ANN. ``before_descriptor`` writes what else the segment
    holds (its text indexes) before the descriptor that makes it complete.
    """
    directory.mkdir(mode=PRIVATE_DIRECTORY)
    count = len(rows)
    vectors = _write_vectors(directory / "vectors.npy", rows.vectors)
    _save(directory / "norms.npy", row_norms(vectors))
    _write_blobs(directory, "keys", rows.keys)
    _write_blobs(directory, "metadata", rows.metadata)
    order = np.lexsort((rows.hash_low, rows.hash_high))
    _save(directory / "hash_high.npy", rows.hash_high[order])
    _save(directory / "hash_low.npy", rows.hash_low[order])
    _save(directory / "hash_rows.npy", order.astype(np.int64))
    _write_durably(directory / "columns.pickle", pickle.dumps(rows.columns, protocol=pickle.HIGHEST_PROTOCOL))
    has_ann = wants_ann(count, int(rows.vectors.shape[1]), build.ann_min_floats)
    probes = rerank = None
    probes_by_top: list[int] | None = None
    if has_ann:
        # Both read the file just written, so a merge never holds all its vectors in RAM at once.
        ann, trained = build_ann(vectors, build.metric, threads=build.build_threads, trained=trained)
        calibration = calibrate_probes(ann, vectors, build.metric, build.rerank, build.recall_target)
        probes, rerank = calibration.probes, calibration.rerank
        probes_by_top = list(calibration.probes_by_top)
        with SyncedFile(directory / "ann.faiss") as file:
            save_ann(ann, file.write)
    descriptor = {"format": _FORMAT, "rows": count, "dimension": int(rows.vectors.shape[1]),
                  "metric": build.metric, "ann": has_ann, "probes": probes, "rerank": rerank,
                  "probes_by_top": probes_by_top}
    if before_descriptor is not None:
        before_descriptor(directory)
    fsync_directory(directory)
    write_file_atomically(directory / _DESCRIPTOR, orjson.dumps(descriptor))
    fsync_directory(directory.parent)
    return trained if has_ann else None


def _write_vectors(path: Path, source: RowVectors) -> FloatArray:
    """Copy ``source`` into a new .npy file chunk by chunk; return the file memory-mapped."""
    rows, dimension = source.shape
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype("<f4")), "fortran_order": False,
              "shape": (rows, dimension)}
    chunk = max(1, (16 << 20) // (4 * max(dimension, 1)))
    with SyncedFile(path) as file:
        np.lib.format.write_array_header_1_0(file, header)
        for start in range(0, rows, chunk):
            block = np.ascontiguousarray(source[start : start + chunk], dtype="<f4")
            file.write(block.data)
    written: FloatArray = np.load(path, mmap_mode="r")
    return written


def _write_blobs(directory: Path, name: str, blobs: Blobs) -> None:
    _write_durably(directory / f"{name}.bin", blobs.data)
    _save(directory / f"{name}_offsets.npy", blobs.offsets)


def _save(path: Path, array: npt.NDArray[Any]) -> None:
    with SyncedFile(path) as file:
        np.save(file, array, allow_pickle=False)


def _write_durably(path: Path, data: bytes | npt.NDArray[np.uint8]) -> None:
    with SyncedFile(path) as file:
        file.write(data if isinstance(data, bytes) else data.data)


# What columns.pickle may name. Segments written before the store's modules moved into
# sub-packages name pgs3v.store.metadata_columns; any other global is refused, so a segment file
# (one day in a shared bucket) can never make the server run code of its choosing.
_COLUMN_MODULES = frozenset({"pgs3v.store.metadata_columns", "pgs3v.store.engine.metadata_columns"})
_COLUMN_CLASSES = frozenset({"MetadataColumns", "_KeyColumn", "_Growable"})
_NUMPY_GLOBALS = frozenset({("numpy", "dtype"), ("numpy", "ndarray"), ("numpy._core.numeric", "_frombuffer"),
                            ("numpy.core.numeric", "_frombuffer"), ("numpy._core.multiarray", "_reconstruct"),
                            ("numpy.core.multiarray", "_reconstruct")})


class _ColumnsUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module in _COLUMN_MODULES and name in _COLUMN_CLASSES:
            return getattr(metadata_columns, name)
        if (module, name) in _NUMPY_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"a segment's columns may not name {module}.{name}")


def _load_columns(path: Path) -> MetadataColumns:
    with path.open("rb") as file:
        columns = _ColumnsUnpickler(file).load()
    if not isinstance(columns, MetadataColumns):
        raise pickle.UnpicklingError(f"{path} holds a {type(columns).__name__}, not metadata columns")
    return columns


def is_complete(directory: Path) -> bool:
    """The segment was written to the end (its descriptor exists)."""
    return (directory / _DESCRIPTOR).is_file()


class Segment:
    """A segment opened for reading: the vectors memory-mapped, codes and columns in RAM."""

    def __init__(self, directory: Path) -> None:
        descriptor = orjson.loads((directory / _DESCRIPTOR).read_bytes())
        if descriptor.get("format") != _FORMAT:
            raise ValueError(f"{directory}: unsupported segment format {descriptor.get('format')!r}")
        self.directory = directory
        self.name = directory.name
        self.rows: int = descriptor["rows"]
        self.dimension: int = descriptor["dimension"]
        self.metric: str = descriptor["metric"]
        self._vector_map = _load(directory / "vectors.npy")
        # A plain ndarray view of the mapping: numpy.memmap's bookkeeping on every slice and
        # product cost a small index's exact scan a third of its time.
        self.vectors: FloatArray = self._vector_map.view(np.ndarray)
        if descriptor["ann"]:
            # Re-ranking reads scattered rows; a segment without an index is scanned whole,
            # where the kernel's read-ahead is what makes a cold scan fast.
            _expect_random_reads(self._vector_map)
        self._keys = _load_bytes(directory / "keys.bin")
        self._key_offsets: RowArray = _load(directory / "keys_offsets.npy")
        self._metadata = _load_bytes(directory / "metadata.bin")
        self._metadata_offsets: RowArray = _load(directory / "metadata_offsets.npy")
        for mapped in (self._keys, self._key_offsets, self._metadata, self._metadata_offsets):
            _expect_random_reads(mapped)
        # Plain ndarray views of the same mappings: each result reads a key and its metadata by
        # row, and numpy.memmap's per-index bookkeeping cost more than the reads themselves.
        self._keys, self._metadata = self._keys.view(np.ndarray), self._metadata.view(np.ndarray)
        self._key_offsets = self._key_offsets.view(np.ndarray)
        self._metadata_offsets = self._metadata_offsets.view(np.ndarray)
        norms = directory / "norms.npy"
        self._norms: FloatArray | None = _load(norms).view(np.ndarray) if norms.is_file() else None
        self.hash_high: npt.NDArray[np.uint64] = _load(directory / "hash_high.npy")
        self.hash_low: npt.NDArray[np.uint64] = _load(directory / "hash_low.npy")
        self.hash_rows: RowArray = _load(directory / "hash_rows.npy")
        self.columns = _load_columns(directory / "columns.pickle")
        self.ann: faiss.Index | None = load_ann(directory / "ann.faiss") if descriptor["ann"] else None
        # The calibrated probe count (see SegmentBuild.recall_target); None without an index.
        self.probes: int | None = descriptor.get("probes")
        # The calibrated re-rank pool: the knob's value unless that could not reach the target.
        self.rerank: int | None = descriptor.get("rerank")
        # Probes for a query's j nearest rows, j = 1.. (see Calibration); () for segments written
        # before it was measured, which then pay ``probes`` whatever their share.
        self.probes_by_top: tuple[int, ...] = tuple(descriptor.get("probes_by_top") or ())

    @property
    def norms(self) -> FloatArray:
        """Each row's L2 norm (computed on first use for segments written without them)."""
        if self._norms is None:
            self._norms = row_norms(self.vectors)
        return self._norms

    def read_rows(self, rows: RowArray) -> FloatArray:
        """The full vectors of ``rows`` (sorted ascending), read ahead in parallel when not cached.

        Re-ranking reads a few hundred scattered rows. From the page cache that takes a tenth of
        a millisecond; from disk, one page fault after another, it takes a disk round trip per
        row (about 0.4 ms here), so a server's first query after a start would take 100 ms.
        The first rows tell which case this is: if they were slow, the rest are requested all
        at once (MADV_WILLNEED), so the disk serves them concurrently.
        """
        if len(rows) > 2 * _PROBE_ROWS:
            began = time.perf_counter()
            _probe = self.vectors[rows[:_PROBE_ROWS]]  # brings those pages in; read again below
            if time.perf_counter() - began > _CACHED_PROBE_SECONDS:
                _read_ahead(self._vector_map, rows[_PROBE_ROWS:])
        return np.asarray(self.vectors[rows])

    def blobs(self, rows: RowArray) -> tuple[BlobSource, BlobSource]:
        """Where the keys and the metadata of ``rows`` lie, as :meth:`Blobs.gathered` takes them."""
        return (self._keys, self._key_offsets, rows), (self._metadata, self._metadata_offsets, rows)

    def key(self, row: int) -> str:
        """The key of ``row``."""
        start, stop = self._key_offsets[row], self._key_offsets[row + 1]
        return self._keys[start:stop].tobytes().decode("utf-8")

    def metadata(self, row: int) -> dict[str, Any] | None:
        """The metadata of ``row`` as it was written (None when it had none)."""
        start, stop = self._metadata_offsets[row], self._metadata_offsets[row + 1]
        if start == stop:
            return None
        parsed: dict[str, Any] = orjson.loads(self._metadata[start:stop].tobytes())
        return parsed

    def find(self, keys: Sequence[str], high: npt.NDArray[np.uint64], low: npt.NDArray[np.uint64]) -> RowArray:
        """The row holding each key, or -1 (``high``/``low`` are the keys' hashes)."""
        found = np.full(len(keys), -1, dtype=np.int64)
        if self.rows == 0 or len(keys) == 0:
            return found
        positions = np.searchsorted(self.hash_high, high)
        inside = np.minimum(positions, self.rows - 1)
        # Vectorized first pass: most keys of a batch are new and fail here.
        maybe = (positions < self.rows) & (self.hash_high[inside] == high)
        for i in np.flatnonzero(maybe):
            position = int(positions[i])
            # Equal high words are adjacent; the low word and the key itself settle the match.
            while position < self.rows and self.hash_high[position] == high[i]:
                row = int(self.hash_rows[position])
                if self.hash_low[position] == low[i] and self.key(row) == keys[int(i)]:
                    found[i] = row
                    break
                position += 1
        return found


def _read_ahead(vectors: Any, rows: RowArray) -> None:
    """Ask the kernel to start reading the pages of ``rows`` of a memory-mapped .npy file now."""
    mapping = getattr(vectors, "_mmap", None)
    if mapping is None or not hasattr(mmap, "MADV_WILLNEED"):
        return
    row_bytes = vectors.shape[1] * vectors.itemsize
    # numpy maps the file from the allocation boundary at or below the array's offset.
    header = vectors.offset % mmap.ALLOCATIONGRANULARITY
    first = header + rows * row_bytes
    starts = first - first % mmap.PAGESIZE
    stops = first + row_bytes
    # Neighbouring rows often share a page: one call per run of overlapping ranges.
    begin, end = int(starts[0]), int(stops[0])
    for start, stop in zip(starts[1:].tolist(), stops[1:].tolist(), strict=True):
        if start > end:
            mapping.madvise(mmap.MADV_WILLNEED, begin, end - begin)
            begin = start
        end = max(end, stop)
    mapping.madvise(mmap.MADV_WILLNEED, begin, end - begin)


def _load(path: Path) -> Any:
    return np.load(path, mmap_mode="r", allow_pickle=False)


def _expect_random_reads(array: Any) -> None:
    # Re-ranking reads a few hundred scattered rows, and results a few scattered keys: the
    # kernel's default read-ahead would turn each into a 128 KiB read, which makes a cold query
    # (page cache empty) several times slower.
    mapping = getattr(array, "_mmap", None)
    if mapping is not None and hasattr(mmap, "MADV_RANDOM"):
        mapping.madvise(mmap.MADV_RANDOM)


def _load_bytes(path: Path) -> npt.NDArray[np.uint8]:
    if path.stat().st_size == 0:
        return np.empty(0, dtype=np.uint8)
    return np.memmap(path, dtype=np.uint8, mode="r")
