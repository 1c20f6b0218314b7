"""Comma-separated JSON numbers read into float64 at numpy speed, exactly as orjson reads them.

A PutVectors body is mostly numbers, and turning each into a Python float is what makes parsing
it slow. Here every number up to 16 characters long is read in one vectorised pass: its text,
right-aligned in a 16-byte window, is taken as two little-endian 64-bit words, and a handful of
integer operations on those words (SWAR: SIMD within a register) check the JSON grammar and
build the decimal mantissa M and exponent q. When M ≤ 2^53 and |q| ≤ 22, M and 10^|q| are exact
doubles and M · 10^q (or M / 10^-q) is a single correctly rounded operation, so the result is
bit for bit what a correctly rounding parser such as orjson gives (Clinger's fast path). The
rare numbers outside that form are read one at a time; anything unexpected makes the reader
give up (None), and the caller parses the text the ordinary way.
"""

from __future__ import annotations

import math
import re

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

_JSON_NUMBER = re.compile(rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
# Numbers outside the vectorised form are read one by one; past this share that is slower than
# the ordinary parse (orjson writes one float32 in 50,000 that way for typical embeddings).
_MOST_IRREGULAR = 1 / 64

_WIDTH = 16
_COMMA, _PLUS, _MINUS, _DOT, _ZERO = b",+-.0"
_LOWER_E = ord("e")
_U64 = np.dtype("<u8")
_ONES = np.uint64(0x0101010101010101)
# Multiplying a word of 0/1 bytes by these sums its bytes into the top byte, each weighted by
# 17 + (column + 1). For the marks of one kind in a number that is 17 · count + Σ (column + 1):
# 18–33 for exactly one mark, at column sum − 18; 0 for none; at least 37 for several (and at
# most 236, so no byte ever carries into the next).
_COLUMN_WEIGHTS = np.array(
    [sum((18 + i) << (8 * (7 - i)) for i in range(8)), sum((26 + i) << (8 * (7 - i)) for i in range(8))],
    dtype=_U64,
)
_NO_MARK = -18
_MARK_SUMS = 2 * 236 + 1


def _dot_tables() -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    """By the mark sum of a number's dots: the dot's column (99 for none), the digits after it,
    the exponent of the power of ten that splits off the fraction (the dot read as a digit; 0
    without a dot), and whether the dots are fine (none, or one that is not last)."""
    column = np.full(_MARK_SUMS, 99, dtype=np.intp)
    fraction = np.zeros(_MARK_SUMS, dtype=np.intp)
    scale = np.zeros(_MARK_SUMS, dtype=np.intp)
    fine = np.zeros(_MARK_SUMS, dtype=np.bool_)
    fine[0] = True
    for at in range(_WIDTH - 1):
        total = at - _NO_MARK
        column[total], fraction[total], scale[total], fine[total] = at, _WIDTH - 1 - at, _WIDTH - at, True
    return column, fraction, scale, fine


_DOT_COLUMN, _DOT_FRACTION, _DOT_SCALE, _DOTS_OK = _dot_tables()
_SIGN_BIT = np.uint64(63)
_POW10_INT = np.array([10**k for k in range(_WIDTH + 2)], dtype=_U64)
_POW10_FLOAT = np.array([10.0**k for k in range(23)])  # exact doubles up to 1e22
_LARGEST_EXACT = np.uint64(2**53)
_MOST_EXPONENT_DIGITS = 3


def _column_masks() -> npt.NDArray[np.uint64]:
    """Row c (0–16) as two words: 0xFF in columns c..15; row 16 is empty."""
    masks = np.zeros((_WIDTH + 1, _WIDTH), dtype=np.uint8)
    for column in range(_WIDTH):
        masks[column, column:] = 0xFF
    return masks.view(_U64)


_FROM = _column_masks()


def read_numbers(text: bytes) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.intp]] | None:
    """The comma-separated JSON numbers of ``text`` as float64, and the offset where each starts.

    None when one of them is not a JSON number (or ``text`` holds anything else, spaces
    included), or is one the ordinary parse reads differently: infinite, or an integer beyond 10^15.
    """
    chars = np.frombuffer(text, dtype=np.uint8)
    commas = np.flatnonzero(chars == _COMMA)
    count = len(commas) + 1
    starts = np.empty(count, dtype=np.intp)
    starts[0], starts[1:] = 0, commas + 1
    ends = np.empty(count, dtype=np.intp)
    ends[:-1], ends[-1] = commas, len(chars)
    # Commas around the text, so that every window and every look-ahead stays in bounds.
    padded = np.empty(len(chars) + _WIDTH + 1, dtype=np.uint8)
    padded[:_WIDTH], padded[_WIDTH:-1], padded[-1] = _COMMA, chars, _COMMA
    windows = sliding_window_view(padded[:-1], _WIDTH)  # windows[i]: the 16 bytes before offset i

    mantissa, fraction_digits, has_dot, negative, regular = _decimals(windows, padded, starts, ends)
    values = mantissa.astype(np.float64) / np.take(_POW10_FLOAT, fraction_digits)
    # orjson reads "-0" as the integer 0, but "-0.0" as -0.0.
    values.view(_U64)[:] |= (negative & (has_dot | (mantissa != 0))).astype(_U64) << _SIGN_BIT

    irregular = np.flatnonzero(~regular)
    if len(irregular):
        found, exponent_values = _with_exponents(windows, padded, starts[irregular], ends[irregular])
        values[irregular[found]] = exponent_values[found]
        irregular = irregular[~found]
    if len(irregular) > _MOST_IRREGULAR * count:
        return None
    for position, start, end in zip(irregular.tolist(), starts[irregular].tolist(), ends[irregular].tolist(),
                                    strict=True):
        value = _one_number(text[start:end])
        if value is None:
            return None
        values[position] = value
    return values, starts


def _decimals(
    windows: npt.NDArray[np.uint8], padded: npt.NDArray[np.uint8], starts: npt.NDArray[np.intp],
    ends: npt.NDArray[np.intp],
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.intp], npt.NDArray[np.bool_], npt.NDArray[np.bool_],
           npt.NDArray[np.bool_]]:
    """For each text -?D+[.D+] between ``starts`` and ``ends``: its digits as an integer M, how many
    follow the dot, whether it has a dot, whether it is negative, and whether M · 10^-f is exact."""
    text = windows[ends]  # right-aligned: the number's last byte is in column 15
    lengths = ends - starts
    negative = padded[starts + _WIDTH] == _MINUS
    first = np.maximum(_WIDTH - lengths, 0) + negative  # column of the first digit (17: none)
    inside = np.take(_FROM, first, axis=0, mode="clip")
    digit_values = text - np.uint8(_ZERO)
    digits = digit_values < 10
    dots = text == _DOT
    dot_sum = _mark_sums(dots.view(_U64) & inside)
    dot_column = np.take(_DOT_COLUMN, dot_sum)
    regular = np.take(_DOTS_OK, dot_sum)  # none, or one with a digit after it
    regular &= lengths <= _WIDTH
    regular &= first < _WIDTH
    regular &= ~_any(inside & ((digits | dots).view(_U64) ^ _ONES))
    regular &= dot_column > first  # a digit before the dot
    # JSON has no leading zeros: a first "0" is the whole integer part.
    regular &= (padded[starts + negative + _WIDTH] != _ZERO) | (first == _WIDTH - 1) | (dot_column == first + 1)
    # All digits as one integer, the dot read as a zero digit: integer part · 10^(f+1) + fraction.
    words = _eight_digits((digit_values * digits).view(_U64) & inside)
    with_dot = words[:, 0] * np.uint64(10**8) + words[:, 1]
    fraction_digits = np.take(_DOT_FRACTION, dot_sum)
    scale = np.take(_POW10_INT, np.take(_DOT_SCALE, dot_sum))
    integer_part = with_dot // scale
    mantissa = integer_part * np.take(_POW10_INT, fraction_digits) + (with_dot - integer_part * scale)
    regular &= mantissa <= _LARGEST_EXACT
    return mantissa, fraction_digits, dot_sum > 0, negative, regular


def _with_exponents(
    windows: npt.NDArray[np.uint8], padded: npt.NDArray[np.uint8], starts: npt.NDArray[np.intp],
    ends: npt.NDArray[np.intp],
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """Which texts are -?D+[.D+](e|E)[+|-]D{1,3} with an exact value, and those values."""
    text = windows[ends]
    own = np.take(_FROM, np.clip(_WIDTH - (ends - starts), 0, _WIDTH), axis=0)  # not the bytes before it
    e_column = _mark_column(((text | np.uint8(0x20)) == _LOWER_E).view(_U64) & own)
    has_e = (e_column >= 0) & (e_column < _WIDTH)
    e_column = np.where(has_e, e_column, _WIDTH - 1)
    # The part before the e is a number of its own, in its own window.
    mantissa, fraction_digits, _, negative, found = _decimals(windows, padded, starts, ends - _WIDTH + e_column)
    after_e = text[np.arange(len(ends)), np.minimum(e_column + 1, _WIDTH - 1)]
    exponent_first = np.minimum(e_column + 1 + ((after_e == _MINUS) | (after_e == _PLUS)), _WIDTH)
    exponent = np.take(_FROM, exponent_first, axis=0)
    digit_values = text - np.uint8(_ZERO)
    digits = digit_values < 10
    # At most three exponent digits, so all in the second word with zeros before them.
    power = _eight_digits((digit_values * digits).view(_U64)[:, 1] & exponent[:, 1]).astype(np.intp)
    power = np.where(after_e == _MINUS, -power, power) - fraction_digits
    found &= (
        has_e & (exponent_first < _WIDTH) & (exponent_first >= _WIDTH - _MOST_EXPONENT_DIGITS)
        & ~_any(exponent & (digits.view(_U64) ^ _ONES)) & (np.abs(power) <= 22)
    )
    tens = np.take(_POW10_FLOAT, np.where(found, np.abs(power), 0))
    magnitude = mantissa.astype(np.float64)
    values = np.where(power < 0, magnitude / tens, magnitude * tens)
    values.view(_U64)[:] |= negative.astype(_U64) << _SIGN_BIT  # with an exponent, "-0e0" is -0.0
    return found, values


def _one_number(token: bytes) -> float | None:
    """A JSON number outside the vectorised form, as the ordinary path reads it, or None."""
    if not _JSON_NUMBER.fullmatch(token):
        return None
    digits = token.removeprefix(b"-")
    if digits.isdigit():
        # orjson reads integers as int (so "-0" is 0, not -0.0) and validation converts them;
        # below 10^15 that is exact. Longer ones are not worth a shortcut.
        return float(int(token)) if len(digits) <= 15 else None
    value = float(token)
    # Infinity: orjson refuses the body, and the ordinary path's second parser takes over.
    return value if math.isfinite(value) else None


def _mark_sums(marks: npt.NDArray[np.uint64]) -> npt.NDArray[np.intp]:
    """Per row of two words of 0/1 bytes: the weighted sum of :data:`_COLUMN_WEIGHTS` (0–472)."""
    # Column by column: broadcasting a row of two weights over (n, 2) is twice as slow.
    top = np.uint64(56)
    total = ((marks[:, 0] * _COLUMN_WEIGHTS[0]) >> top) + ((marks[:, 1] * _COLUMN_WEIGHTS[1]) >> top)
    sums: npt.NDArray[np.intp] = total.view(np.intp)
    return sums


def _mark_column(marks: npt.NDArray[np.uint64]) -> npt.NDArray[np.intp]:
    """Per row of two words of 0/1 bytes: the column of its only 1, -18 for none, above 15 for several."""
    columns: npt.NDArray[np.intp] = _mark_sums(marks) + _NO_MARK
    return columns


def _any(words: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
    """Per row of two words: is any bit set."""
    found: npt.NDArray[np.bool_] = (words[:, 0] | words[:, 1]) != 0
    return found


def _eight_digits(words: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """The decimal value of each word's eight bytes, each 0–9 (most significant first in memory)."""
    words = (words * np.uint64(10 * 256 + 1)) >> np.uint64(8)
    words = ((words & np.uint64(0x00FF00FF00FF00FF)) * np.uint64(100 * 65536 + 1)) >> np.uint64(16)
    result: npt.NDArray[np.uint64] = ((words & np.uint64(0x0000FFFF0000FFFF)) * np.uint64(10000 * 2**32 + 1)) >> (
        np.uint64(32)
    )
    return result
