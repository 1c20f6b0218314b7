"""An independent BM25 in plain Python, over documents that are already analyzed into tokens.

This is the oracle the full-text engine is checked against, so it is written from the published
formulas, not from any engine's code, and in float64:

- idf(t) = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5)), Lucene's idf (never negative), with N the
  number of live documents and df(t) the number of live documents that contain t;
- each query token t found in document d adds idf(t) * tf * s / (tf + k1 * (1 - b + b * dl / avgdl)),
  with tf the count of t in d, dl d's length in tokens and avgdl the mean length over live
  documents. ``s`` is k1 + 1 in the classic formula (Robertson's, Lucene before 8, tantivy) and 1
  in Lucene 8 and later, which dropped the constant factor; it scales every score alike and so
  never changes a ranking;
- a query token that appears twice counts twice (Lucene and tantivy sum one clause per token).

Lucene and tantivy store each document's length in one byte (Lucene's ``SmallFloat.intToByte4``):
exact up to 40 tokens, then rounded down to a value with 4 significant bits. ``lucene_length``
is that round trip, written from Lucene's documented encoding; pass it as ``length`` to score as
they do (the mean length stays exact: it is computed from the exact token total).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

K1 = 1.2
B = 0.75
RRF_K = 60  # the rank constant of Cormack, Clarke and Büttcher (SIGIR 2009)

# Lucene's SmallFloat: 1-byte values below this are lengths as they are; the rest hold an
# int4 (3 mantissa bits, implicit leading 1, a shift) of the length minus this.
_FREE_VALUES = 24


def _int4(value: int) -> int:
    bits = value.bit_length()
    if bits < 4:
        return value
    shift = bits - 4
    return ((value >> shift) & 0x07) | ((shift + 1) << 3)


def _from_int4(code: int) -> int:
    mantissa, shift = code & 0x07, (code >> 3) - 1
    return mantissa if shift == -1 else (mantissa | 0x08) << shift


def lucene_length(length: int) -> int:
    """The document length Lucene and tantivy score with: ``length`` through its 1-byte encoding."""
    if length < _FREE_VALUES:
        return length
    return _FREE_VALUES + _from_int4(_int4(length - _FREE_VALUES))


def exact_length(length: int) -> int:
    """The document length as it is (bm25s, and BM25 as published)."""
    return length


class Bm25:
    """BM25 over a fixed set of live documents, each a list of tokens, keyed by name."""

    def __init__(
        self, documents: Mapping[str, Sequence[str]], *, k1: float = K1, b: float = B,
        classic: bool = True, length: Callable[[int], int] = exact_length,
    ) -> None:
        self.k1, self.b = k1, b
        self._scale = k1 + 1 if classic else 1.0
        self._length = length
        self._counts = {key: Counter(tokens) for key, tokens in documents.items()}
        self._lengths = {key: len(tokens) for key, tokens in documents.items()}
        self.documents = len(documents)
        self.average_length = sum(self._lengths.values()) / self.documents if self.documents else 0.0
        self._df: Counter[str] = Counter()
        for counts in self._counts.values():
            self._df.update(counts.keys())

    def document_frequency(self, token: str) -> int:
        """How many live documents contain ``token``."""
        return self._df[token]

    def idf(self, token: str) -> float:
        """Lucene's idf of ``token`` among the live documents."""
        df = self._df[token]
        return math.log(1 + (self.documents - df + 0.5) / (df + 0.5))

    def score(self, query: Sequence[str], key: str) -> float:
        """The BM25 score of document ``key`` for the analyzed ``query`` (0 when nothing matches)."""
        counts = self._counts[key]
        norm = self.k1 * (1 - self.b + self.b * self._length(self._lengths[key]) / self.average_length)
        total = 0.0
        for token in query:
            tf = counts.get(token, 0)
            if tf:
                total += self.idf(token) * tf * self._scale / (tf + norm)
        return total

    def scores(self, query: Sequence[str]) -> dict[str, float]:
        """Every document that matches at least one query token, with its score."""
        wanted = set(query)
        return {key: self.score(query, key) for key, counts in self._counts.items() if wanted & counts.keys()}

    def top(self, query: Sequence[str], k: int) -> list[tuple[str, float]]:
        """The ``k`` best documents, best first; ties go to the smaller key, so the order is total."""
        return sorted(self.scores(query).items(), key=lambda item: (-item[1], item[0]))[:k]


def rrf(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> dict[str, float]:
    """Reciprocal Rank Fusion: each ranking adds 1 / (k + rank) to the keys it holds, rank from 1."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            fused[key] = fused.get(key, 0.0) + 1.0 / (k + rank)
    return fused
