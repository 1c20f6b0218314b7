"""Filters and metadata columns, checked against a row-by-row oracle written here."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any, TypeVar

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pgs3v.store.api.errors import ValidationException, from_lower_layer
from pgs3v.store.engine.errors import InvalidFilter
from pgs3v.store.engine.filters import compile_filter
from pgs3v.store.engine.metadata_columns import MetadataColumns

T = TypeVar("T")
Row = dict[str, Any] | None

KEYS = ["a", "b", "c"]
NON_FILTERABLE = ["secret"]


def compile_(document: object, max_depth: int = 32) -> Any:
    return compile_filter(document, non_filterable_keys=NON_FILTERABLE, max_depth=max_depth)


# The oracle: one row at a time, straight from the rules in the filters module docstring.


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_scalar(value: object) -> bool:
    return isinstance(value, str | bool) or _is_number(value)


def _same(a: object, b: object) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    return a == b


_RANGES: dict[str, Callable[[Any, Any], bool]] = {
    "$gt": lambda v, x: v > x,
    "$gte": lambda v, x: v >= x,
    "$lt": lambda v, x: v < x,
    "$lte": lambda v, x: v <= x,
}


def _operator_matches(operator: str, operand: Any, row: dict[str, Any], key: str) -> bool:
    if operator == "$exists":
        return bool((key in row) == operand)
    if key not in row:
        return False
    value = row[key]
    if isinstance(value, list):
        if not all(_is_scalar(v) for v in value):
            return False
        elements = value
    elif _is_scalar(value):
        elements = [value]
    else:
        return False
    if operator in _RANGES:
        return any(_is_number(e) and _RANGES[operator](e, operand) for e in elements)
    wanted = operand if operator in ("$in", "$nin") else [operand]
    hit = any(_same(e, w) for e in elements for w in wanted)
    return not hit if operator in ("$ne", "$nin") else hit


def oracle(document: dict[str, Any], row: Row) -> bool:
    metadata = row or {}
    for name, value in document.items():
        if name == "$and":
            ok = all(oracle(child, row) for child in value)
        elif name == "$or":
            ok = any(oracle(child, row) for child in value)
        elif isinstance(value, dict):
            ok = all(_operator_matches(op, operand, metadata, name) for op, operand in value.items())
        else:
            ok = _operator_matches("$eq", value, metadata, name)
        if not ok:
            return False
    return True


# Strategies: a small alphabet so that filters actually hit rows.

scalars = st.one_of(
    st.sampled_from(["x", "y", ""]),
    st.integers(-1, 2),
    st.sampled_from([-1.5, 0.0, 1.0, 2.5]),  # 0.0 and 1.0 equal the ints 0 and 1
    st.booleans(),
)
numbers = st.one_of(st.integers(-1, 2), st.sampled_from([-1.5, 0.5, 1.0, 2.5]))
opaque = st.sampled_from([{"k": 1}, [[1]], ["x", {"k": "x"}], None, {}])
values = st.one_of(scalars, st.lists(scalars, max_size=4), opaque)
rows = st.one_of(st.none(), st.dictionaries(st.sampled_from(KEYS), values, max_size=3))

operator_pairs = st.one_of(
    st.tuples(st.sampled_from(["$eq", "$ne"]), scalars),
    st.tuples(st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), numbers),
    st.tuples(st.sampled_from(["$in", "$nin"]), st.lists(scalars, min_size=1, max_size=3)),
    st.tuples(st.just("$exists"), st.booleans()),
)
conditions = st.one_of(scalars, st.lists(operator_pairs, min_size=1, max_size=3).map(dict))
field_filters = st.dictionaries(st.sampled_from(KEYS), conditions, min_size=1, max_size=2)


def _combined(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    lists = st.lists(children, min_size=1, max_size=3)
    return st.one_of(
        lists.map(lambda cs: {"$and": cs}),
        lists.map(lambda cs: {"$or": cs}),
        st.tuples(field_filters, lists).map(lambda fc: {**fc[0], "$or": fc[1]}),
    )


filters = st.one_of(field_filters, st.recursive(field_filters, _combined, max_leaves=8), st.just({}))
filter_lists = st.lists(filters, min_size=1, max_size=8)  # several per example: more checks per rowset


def _load(batches: Sequence[Sequence[Row]]) -> MetadataColumns:
    columns = MetadataColumns()
    for batch in batches:
        columns.append(batch)
    return columns


def _parts(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The document and every filter inside it, down to single operators: more checks per draw."""
    parts = [document]
    for name, value in document.items():
        if name in ("$and", "$or"):
            parts.extend(part for child in value for part in _parts(child))
        elif isinstance(value, dict):
            parts.extend({name: {op: operand}} for op, operand in value.items())
        else:
            parts.append({name: value})
    return parts


def _check(documents: list[dict[str, Any]], columns: MetadataColumns, expected_rows: Sequence[Row]) -> None:
    for document in (part for whole in documents for part in _parts(whole)):
        mask = compile_(document).evaluate(columns)
        assert mask.dtype == np.bool_
        assert mask.shape == (columns.row_count,)
        assert mask.tolist() == [oracle(document, row) for row in expected_rows], document


# (a) Properties against the oracle.


@settings(max_examples=400, deadline=None)
@given(batches=st.lists(st.lists(rows, max_size=30), max_size=6), documents=filter_lists)
def test_evaluate_matches_oracle(batches: list[list[Row]], documents: list[dict[str, Any]]) -> None:
    columns = _load(batches)
    all_rows = [row for batch in batches for row in batch]
    assert columns.row_count == len(all_rows)
    _check(documents, columns, all_rows)


@settings(max_examples=300, deadline=None)
@given(
    batches=st.lists(st.lists(rows, min_size=1, max_size=30), min_size=1, max_size=5),
    documents=filter_lists,
    later=st.lists(rows, max_size=8),
    data=st.data(),
)
def test_take_then_append_matches_oracle(
    batches: list[list[Row]], documents: list[dict[str, Any]], later: list[Row], data: st.DataObject
) -> None:
    columns = _load(batches)
    all_rows = [row for batch in batches for row in batch]
    any_row = st.integers(0, len(all_rows) - 1)
    picks = data.draw(
        st.one_of(
            st.lists(any_row, unique=True).map(sorted),  # what a compaction does
            st.permutations(range(len(all_rows))),
            st.lists(any_row, max_size=2 * len(all_rows)),  # repeats too
        )
    )
    taken = columns.take(np.array(picks, dtype=np.int64))
    kept = [all_rows[i] for i in picks]
    _check(documents, taken, kept)
    taken.append(later)  # the taken copy must keep working as a store of its own
    _check(documents, taken, kept + later)
    _check(documents, columns, all_rows)  # and the original is untouched


@settings(max_examples=300, deadline=None)
@given(
    stores=st.lists(st.lists(st.lists(rows, max_size=20), max_size=3), min_size=1, max_size=4),
    documents=filter_lists,
    later=st.lists(rows, max_size=8),
    data=st.data(),
)
def test_concatenated_stores_match_oracle(
    stores: list[list[list[Row]]], documents: list[dict[str, Any]], later: list[Row], data: st.DataObject
) -> None:
    # As a merge builds them: each source store's kept rows (a take), then the parts end to end.
    parts, expected = [], []
    for batches in stores:
        rows_of_store = [row for batch in batches for row in batch]
        kept = data.draw(st.lists(st.sampled_from(range(len(rows_of_store))), unique=True).map(sorted)) \
            if rows_of_store else []
        parts.append(_load(batches).take(np.array(kept, dtype=np.int64)))
        expected += [rows_of_store[i] for i in kept]
    merged = MetadataColumns.concatenated(parts)
    assert merged.row_count == len(expected)
    _check(documents, merged, expected)
    merged.append(later)  # the merged store keeps working as a store of its own
    _check(documents, merged, expected + later)


def test_empty_filter_matches_every_row() -> None:
    columns = _load([[{"a": "x"}, None, {}]])
    assert compile_({}).evaluate(columns).tolist() == [True, True, True]
    assert compile_({}).referenced_keys == frozenset()


def test_semantics_examples() -> None:
    columns = _load([[{"a": "x", "n": 1}, {"a": ["x", "y"], "n": [0, 10]}, {"n": True}, {"a": 1.0}, None]])
    assert compile_({"a": "x"}).evaluate(columns).tolist() == [True, True, False, False, False]
    assert compile_({"a": {"$ne": "x"}}).evaluate(columns).tolist() == [False, False, False, True, False]
    assert compile_({"a": {"$eq": 1}}).evaluate(columns).tolist() == [False, False, False, True, False]
    assert compile_({"n": {"$gt": 5, "$lt": 1}}).evaluate(columns).tolist() == [False, True, False, False, False]
    assert compile_({"n": 1}).evaluate(columns).tolist() == [True, False, False, False, False]  # True is not 1


def test_referenced_keys() -> None:
    document = {"a": 1, "$or": [{"b": {"$exists": True}}, {"$and": [{"c": {"$in": ["x"]}}]}]}
    assert compile_(document).referenced_keys == frozenset({"a", "b", "c"})


def test_take_rejects_rows_out_of_range() -> None:
    columns = _load([[{"a": 1}, {"a": 2}]])
    with pytest.raises(IndexError):
        columns.take(np.array([0, 2]))
    with pytest.raises(IndexError):
        columns.take(np.array([-1]))


# (b) Every kind of invalid filter is a ValidationException that says what is wrong.


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([{"a": 1}], "must be a JSON object"),
        ("a = 1", "must be a JSON object"),
        (None, "must be a JSON object"),
    ],
)
def test_filter_must_be_an_object(document: object, message: str) -> None:
    _assert_invalid(document, message)


@pytest.mark.parametrize(
    "document",
    [
        {"$not": {"a": 1}},
        {"a": {"$not": {"$eq": 1}}},
        {"a": {"$regex": "x.*"}},
        {"a": {"$eq": 1, "$contains": "x"}},
        {"$and": [{"a": 1}, {"$or": [{"b": {"$elemMatch": {"$eq": 1}}}]}]},
        {"$nor": [{"a": 1}]},
    ],
)
def test_unknown_operator_is_rejected(document: object) -> None:
    _assert_invalid(document, "unsupported operator")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"a": {"$gt": "5"}}, "$gt for key 'a' takes a number, got string"),
        ({"a": {"$lte": True}}, "$lte for key 'a' takes a number, got boolean"),
        ({"a": {"$gte": [1]}}, "$gte for key 'a' takes a number, got array"),
        ({"a": {"$in": "x"}}, "$in for key 'a' takes a non-empty array"),
        ({"a": {"$nin": []}}, "got an empty array"),
        ({"a": {"$in": [["x"]]}}, "$in for key 'a' takes a string, number or boolean, got array"),
        ({"a": {"$nin": [{"b": 1}]}}, "$nin for key 'a' takes a string, number or boolean, got object"),
        ({"a": {"$exists": 1}}, "$exists for key 'a' takes a boolean, got number"),
        ({"a": {"$eq": [1, 2]}}, "use $in"),
        ({"a": [1, 2]}, "use $in"),
        ({"a": None}, "got null"),
        ({"a": {"$ne": None}}, "$ne for key 'a' takes a string, number or boolean, got null"),
        ({"$and": []}, "$and takes a non-empty array of filter objects"),
        ({"$or": {"a": 1}}, "$or takes a non-empty array of filter objects, got object"),
        ({"$or": ["a"]}, "must be a JSON object, got string"),
        ({"$and": [{}]}, "must not be empty"),
        ({"$eq": {"a": 1}}, "$eq must be applied to a metadata key"),
        ({"a": {"$and": [{"a": 1}]}}, "$and cannot be applied to metadata key 'a'"),
        ({"a": {"$gt": 10**400}}, "out of range"),
        ({"a": {"$gt": float("nan")}}, "NaN"),
    ],
)
def test_wrong_operand_types_are_rejected(document: object, message: str) -> None:
    _assert_invalid(document, message)


def test_empty_operator_object_is_rejected() -> None:
    _assert_invalid({"a": {}}, "operator object for key 'a' is empty")


@pytest.mark.parametrize(
    "document",
    [
        {"secret": "x"},
        {"secret": {"$exists": True}},
        {"a": 1, "$or": [{"b": 2}, {"secret": {"$ne": "x"}}]},
    ],
)
def test_non_filterable_key_is_rejected(document: object) -> None:
    _assert_invalid(document, "metadata key 'secret' is non-filterable")


def test_nesting_deeper_than_the_limit_is_rejected() -> None:
    def nested(levels: int) -> dict[str, Any]:
        document: dict[str, Any] = {"a": 1}
        for level in range(levels):
            document = {"$and" if level % 2 else "$or": [document, {"b": 2}]}
        return document

    assert compile_(nested(3), max_depth=3).referenced_keys == {"a", "b"}
    _assert_invalid(nested(4), "nested more than 3 levels deep", max_depth=3)
    _assert_invalid(nested(5000), "nested more than 32 levels deep")


@pytest.mark.parametrize(
    ("document", "bad_key"),
    [({"a": {"b": 1}}, "'b'"), ({"a": {"$eq": 1, "b": 2}}, "'b'"), ({"a": {"x": {"$eq": 1}}}, "'x'")],
)
def test_nested_object_value_is_rejected(document: object, bad_key: str) -> None:
    _assert_invalid(document, f"not an operator object (unexpected key {bad_key})")


def _assert_invalid(document: object, message: str, max_depth: int = 32) -> None:
    with pytest.raises(InvalidFilter) as caught:
        compile_(document, max_depth=max_depth)
    answer = from_lower_layer(caught.value)  # what the client sees
    assert isinstance(answer, ValidationException) and answer.status == 400
    assert answer.message.startswith("Invalid filter: ")
    assert message in answer.message


# (c) Evaluation is column-wise: the Python work done does not grow with the row count.


def _python_lines_run(fn: Callable[[], T]) -> tuple[T, int]:
    """Run ``fn`` and count the Python source lines executed (C loops in numpy cost none)."""
    lines = 0

    def tracer(frame: FrameType, event: str, arg: object) -> Any:
        nonlocal lines
        if event == "line":
            lines += 1
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        result = fn()
    finally:
        sys.settrace(previous)
    return result, lines


def test_200k_rows_are_evaluated_without_a_python_loop() -> None:
    n = 200_000

    def row(i: int) -> dict[str, Any] | None:
        if i % 1000 == 999:
            return None
        metadata: dict[str, Any] = {"n": i, "tags": ["even" if i % 2 == 0 else "odd", f"m{i % 7}"]}
        if i % 10:
            metadata["tenant"] = f"t{i % 50}"
        return metadata

    columns = MetadataColumns()
    for start in range(0, n, 500):
        columns.append([row(i) for i in range(start, start + 500)])
    assert columns.row_count == n

    document = {
        "$or": [
            {"tenant": {"$in": ["t3", "t7"]}, "n": {"$gte": 100_000}},
            {"tags": "m3", "tenant": {"$ne": "t3"}, "n": {"$lt": 1000}},
        ]
    }
    mask, lines = _python_lines_run(lambda: compile_(document).evaluate(columns))

    def expected(i: int) -> bool:
        if i % 1000 == 999:
            return False
        tenant = f"t{i % 50}" if i % 10 else None
        first = tenant in ("t3", "t7") and i >= 100_000
        second = i % 7 == 3 and tenant is not None and tenant != "t3" and i < 1000
        return first or second

    assert mask.tolist() == [expected(i) for i in range(n)]
    assert int(mask.sum()) > 0
    assert lines < 5_000, f"{lines} Python lines ran for {n} rows: evaluation loops in Python"

    missing, lines = _python_lines_run(lambda: compile_({"tenant": {"$exists": False}}).evaluate(columns))
    assert int(missing.sum()) == sum(1 for i in range(n) if i % 10 == 0 or i % 1000 == 999)
    assert lines < 1_000

    survivors = np.flatnonzero(np.arange(n) % 3 != 0)  # a compaction dropping every third row
    compacted = columns.take(survivors)
    assert compacted.row_count == len(survivors)
    assert compile_(document).evaluate(compacted).tolist() == [expected(int(i)) for i in survivors]
