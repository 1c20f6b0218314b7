"""Request validation driven by botocore's S3 Vectors model, the authority for shapes.

Every input is checked against the model (types, required members, enums, lengths, ranges,
patterns) before an operation runs, so no malformed request reaches the engine. The bounds
that are service limits rather than wire constraints come from :class:`Limits`, so a
self-hosted store can raise them; the messages follow AWS's wording.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from botocore.loaders import Loader

from pgs3v.store.api.errors import FieldError, ValidationException
from pgs3v.store.api.limits import Limits

API_VERSION = "2025-07-15"


@cache
def service_model() -> dict[str, Any]:
    """The S3 Vectors service model shipped inside botocore."""
    model: dict[str, Any] = Loader().load_service_model("s3vectors", "service-2", API_VERSION)
    return model


def operation_names() -> list[str]:
    """Every operation the model defines."""
    return sorted(service_model()["operations"])


def _limit_bounds(limits: Limits) -> dict[str, tuple[int | None, int | None]]:
    """Model shapes whose bounds are service limits, with the bounds in force."""
    return {
        "Dimension": (1, limits.max_dimension),
        "TopK": (1, limits.max_top_k),
        "PutVectorsInputList": (1, limits.max_put_vectors),
        "DeleteVectorsInputList": (1, limits.max_delete_vectors),
        "GetVectorsInputList": (1, limits.max_get_vectors),
        "ListVectorsMaxResults": (1, limits.max_list_vectors),
        "ListVectorsSegmentCount": (1, limits.max_list_segments),
        "ListVectorsSegmentIndex": (0, limits.max_list_segments - 1),
        "ListIndexesMaxResults": (1, limits.max_list_buckets_or_indexes),
        "ListVectorBucketsMaxResults": (1, limits.max_list_buckets_or_indexes),
        "VectorKey": (1, limits.max_key_length),
        "NonFilterableMetadataKeys": (0, limits.max_non_filterable_keys),
        "MetadataConfigurationTextSearchConfigurationsList": (0, limits.max_text_search_keys),
        "MetadataConfigurationAddTextSearchConfigurationsList": (0, limits.max_text_search_keys),
        "TextSearchConfigurationKeys": (1, limits.max_text_search_keys),
        "QueryTextList": (1, limits.max_query_texts),
        "QueryTextString": (1, limits.max_query_text_length),
    }


_TAG_PUNCTUATION = set("_.:/=+-@")
# How botocore writes non-finite floats; they pass the shape check so that the vector check
# can reject them with a message that names the record.
_NON_FINITE = frozenset({"NaN", "Infinity", "-Infinity"})
_NUMBER_TYPES = frozenset({int, float})


def _only_non_finite(values: list[Any]) -> bool:
    return all(x in _NON_FINITE for x in values if isinstance(x, str))


def _matches_tag_pattern(value: str) -> bool:
    # The model's tag pattern uses \p{L}\p{Z}\p{N}, which Python's re cannot express.
    return all(
        ch in _TAG_PUNCTUATION or unicodedata.category(ch)[0] in ("L", "Z", "N") for ch in value
    )


@cache
def _compiled_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@dataclass
class _Checker:
    shapes: dict[str, Any]
    bounds: dict[str, tuple[int | None, int | None]]
    errors: list[FieldError]

    def fail(self, path: str, message: str) -> None:
        self.errors.append(FieldError(path or "/", message))

    def check(self, shape_name: str, value: Any, path: str) -> None:
        shape = self.shapes[shape_name]
        kind = shape["type"]
        if kind == "structure" and shape.get("document"):
            return
        checker = getattr(self, f"_check_{kind}")
        checker(shape_name, shape, value, path)

    def _range(self, shape_name: str, shape: dict[str, Any]) -> tuple[int | None, int | None]:
        if shape_name in self.bounds:
            return self.bounds[shape_name]
        return shape.get("min"), shape.get("max")

    def _length(self, shape_name: str, shape: dict[str, Any], length: int, path: str, shown: str) -> bool:
        low, high = self._range(shape_name, shape)
        if (low is not None and length < low) or (high is not None and length > high):
            constraint = _bound_text(low, high, "have length")
            self.fail(path, f"Value {shown}at '{path}' failed to satisfy constraint: {constraint}")
            return False
        return True

    def _check_structure(self, shape_name: str, shape: dict[str, Any], value: Any, path: str) -> None:
        if not isinstance(value, dict):
            self.fail(path, f"Value at '{path or '/'}' failed to satisfy constraint: Member must be an object")
            return
        members = shape["members"]
        if shape.get("union"):
            present = [name for name in members if value.get(name) is not None]
            if len(present) != 1:
                self.fail(path, f"Value at '{path}' failed to satisfy constraint: Member must have exactly one of "
                                f"[{', '.join(members)}] set")
        for required in shape.get("required", []):
            if value.get(required) is None:
                self.fail(f"{path}/{required}", f"Value null at '{path}/{required}' failed to satisfy constraint: "
                                                "Member must not be null")
        for name, member in members.items():
            if member.get("location") in ("uri", "querystring", "header"):
                continue
            item = value.get(name)
            if item is not None:
                self.check(member["shape"], item, f"{path}/{name}")
            elif name in value:
                # AWS's deserializers read a null member as an absent one; dropping it here means
                # no operation meets a None where its code reads "absent" as a default.
                del value[name]

    def _check_list(self, shape_name: str, shape: dict[str, Any], value: Any, path: str) -> None:
        parsed_numbers = isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype == np.float64
        if not isinstance(value, list) and not parsed_numbers:
            self.fail(path, f"Value at '{path}' failed to satisfy constraint: Member must be a list")
            return
        if not self._length(shape_name, shape, len(value), path, f"with length {len(value)} "):
            return
        member_shape = shape["member"]["shape"]
        if self.shapes[member_shape]["type"] == "float":
            # Vectors: a fast path, since these lists hold thousands of numbers. A float64 row was
            # read from the body's text by pgs3v.store.api.put_body and holds numbers by construction.
            kinds = {float} if parsed_numbers else set(map(type, value))
            if not kinds <= _NUMBER_TYPES and not (kinds <= {*_NUMBER_TYPES, str} and _only_non_finite(value)):
                self.fail(path, f"Value at '{path}' failed to satisfy constraint: Member must contain only numbers")
            return
        for position, item in enumerate(value):
            self.check(member_shape, item, f"{path}/{position}")

    def _check_map(self, shape_name: str, shape: dict[str, Any], value: Any, path: str) -> None:
        if not isinstance(value, dict):
            self.fail(path, f"Value at '{path}' failed to satisfy constraint: Member must be a map")
            return
        for key, item in value.items():
            self.check(shape["key"]["shape"], key, f"{path}/{key}")
            self.check(shape["value"]["shape"], item, f"{path}/{key}")

    def _check_string(self, shape_name: str, shape: dict[str, Any], value: Any, path: str) -> None:
        if not isinstance(value, str):
            self.fail(path, f"Value at '{path}' failed to satisfy constraint: Member must be a string")
            return
        shown = f"'{value}' " if len(value) <= 128 else ""
        if "enum" in shape and value not in shape["enum"]:
            # AWS names the allowed set but not the value it got (checked against the service).
            self.fail(path, f"Value at '{path}' failed to satisfy constraint: "
                            f"Member must satisfy enum value set: [{', '.join(shape['enum'])}]")
            return
        if not self._length(shape_name, shape, len(value), path, f"with length {len(value)} "):
            return
        pattern = shape.get("pattern")
        if pattern is None:
            return
        ok = _matches_tag_pattern(value) if "\\p{" in pattern else bool(_compiled_pattern(pattern).fullmatch(value))
        if not ok:
            self.fail(path, f"Value {shown}at '{path}' failed to satisfy constraint: "
                            f"Member must satisfy regular expression pattern: {pattern}")

    def _check_integer(self, shape_name: str, shape: dict[str, Any], value: Any, path: str) -> None:
        if type(value) is not int:
            self.fail(path, f"Value at '{path}' failed to satisfy constraint: Member must be an integer")
            return
        low, high = self._range(shape_name, shape)
        if (low is not None and value < low) or (high is not None and value > high):
            # As AWS words it: "Value at '/dimension' ...", without the number that was sent.
            self.fail(path, f"Value at '{path}' failed to satisfy constraint: {_bound_text(low, high, 'be')}")

    def _check_boolean(self, shape_name: str, shape: dict[str, Any], value: Any, path: str) -> None:
        if type(value) is not bool:
            self.fail(path, f"Value at '{path}' failed to satisfy constraint: Member must be a boolean")

    def _check_float(self, shape_name: str, shape: dict[str, Any], value: Any, path: str) -> None:
        if type(value) not in (int, float) or not math.isfinite(value):
            self.fail(path, f"Value at '{path}' failed to satisfy constraint: Member must be a finite number")

    def _check_timestamp(self, shape_name: str, shape: dict[str, Any], value: Any, path: str) -> None:
        if type(value) not in (int, float):
            self.fail(path, f"Value at '{path}' failed to satisfy constraint: Member must be a timestamp")


def _bound_text(low: int | None, high: int | None, verb: str) -> str:
    if low is not None and high is not None:
        return f"Member must {verb} between {low} and {high}, inclusive"
    if low is not None:
        return f"Member must {verb} greater than or equal to {low}"
    return f"Member must {verb} less than or equal to {high}"


def validate_input(operation: str, request: Any, limits: Limits) -> None:
    """Raise ValidationException unless ``request`` fits the operation's input shape.

    Null members of the request's structures are removed, as absent ones (in place).
    """
    model = service_model()
    input_shape = model["operations"][operation]["input"]["shape"]
    checker = _Checker(model["shapes"], _limit_bounds(limits), [])
    checker.check(input_shape, request, "")
    if checker.errors:
        raise validation_error(checker.errors)


def validation_error(errors: list[FieldError]) -> ValidationException:
    """One ValidationException carrying every field error, worded like AWS."""
    count = len(errors)
    noun = "error" if count == 1 else "errors"
    details = "; ".join(e.message for e in errors)
    return ValidationException(f"{count} validation {noun} detected. {details}", errors)
