"""The vectors of a PutVectors body read straight into float64 rows by simdjson.

A PutVectors body is mostly numbers, and turning each into a Python float is what makes parsing
it slow: 500 × 768 numbers took 20 ms through orjson and Python floats, and 26 ms through the
vectorised reader this module held before. simdjson (pysimdjson) parses the arrays and writes
their numbers into one buffer of doubles in C, correctly rounded as orjson rounds them: 6 ms.
Anything it does not read as plain arrays of numbers of one length (a syntax error, a number
beyond a double, an integer beyond 64 bits, a non-number) makes the reader give up (None), and
the caller parses the body the ordinary way, so every error keeps its exact wording.
"""

from __future__ import annotations

import queue
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import simdjson

# A parser keeps buffers as large as the largest document it read, and is not thread-safe:
# requests take one from this pool (or a fresh one), and at most this many are kept.
_KEPT_PARSERS = 2
_parsers: queue.SimpleQueue[simdjson.Parser] = queue.SimpleQueue()


def read_rows(arrays: Sequence[bytes]) -> npt.NDArray[np.float64] | None:
    """Each ``[...]`` JSON array text as one row of a matrix, or None unless all are numbers of equal count."""
    # simdjson's buffer flattens nested arrays; an array inside a vector is not a vector.
    if not arrays or any(b"[" in text[1:] for text in arrays):
        return None
    try:
        parser = _parsers.get_nowait()
    except queue.Empty:
        parser = simdjson.Parser()
    try:
        return _rows(parser, b"[" + b",".join(arrays) + b"]", len(arrays))
    finally:
        if _parsers.qsize() < _KEPT_PARSERS:
            _parsers.put(parser)


def _rows(parser: simdjson.Parser, document: bytes, count: int) -> npt.NDArray[np.float64] | None:
    try:
        parsed = parser.parse(document)
    except (ValueError, RuntimeError):  # malformed JSON, a number beyond a double or 64 bits
        return None
    try:
        if not isinstance(parsed, simdjson.Array) or len(parsed) != count:
            return None
        lengths = set()
        for row in parsed:
            if not isinstance(row, simdjson.Array):
                return None
            lengths.add(len(row))
        if len(lengths) != 1 or 0 in lengths:
            return None
        values = np.frombuffer(parsed.as_buffer(of_type="d"), dtype=np.float64)
    except (TypeError, ValueError, RuntimeError):  # a string, a boolean, a null among the numbers
        return None
    finally:
        # A parser can be reused only once no proxy into its last document is left.
        del parsed
    return values.reshape(count, -1).copy()
