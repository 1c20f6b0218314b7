"""Splitting oversized requests into calls the API accepts, and merging their answers.

S3 Vectors takes at most 500 vectors per PutVectors, 500 keys per DeleteVectors and 100 keys
per GetVectors. SQL should not have to know: the bridge sends the parts one after another, in
order, so when a key appears twice the later vector still wins, as it would in one call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# operation -> (the list member to split, the most items one call may carry)
SPLITS: Mapping[str, tuple[str, int]] = {
    "PutVectors": ("vectors", 500),
    "DeleteVectors": ("keys", 500),
    "GetVectors": ("keys", 100),
}

WRITES = frozenset({"PutVectors", "DeleteVectors"})


@dataclass(frozen=True)
class Part:
    """One API call's worth of a request: the request itself and where its items start."""

    request: dict[str, Any]
    offset: int
    count: int


def split(operation: str, request: dict[str, Any]) -> list[Part]:
    """The calls to make for ``request``, in order (just one when it fits)."""
    member, size = SPLITS.get(operation, ("", 0))
    items = request.get(member) if member else None
    if not isinstance(items, list) or len(items) <= size:
        return [Part(request, 0, len(items) if isinstance(items, list) else 0)]
    return [
        Part({**request, member: items[start : start + size]}, start, len(items[start : start + size]))
        for start in range(0, len(items), size)
    ]


def merge(operation: str, responses: list[dict[str, Any]]) -> dict[str, Any]:
    """One response for the whole request, as if the API had taken it in one call."""
    if len(responses) == 1:
        return responses[0]
    merged = dict(responses[-1])
    if operation == "GetVectors":
        merged["vectors"] = [vector for response in responses for vector in response.get("vectors", [])]
    return merged


def rebase_field_list(operation: str, field_list: list[Any], offset: int) -> list[Any]:
    """Field paths of a part's error (``/vectors/12``) renumbered to the whole request's items."""
    member, _ = SPLITS.get(operation, ("", 0))
    if not member or offset == 0:
        return field_list
    pattern = re.compile(rf"^(/{member}/)(\d+)")
    rebased = []
    for entry in field_list:
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            path = pattern.sub(lambda found: f"{found.group(1)}{int(found.group(2)) + offset}", entry["path"])
            entry = {**entry, "path": path}
        rebased.append(entry)
    return rebased


def partial_write_note(operation: str, part: Part, total: int) -> str:
    """What an error in a later part of a split write means for the parts already sent."""
    if operation not in WRITES or part.offset == 0:
        return ""
    member, _ = SPLITS[operation]
    return (
        f" (the bridge split {total} {member} into calls of at most {SPLITS[operation][1]}; this error is from "
        f"the call carrying {member} {part.offset}-{part.offset + part.count - 1}, and the {part.offset} "
        f"before them were already written)"
    )
