"""QueryVectors metadata filters: validated once, then evaluated column-wise over every row.

The grammar is Amazon S3 Vectors': ``$eq $ne $gt $gte $lt $lte $in $nin $exists $and $or``.
A bare value means ``$eq``; several operators on one key, or several keys in one object, are
ANDed. ``$eq``/``$in`` against a list value match when any element matches; range operators
take a number and match a list when any numeric element satisfies them (strings and booleans
never match a range; ``True`` is not 1). Values that are objects or lists holding objects or
lists are "present but not comparable": they match ``$exists`` and nothing else.

Anything outside the grammar is an InvalidFilter (a ValidationException on the wire), never
ignored: an emulator that skipped a filter it did not understand leaked other tenants' rows.

Negations and missing keys. The AWS user guide ("Metadata filtering", table of operators,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-vectors-metadata-filtering.html)
describes ``$ne`` only as "Not equal comparison" and ``$nin`` as "Match none of the values"
and says nothing about rows without the key; no public source we found settles it. We
therefore choose the rule that cannot widen a result: ``$ne``/``$nin`` match only rows where
the key exists with a comparable value and no value (or list element) is equal. So
``{"tenant": {"$ne": "a"}}`` never returns rows that lack ``tenant``; to include them, write
``{"$or": [{"tenant": {"$ne": "a"}}, {"tenant": {"$exists": false}}]}``. An empty list
value has no equal element, so it matches ``$ne`` and ``$nin``.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np

from pgs3v.store.engine.errors import InvalidFilter
from pgs3v.store.engine.metadata_columns import BoolArray, MetadataColumns, Scalar

_EQUALITY = ("$eq", "$ne", "$in", "$nin")
_RANGE = ("$gt", "$gte", "$lt", "$lte")
_FIELD_OPERATORS = (*_EQUALITY, *_RANGE, "$exists")
_LOGICAL = ("$and", "$or")
_SUPPORTED = ", ".join((*_FIELD_OPERATORS, *_LOGICAL))


class _Node:
    """One compiled clause."""

    def evaluate(self, columns: MetadataColumns) -> BoolArray:
        raise NotImplementedError


@dataclass(frozen=True)
class _AllOf(_Node):
    children: tuple[_Node, ...]

    def evaluate(self, columns: MetadataColumns) -> BoolArray:
        result = np.ones(columns.row_count, dtype=np.bool_)
        for child in self.children:
            result &= child.evaluate(columns)
        return result


@dataclass(frozen=True)
class _AnyOf(_Node):
    children: tuple[_Node, ...]

    def evaluate(self, columns: MetadataColumns) -> BoolArray:
        result = np.zeros(columns.row_count, dtype=np.bool_)
        for child in self.children:
            result |= child.evaluate(columns)
        return result


@dataclass(frozen=True)
class _Equals(_Node):
    """``$eq``/``$in`` (``negate=False``) and ``$ne``/``$nin`` (``negate=True``)."""

    key: str
    values: tuple[Scalar, ...]
    negate: bool

    def evaluate(self, columns: MetadataColumns) -> BoolArray:
        hit = columns.equals_any(self.key, self.values)
        if not self.negate:
            return hit
        # Only rows that have a comparable value can be "not equal" (see the module docstring).
        return columns.comparable(self.key) & ~hit


@dataclass(frozen=True)
class _Range(_Node):
    key: str
    operator: str
    operand: float

    def evaluate(self, columns: MetadataColumns) -> BoolArray:
        return columns.compare(self.key, self.operator, self.operand)


@dataclass(frozen=True)
class _Exists(_Node):
    key: str
    wanted: bool

    def evaluate(self, columns: MetadataColumns) -> BoolArray:
        present = columns.present(self.key)
        return present if self.wanted else ~present


@dataclass(frozen=True)
class CompiledFilter:
    """A validated filter, ready to evaluate against any :class:`MetadataColumns`."""

    _root: _Node
    referenced_keys: frozenset[str]

    def evaluate(self, columns: MetadataColumns) -> BoolArray:
        """A bool mask over rows 0..row_count-1: True where the row matches."""
        return self._root.evaluate(columns)


def compile_filter(document: object, *, non_filterable_keys: Collection[str], max_depth: int) -> CompiledFilter:
    """Validate a QueryVectors ``filter`` document and compile it; raises InvalidFilter."""
    compiler = _Compiler(frozenset(non_filterable_keys), max_depth)
    if isinstance(document, Mapping) and not document:
        return CompiledFilter(_AllOf(()), frozenset())  # {} matches every row
    root = compiler.filter_object(document, depth=0)
    return CompiledFilter(root, frozenset(compiler.keys))


def _invalid(message: str) -> InvalidFilter:
    return InvalidFilter(message)


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


class _Compiler:
    def __init__(self, non_filterable_keys: frozenset[str], max_depth: int) -> None:
        self.non_filterable_keys = non_filterable_keys
        self.max_depth = max_depth
        self.keys: set[str] = set()

    def filter_object(self, document: object, depth: int) -> _Node:
        """A filter object: ``$and``/``$or`` and metadata keys, ANDed together."""
        if not isinstance(document, Mapping):
            raise _invalid(f"a filter must be a JSON object, got {_type_name(document)}")
        if not document:
            raise _invalid("a filter object inside $and/$or must not be empty")
        clauses: list[_Node] = []
        for name, value in document.items():
            if not isinstance(name, str):
                raise _invalid(f"keys must be strings, got {_type_name(name)}")
            if name in _LOGICAL:
                clauses.append(self.logical(name, value, depth))
            elif name in _FIELD_OPERATORS:
                raise _invalid(f'{name} must be applied to a metadata key, as in {{"key": {{"{name}": ...}}}}')
            elif name.startswith("$"):
                raise _invalid(f"unsupported operator {name!r}; supported operators are {_SUPPORTED}")
            else:
                clauses.append(self.field(name, value))
        return clauses[0] if len(clauses) == 1 else _AllOf(tuple(clauses))

    def logical(self, operator: str, operand: object, depth: int) -> _Node:
        if depth + 1 > self.max_depth:
            raise _invalid(f"filter is nested more than {self.max_depth} levels deep")
        if not isinstance(operand, list) or not operand:
            raise _invalid(f"{operator} takes a non-empty array of filter objects, got {_type_name(operand)}")
        children = tuple(self.filter_object(child, depth + 1) for child in operand)
        if len(children) == 1:
            return children[0]
        return _AllOf(children) if operator == "$and" else _AnyOf(children)

    def field(self, key: str, condition: object) -> _Node:
        if key in self.non_filterable_keys:
            raise _invalid(f"metadata key {key!r} is non-filterable and cannot be used in a filter")
        self.keys.add(key)
        if not isinstance(condition, Mapping):
            return self.operator(key, "$eq", condition)
        if not condition:
            raise _invalid(f"the operator object for key {key!r} is empty")
        plain = [name for name in condition if not (isinstance(name, str) and name.startswith("$"))]
        if plain:
            raise _invalid(
                f"the value for key {key!r} is an object that is not an operator object "
                f"(unexpected key {plain[0]!r}); nested metadata cannot be filtered"
            )
        clauses = [self.operator(key, name, operand) for name, operand in condition.items()]
        return clauses[0] if len(clauses) == 1 else _AllOf(tuple(clauses))

    def operator(self, key: str, name: str, operand: object) -> _Node:
        if name in _LOGICAL:
            raise _invalid(f"{name} cannot be applied to metadata key {key!r}; use it at the filter level")
        if name not in _FIELD_OPERATORS:
            raise _invalid(f"unsupported operator {name!r}; supported operators are {_SUPPORTED}")
        if name in ("$eq", "$ne"):
            return _Equals(key, (_scalar(name, key, operand),), negate=name == "$ne")
        if name in ("$in", "$nin"):
            if not isinstance(operand, list) or not operand:
                raise _invalid(
                    f"{name} for key {key!r} takes a non-empty array of strings, numbers or booleans, "
                    f"got {_type_name(operand) if operand != [] else 'an empty array'}"
                )
            values = tuple(_scalar(name, key, item) for item in operand)
            return _Equals(key, values, negate=name == "$nin")
        if name in _RANGE:
            if isinstance(operand, bool) or not isinstance(operand, int | float):
                raise _invalid(f"{name} for key {key!r} takes a number, got {_type_name(operand)}")
            return _Range(key, name, _number(name, key, operand))
        if not isinstance(operand, bool):
            raise _invalid(f"$exists for key {key!r} takes a boolean, got {_type_name(operand)}")
        return _Exists(key, operand)


def _scalar(operator: str, key: str, value: object) -> Scalar:
    """A string, number (as float) or boolean operand; anything else is invalid."""
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return _number(operator, key, value)
    hint = "; to match any of several values use $in" if operator == "$eq" and isinstance(value, list) else ""
    raise _invalid(f"{operator} for key {key!r} takes a string, number or boolean, got {_type_name(value)}{hint}")


def _number(operator: str, key: str, value: int | float) -> float:
    try:
        number = float(value)
    except OverflowError:
        raise _invalid(f"{operator} for key {key!r}: number {value} is out of range") from None
    if math.isnan(number):
        raise _invalid(f"{operator} for key {key!r}: NaN is not a number that can be compared")
    return number
