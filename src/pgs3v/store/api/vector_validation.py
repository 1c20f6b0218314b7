"""Checks on vectors and metadata that depend on the target index (dimension, metric, keys).

The wire shapes are checked earlier against the model (:mod:`pgs3v.store.api.shapes`); what is
left here needs the index: vector length, finite values, metadata sizes and key counts.
Messages follow AWS's "Invalid record for key 'k': ..." wording.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from pgs3v.store.api.errors import FieldError, ValidationException
from pgs3v.store.api.limits import Limits
from pgs3v.store.engine.mutations import PutBatch
from pgs3v.store.storage.catalog import IndexRecord

# orjson, which writes the log and every response, refuses JSON nested deeper than 255 levels,
# and both wrap a vector's metadata in levels of their own: deeper metadata would be accepted
# and then break every read that returns it.
_MAX_METADATA_NESTING = 64


def _invalid_record(key: str, position: int, what: str) -> ValidationException:
    message = f"Invalid record for key '{key}': {what}"
    return ValidationException(message, [FieldError(f"/vectors/{position}", message)])


def vector_array(values: list[float], dimension: int, what: str) -> npt.NDArray[np.float32]:
    """A float32 vector of the index's dimension with finite values, or a message why not."""
    if len(values) != dimension:
        raise ValueError(f"{what} must have length {dimension}, but has length {len(values)}")
    if str in set(map(type, values)):
        # botocore sends non-finite floats as the strings "NaN", "Infinity" and "-Infinity".
        raise ValueError(f"{what} must contain only finite numbers (no NaN or Infinity)")
    try:
        vector = np.asarray(values, dtype=np.float64)
    except OverflowError:  # an integer written with hundreds of digits: beyond any float
        raise ValueError(f"{what} has values outside the float32 range") from None
    if not np.all(np.isfinite(vector)):
        raise ValueError(f"{what} must contain only finite numbers (no NaN or Infinity)")
    with np.errstate(over="ignore"):  # overflow is what the next line looks for
        narrowed = vector.astype(np.float32)
    if not np.all(np.isfinite(narrowed)):
        raise ValueError(f"{what} has values outside the float32 range")
    return narrowed


def put_batch(vectors: list[dict[str, Any]], index: IndexRecord, limits: Limits) -> PutBatch:
    """Validate a PutVectors request's vectors against ``index`` and build the log batch."""
    keys: list[str] = []
    rows: list[npt.NDArray[np.float32]] = []
    metadata: list[dict[str, Any] | None] = []
    # Records are checked in order, each vector before its metadata, so the first problem is
    # the one reported; checking every vector at once first changes nothing when all pass.
    matrix = _checked_matrix(vectors, index)
    for position, item in enumerate(vectors):
        key = item["key"]
        if matrix is None:
            rows.append(_checked_vector(item["data"]["float32"], key, position, index))
        keys.append(key)
        metadata.append(_checked_metadata(item.get("metadata"), key, position, index, limits))
    return PutBatch(keys=keys, vectors=np.stack(rows) if matrix is None else matrix, metadata=metadata)


def _checked_vector(values: Any, key: str, position: int, index: IndexRecord) -> npt.NDArray[np.float32]:
    try:
        vector = vector_array(values, index.dimension, "vector")
    except ValueError as problem:
        raise _invalid_record(key, position, str(problem)) from None
    if index.distance_metric == "cosine" and not np.any(vector):
        raise _invalid_record(key, position, "a zero vector has no direction, so cosine distance is undefined")
    return vector


def _checked_matrix(vectors: list[dict[str, Any]], index: IndexRecord) -> npt.NDArray[np.float32] | None:
    """Every vector as one float32 matrix when they all came as float64 rows (pgs3v.store.api.put_body)
    and all pass :func:`_checked_vector`; else None, and the records are checked one by one."""
    rows = [item["data"]["float32"] for item in vectors]
    if not all(isinstance(row, np.ndarray) and row.shape == (index.dimension,) for row in rows):
        return None
    wide = np.stack(rows)
    if not np.isfinite(wide).all():
        return None
    with np.errstate(over="ignore"):
        matrix = wide.astype(np.float32)
    if not np.isfinite(matrix).all():
        return None
    if index.distance_metric == "cosine" and not matrix.any(axis=1).all():
        return None
    return matrix


def _checked_metadata(
    value: Any, key: str, position: int, index: IndexRecord, limits: Limits
) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _invalid_record(key, position, "metadata must be a JSON object")
    if len(value) > limits.max_metadata_keys:
        raise _invalid_record(
            key, position, f"metadata has {len(value)} keys, more than the limit of {limits.max_metadata_keys}"
        )
    problem = _metadata_problem(value)
    if problem is None:
        try:
            total = len(orjson.dumps(value))
        except orjson.JSONEncodeError as error:
            # Integers beyond 64 bits, which orjson cannot write back out.
            problem = f"metadata cannot be stored as JSON ({error})"
    if problem is not None:
        raise _invalid_record(key, position, problem)
    if total > limits.max_metadata_bytes:
        raise _invalid_record(
            key, position, f"metadata is {total} bytes, more than the limit of {limits.max_metadata_bytes} bytes"
        )
    non_filterable = index.non_filterable_keys
    if value and non_filterable.isdisjoint(value):
        filterable_size = total  # all of it (skips writing it out a second time)
    else:
        filterable = {k: v for k, v in value.items() if k not in non_filterable}
        filterable_size = len(orjson.dumps(filterable)) if filterable else 0
    if filterable_size > limits.max_filterable_metadata_bytes:
        raise _invalid_record(
            key,
            position,
            f"filterable metadata is {filterable_size} bytes, more than the limit of "
            f"{limits.max_filterable_metadata_bytes} bytes (declare large keys non-filterable when creating the index)",
        )
    return value or None


def _metadata_problem(value: dict[str, Any]) -> str | None:
    """Why ``value`` could not be stored and read back unchanged, or None."""
    # Iterative, so that deep nesting is reported rather than overflowing the stack.
    pending: list[tuple[dict[str, Any] | list[Any], int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, float):
                if not math.isfinite(child):
                    # orjson would quietly store these as null.
                    return "metadata must not contain NaN or Infinity"
            elif isinstance(child, dict | list):
                if depth >= _MAX_METADATA_NESTING:
                    return f"metadata is nested more than {_MAX_METADATA_NESTING} levels deep"
                pending.append((child, depth + 1))
    return None
