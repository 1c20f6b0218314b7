"""Filterable metadata of an index's rows, stored column by column for vectorized filters.

Rows are numbered 0..n-1 in the order they were appended. Each metadata key has its own
column set:

- ``present`` (bool): the row has the key, whatever its value;
- ``opaque`` (bool): the value is present but not comparable (an object, a list holding an
  object or a list, ``null``); such values match only ``$exists``;
- ``string`` (int32 codes into a per-key dictionary, -1 = none), ``number`` (float64, NaN =
  none) and ``boolean`` (int8, -1 = none) for scalar values;
- an exploded side table for list values: one entry per element with its row id and the
  element's typed value, so "any element matches" is one vectorized test plus a scatter.

A key's columns cover only its *window*, the rows from the first to the last that have it
(rows outside read as "absent"), and grow by amortized doubling. So appending a batch of 500
rows costs O(batch) however many rows are stored, and a key that few rows carry (say a key
name unique to one vector) costs O(1) rows, not O(n). Typed columns a key never uses stay
unallocated.

Numbers are held as float64, so ints beyond 2**53 compare approximately; ``True`` is a
boolean, never the number 1. Not thread-safe: the caller serializes writes against reads.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

BoolArray = npt.NDArray[np.bool_]
RowArray = npt.NDArray[np.int64]

#: A filter operand after validation: strings, numbers (as float) and booleans.
Scalar = str | float | bool

_RANGE_OPERATORS = {
    "$gt": np.greater,
    "$gte": np.greater_equal,
    "$lt": np.less,
    "$lte": np.less_equal,
}


class _Growable:
    """A 1-D numpy array with amortized O(1) append (capacity doubles when full).

    Until a value other than the fill is appended the array stays *blank*: it has a length but
    no buffer, so a key that only ever holds strings pays nothing for its number and boolean
    columns (most keys hold one type, and at 1M rows each column costs 1-8 MB).
    """

    __slots__ = ("_buf", "_dtype", "_len", "fill")

    def __init__(self, dtype: npt.DTypeLike, fill: Any, initial: npt.NDArray[Any] | None = None) -> None:
        self._dtype = np.dtype(dtype)
        self.fill = fill
        self._buf: npt.NDArray[Any] | None = None
        self._len = 0
        if initial is not None:
            self._buf = np.ascontiguousarray(initial, dtype=self._dtype)
            self._len = len(initial)

    def __len__(self) -> int:
        return self._len

    @property
    def dtype(self) -> np.dtype[Any]:
        """The element type."""
        return self._dtype

    @property
    def blank(self) -> bool:
        """Every value is the fill value."""
        return self._buf is None

    def view(self) -> npt.NDArray[Any]:
        """The live values (a view that is valid until the next append)."""
        if self._buf is None:
            return np.full(self._len, self.fill, dtype=self._dtype)
        return self._buf[: self._len]

    def gathered(self, length: int, dest: RowArray, source: RowArray) -> _Growable:
        """A new array of ``length`` fill values with ``self[source]`` written at ``dest``."""
        out = _Growable(self._dtype, self.fill)
        if self._buf is None:
            out._len = length
            return out
        values = np.full(length, self.fill, dtype=self._dtype)
        values[dest] = self._buf[source]
        out._buf, out._len = values, length
        return out

    def _reserve(self, extra: int) -> npt.NDArray[Any]:
        needed = self._len + extra
        capacity = 0 if self._buf is None else len(self._buf)
        if self._buf is None or needed > capacity:
            grown = np.full(max(needed, 2 * capacity, 64), self.fill, dtype=self._dtype)
            if self._buf is not None:
                grown[: self._len] = self._buf[: self._len]
            self._buf = grown
        return self._buf

    def pad_to(self, n: int) -> None:
        """Append fill values until the length is ``n``."""
        if n <= self._len:
            return
        if self._buf is not None:
            self._reserve(n - self._len)[self._len : n] = self.fill
        self._len = n

    def extend(self, values: npt.ArrayLike) -> None:
        """Append ``values`` at the end."""
        arr = np.asarray(values, dtype=self._dtype)
        self._reserve(len(arr))[self._len : self._len + len(arr)] = arr
        self._len += len(arr)


_KINDS = ("s", "n", "b")  # string, number, boolean


def _scalar_kind(value: object) -> str | None:
    """'s', 'n' or 'b' for a comparable scalar, None for anything else."""
    if isinstance(value, bool):
        return "b"
    if isinstance(value, str):
        return "s"
    if isinstance(value, int | float):
        try:
            float(value)
        except OverflowError:  # an int too large for float64 cannot be compared faithfully
            return None
        return "n"
    return None


def _encode(kind: str, value: Any, codes: dict[str, int]) -> Any:
    if kind == "s":
        return codes.setdefault(value, len(codes))
    if kind == "n":
        return float(value)
    return int(value)


class _Staged:
    """One key's values within an append batch, gathered before the columns are written."""

    def __init__(self) -> None:
        self.present: list[int] = []
        self.opaque: list[int] = []
        # kind -> (batch rows, encoded values) for scalars; (element positions, values) for lists
        self.scalars: dict[str, tuple[list[int], list[Any]]] = {k: ([], []) for k in _KINDS}
        self.element_rows: list[int] = []
        self.elements: dict[str, tuple[list[int], list[Any]]] = {k: ([], []) for k in _KINDS}

    def add(self, row: int, value: object, codes: dict[str, int]) -> None:
        self.present.append(row)
        kind = _scalar_kind(value)
        if kind is not None:
            self.scalars[kind][0].append(row)
            self.scalars[kind][1].append(_encode(kind, value, codes))
            return
        kinds = [_scalar_kind(v) for v in value] if isinstance(value, list) else [None]
        if None in kinds:  # an object, null, or a list holding one: present, not comparable
            self.opaque.append(row)
            return
        assert isinstance(value, list)
        for element, element_kind in zip(value, kinds, strict=True):
            assert element_kind is not None
            self.elements[element_kind][0].append(len(self.element_rows))
            self.elements[element_kind][1].append(_encode(element_kind, element, codes))
            self.element_rows.append(row)


_ROW_FIELDS = ("present", "opaque", "string", "number", "boolean")
_ELEMENT_FIELDS = ("elem_string", "elem_number", "elem_boolean")


class _KeyColumn:
    """Every column of one metadata key, over its window of rows ``base .. end - 1``."""

    __slots__ = ("base", "codes", "elem_row", *_ROW_FIELDS, *_ELEMENT_FIELDS)

    def __init__(self, base: int = 0) -> None:
        self.base = base
        self.codes: dict[str, int] = {}
        self.present = _Growable(np.bool_, False)
        self.opaque = _Growable(np.bool_, False)
        self.string = _Growable(np.int32, -1)
        self.number = _Growable(np.float64, np.nan)
        self.boolean = _Growable(np.int8, -1)
        # Element rows are absolute and non-decreasing (rows arrive in order); take() relies on it.
        self.elem_row = _Growable(np.int64, 0)
        self.elem_string = _Growable(np.int32, -1)
        self.elem_number = _Growable(np.float64, np.nan)
        self.elem_boolean = _Growable(np.int8, -1)

    @property
    def end(self) -> int:
        """One past the last row of the window."""
        return self.base + len(self.present)

    def typed(self) -> tuple[tuple[str, _Growable, _Growable], ...]:
        """(kind, scalar column, element column) for each value kind."""
        return (
            ("s", self.string, self.elem_string),
            ("n", self.number, self.elem_number),
            ("b", self.boolean, self.elem_boolean),
        )

    def write(self, first_row: int, staged: _Staged) -> None:
        """Append the batch whose row 0 is row ``first_row`` (this key is in it)."""
        shift = staged.present[0]  # the window grows only as far as the batch's rows with the key
        size = staged.present[-1] - shift + 1
        if not len(self.present):
            self.base = first_row + shift
        start = first_row + shift - self.base
        for name in _ROW_FIELDS:
            getattr(self, name).pad_to(start)  # rows since this key was last seen
        row_values = (
            (self.present, staged.present, True),
            (self.opaque, staged.opaque, True),
            *((scalars, *staged.scalars[kind]) for kind, scalars, _ in self.typed()),
        )
        for column, rows, values in row_values:
            if rows:
                chunk = np.full(size, column.fill, dtype=column.dtype)
                chunk[np.asarray(rows, dtype=np.int64) - shift] = values
                column.extend(chunk)
            else:
                column.pad_to(start + size)  # a blank column stays blank
        count = len(staged.element_rows)
        if not count:
            return
        self.elem_row.extend(np.asarray(staged.element_rows, dtype=np.int64) + first_row)
        for kind, _, elements in self.typed():
            positions, element_values = staged.elements[kind]
            if positions:
                element_chunk = np.full(count, elements.fill, dtype=elements.dtype)
                element_chunk[positions] = element_values
                elements.extend(element_chunk)
            else:
                elements.pad_to(len(self.elem_row))

    def take(self, rows: RowArray, order: RowArray, sorted_rows: RowArray) -> _KeyColumn | None:
        """This key for ``rows`` renumbered 0.. (``rows[order]`` is ``sorted_rows``), or None."""
        # Bisection finds the taken rows inside the window: O(window), not O(rows), per key.
        lo, hi = np.searchsorted(sorted_rows, [self.base, self.end])
        new_ids = np.sort(order[lo:hi])
        local = rows[new_ids] - self.base
        kept = np.flatnonzero(self.present.view()[local])
        if not len(kept):
            return None
        # The new window runs from the first to the last taken row that has the key.
        new_ids, local = new_ids[kept[0] : kept[-1] + 1], local[kept[0] : kept[-1] + 1]
        out = _KeyColumn(base=int(new_ids[0]))
        out.codes = dict(self.codes)  # the new store appends its own strings later
        length = int(new_ids[-1]) - out.base + 1
        for name in _ROW_FIELDS:
            setattr(out, name, getattr(self, name).gathered(length, new_ids - out.base, local))
        if len(self.elem_row):
            source, new_rows = _remap_elements(self.elem_row.view() - self.base, len(self.present), local, new_ids)
            out.elem_row = _Growable(np.int64, 0, new_rows)
            for name in _ELEMENT_FIELDS:
                setattr(out, name, getattr(self, name).gathered(len(source), np.arange(len(source)), source))
        return out


    @staticmethod
    def concatenated(pieces: Sequence[tuple[int, _KeyColumn]]) -> _KeyColumn:
        """One key's columns from several stores, each placed at its first row (offsets ascending)."""
        first_offset, first = pieces[0]
        out = _KeyColumn(base=first_offset + first.base)
        for offset, column in pieces:
            # Each piece's strings get the codes of the merged dictionary.
            remap = np.empty(len(column.codes) + 1, dtype=np.int32)
            remap[-1] = -1  # "no string" stays -1 (read through index -1)
            for value, code in column.codes.items():
                remap[code] = out.codes.setdefault(value, len(out.codes))
            start = offset + column.base - out.base
            for name in _ROW_FIELDS:
                target, source = getattr(out, name), getattr(column, name)
                target.pad_to(start)
                if source.blank:
                    target.pad_to(start + len(source))
                elif name == "string":
                    target.extend(remap[source.view()])
                else:
                    target.extend(source.view())
            if len(column.elem_row):
                out.elem_row.extend(column.elem_row.view() + offset)
                for name in _ELEMENT_FIELDS:
                    target, source = getattr(out, name), getattr(column, name)
                    target.pad_to(len(out.elem_row) - len(source))
                    if source.blank:
                        target.pad_to(len(out.elem_row))
                    elif name == "elem_string":
                        target.extend(remap[source.view()])
                    else:
                        target.extend(source.view())
        return out


def _isin(array: npt.NDArray[Any], wanted: Sequence[Any]) -> BoolArray:
    """``np.isin``, but a few plain comparisons when there are few values (several times faster)."""
    if len(wanted) > 8:
        return np.isin(array, wanted)
    hit = array == wanted[0]
    for value in wanted[1:]:
        hit |= array == value
    result: BoolArray = hit
    return result


def _remap_elements(elem_local: RowArray, window: int, local: RowArray, new_ids: RowArray) -> tuple[RowArray, RowArray]:
    """For elements sorted by (window-local) row: those of rows ``local``, and their new row ids."""
    counts = np.bincount(elem_local, minlength=window).astype(np.int64)
    starts = np.cumsum(counts) - counts
    new_counts = counts[local]
    total = int(new_counts.sum())
    new_rows = np.repeat(new_ids, new_counts)
    # Offset of each kept element inside its row's run: position minus the run's start.
    run_starts = np.cumsum(new_counts) - new_counts
    within = np.arange(total, dtype=np.int64) - np.repeat(run_starts, new_counts)
    source = np.repeat(starts[local], new_counts) + within
    return source, new_rows


class MetadataColumns:
    """The filterable metadata of rows 0..n-1 of an index, as numpy columns per key."""

    def __init__(self) -> None:
        self._columns: dict[str, _KeyColumn] = {}
        self._n = 0

    @property
    def row_count(self) -> int:
        """How many rows are stored."""
        return self._n

    def keys(self) -> Iterable[str]:
        """Every metadata key some stored row has (or had before a take)."""
        return self._columns.keys()

    def append(self, metadatas: Sequence[Mapping[str, Any] | None]) -> None:
        """Append one row per entry, in order; None or {} is a row without metadata."""
        staged: dict[str, _Staged] = {}
        for row, metadata in enumerate(metadatas):
            if not metadata:
                continue
            for key, value in metadata.items():
                column = self._columns.get(key)
                if column is None:
                    column = self._columns[key] = _KeyColumn()
                batch = staged.get(key)
                if batch is None:
                    batch = staged[key] = _Staged()
                batch.add(row, value, column.codes)
        for key, batch in staged.items():
            self._columns[key].write(self._n, batch)
        self._n += len(metadatas)

    def take(self, rows: npt.ArrayLike) -> MetadataColumns:
        """A new store holding the given rows, in the given order (repeats allowed)."""
        index = np.asarray(rows, dtype=np.int64).reshape(-1)
        if len(index) and (int(index.min()) < 0 or int(index.max()) >= self._n):
            raise IndexError(f"row ids must be in 0..{self._n - 1}")
        out = MetadataColumns()
        out._n = len(index)
        if np.all(index[1:] >= index[:-1]):  # the usual case: a compaction keeps row order
            order = np.arange(len(index), dtype=np.int64)
        else:
            order = np.argsort(index, kind="stable").astype(np.int64)
        sorted_rows = index[order]
        for key, column in self._columns.items():
            taken = column.take(index, order, sorted_rows)
            if taken is not None:
                out._columns[key] = taken
        return out

    @staticmethod
    def concatenated(parts: Sequence[MetadataColumns]) -> MetadataColumns:
        """One store holding the rows of ``parts`` one after the other, built column by column.

        A merge of segments uses this instead of appending every row's metadata again: it costs
        numpy copies per key and part, not Python work per row.
        """
        out = MetadataColumns()
        offsets = np.cumsum([0, *(part._n for part in parts)])
        keys = list(dict.fromkeys(key for part in parts for key in part._columns))
        for key in keys:
            pieces = [(int(offset), part._columns[key]) for offset, part in zip(offsets, parts, strict=False)
                      if key in part._columns]
            out._columns[key] = _KeyColumn.concatenated(pieces)
        out._n = int(offsets[-1])
        return out

    # Queries: each returns a bool mask of length row_count and never loops over rows.

    def present(self, key: str) -> BoolArray:
        """Rows that have ``key``, whatever its value."""
        column = self._columns.get(key)
        if column is None:
            return np.zeros(self._n, dtype=np.bool_)
        return self._spread(column, column.present.view())

    def comparable(self, key: str) -> BoolArray:
        """Rows whose ``key`` holds a scalar or a list of scalars."""
        column = self._columns.get(key)
        if column is None:
            return np.zeros(self._n, dtype=np.bool_)
        comparable = column.present.view()
        if not column.opaque.blank:
            comparable = comparable & ~column.opaque.view()
        return self._spread(column, comparable)

    def equals_any(self, key: str, values: Sequence[Scalar]) -> BoolArray:
        """Rows whose ``key`` (or any element of its list) equals one of ``values``."""
        column = self._columns.get(key)
        if column is None:
            return np.zeros(self._n, dtype=np.bool_)
        codes = [column.codes[v] for v in values if isinstance(v, str) and v in column.codes]
        numbers = [float(v) for v in values if not isinstance(v, bool | str)]
        booleans = [int(v) for v in values if isinstance(v, bool)]
        wanted_by_kind: dict[str, list[Any]] = {"s": codes, "n": numbers, "b": booleans}
        hit = np.zeros(len(column.present), dtype=np.bool_)
        elem_hit = np.zeros(len(column.elem_row), dtype=np.bool_)
        for kind, scalars, elements in column.typed():
            wanted = wanted_by_kind[kind]
            if wanted and not scalars.blank:
                hit |= _isin(scalars.view(), wanted)
            if wanted and not elements.blank:
                elem_hit |= _isin(elements.view(), wanted)
        return self._combine(hit, column, elem_hit)

    def compare(self, key: str, operator: str, operand: float) -> BoolArray:
        """Rows whose ``key`` (or any numeric element) satisfies ``$gt``/``$gte``/``$lt``/``$lte``."""
        ufunc = _RANGE_OPERATORS[operator]
        column = self._columns.get(key)
        if column is None or math.isnan(operand):
            return np.zeros(self._n, dtype=np.bool_)
        # NaN marks "no number here" and fails every comparison, as it should.
        hit = np.zeros(0, dtype=np.bool_) if column.number.blank else ufunc(column.number.view(), operand)
        elem_hit = np.zeros(0, dtype=np.bool_)
        if not column.elem_number.blank:
            elem_hit = ufunc(column.elem_number.view(), operand)
        return self._combine(hit, column, elem_hit)

    def _spread(self, column: _KeyColumn, window_mask: npt.NDArray[Any]) -> BoolArray:
        """A mask over all rows from one over the key's window (the rest are False)."""
        out = np.zeros(self._n, dtype=np.bool_)
        out[column.base : column.base + len(window_mask)] = window_mask
        return out

    def _combine(self, hit: BoolArray, column: _KeyColumn, elem_hit: BoolArray) -> BoolArray:
        out = self._spread(column, hit)
        if len(elem_hit) and elem_hit.any():
            out[column.elem_row.view()[elem_hit]] = True
        return out
