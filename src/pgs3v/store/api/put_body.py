"""A PutVectors body read fast: the vectors' numbers go from JSON text straight into numpy.

orjson turns 500 × 768 numbers into 384,000 Python floats (about 20 ms here) that validation
then walks twice more (about 30 ms). Instead, the ``"float32": [...]`` arrays are cut out of
the body and read by simdjson (:mod:`pgs3v.store.api.json_numbers`, 6 ms), while the rest (names,
keys, metadata) still goes through orjson. The request that comes out is the one orjson would have produced,
except that each vector's list is a float64 numpy row holding the very same values, which
validation checks all at once (:mod:`pgs3v.store.api.vector_validation`).

This is only a shortcut: whenever the body is not plain (a syntax error, NaN literals,
infinities, numbers beyond a double, arrays of unequal length, a vector whose data is not where
it should be), :func:`read_put_vectors` returns None and the caller parses the body the ordinary
way, so every error keeps its exact wording. It never rejects anything itself.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from pgs3v.store.api.json_numbers import read_rows

_KEY = b'"float32"'
_AFTER_KEY = re.compile(rb"[ \t\n\r]*:[ \t\n\r]*\[")
_WHITESPACE = b" \t\n\r"


def read_put_vectors(body: bytes) -> dict[str, Any] | None:
    """The PutVectors request in ``body`` with numpy rows for vectors, or None: parse it the ordinary way."""
    spans = _array_spans(body)
    if not spans:
        return None
    # Each array becomes a number no client can predict, so finding every one of them exactly
    # where a vector's data belongs proves that the arrays cut out were those and only those.
    nonce = secrets.randbits(62)
    pieces: list[bytes] = []
    last = 0
    for number, (opening, closing) in enumerate(spans):
        pieces += (body[last:opening], b"%d" % (nonce + number))
        last = closing + 1
    pieces.append(body[last:])
    try:
        request = orjson.loads(b"".join(pieces))
    except orjson.JSONDecodeError:
        return None
    holders = _vector_data(request, nonce, len(spans))
    if holders is None:
        return None
    rows = _number_rows(body, spans)
    if rows is None:
        return None
    for data, row in zip(holders, rows, strict=True):
        data["float32"] = row
    assert isinstance(request, dict)
    return request


def _array_spans(body: bytes) -> list[tuple[int, int]]:
    """(opening, closing) bracket positions of every ``"float32": [...]`` member in ``body``."""
    spans: list[tuple[int, int]] = []
    at = body.find(_KEY)
    while at >= 0:
        before = at - 1
        while before >= 0 and body[before] in _WHITESPACE:
            before -= 1
        # A member name follows "{" or ","; anything else is text inside some other string.
        after = _AFTER_KEY.match(body, at + len(_KEY)) if before >= 0 and body[before] in b"{," else None
        if after is None:
            at = body.find(_KEY, at + 1)
            continue
        closing = body.find(b"]", after.end())
        if closing < 0:
            return []
        spans.append((after.end() - 1, closing))
        at = body.find(_KEY, closing + 1)
    return spans


def _vector_data(request: Any, nonce: int, count: int) -> list[dict[str, Any]] | None:
    """The ``data`` objects of the request's vectors if array number k sits in vector k's data."""
    vectors = request.get("vectors") if isinstance(request, dict) else None
    if not isinstance(vectors, list) or len(vectors) != count:
        return None
    holders = []
    for number, item in enumerate(vectors):
        data = item.get("data") if isinstance(item, dict) else None
        if not isinstance(data, dict):
            return None
        placeholder = data.get("float32")
        if type(placeholder) is not int or placeholder != nonce + number:
            return None
        holders.append(data)
    return holders


def _number_rows(body: bytes, spans: list[tuple[int, int]]) -> npt.NDArray[np.float64] | None:
    """The numbers of each array as one row of a matrix, or None unless all are JSON numbers of equal count."""
    return read_rows([body[opening : closing + 1] for opening, closing in spans])
