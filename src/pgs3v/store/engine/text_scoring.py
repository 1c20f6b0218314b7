"""BM25 as the engine computes it, and the term statistics it computes it with.

tantivy finds the candidates, but its statistics count deleted documents until a merge and each
segment has its own, so the final score is computed here with the index's exact statistics
(docs/full-text-notes.md, part 3): Lucene's BM25, k1 = 1.2, b = 0.75, the classic (k1 + 1)
factor that tantivy keeps, and the document length through Lucene's one-byte encoding, which
tantivy, Lucene and so OpenSearch score with. ``tests/reference/bm25.py`` is the independent
oracle this is checked against.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

K1 = 1.2
B = 0.75
# Lucene's SmallFloat.intToByte4: lengths below this are stored as they are, the rest as 4
# significant bits of (length - this).
_FREE_VALUES = 24


def encoded_length(length: int) -> int:
    """The length Lucene and tantivy score a document with: exact to 40 tokens, then 4 significant bits."""
    if length < _FREE_VALUES:
        return length
    value = length - _FREE_VALUES
    shift = max(value.bit_length() - 4, 0)
    return _FREE_VALUES + ((value >> shift) << shift)


def idf(document_frequency: int, documents: int) -> float:
    """Lucene's idf, never negative."""
    return math.log(1 + (documents - document_frequency + 0.5) / (document_frequency + 0.5))


@dataclass
class TermStatistics:
    """How many documents, how many tokens in them, and in how many documents each term occurs."""

    documents: int = 0
    tokens: int = 0
    frequencies: Counter[str] = field(default_factory=Counter)

    def add(self, terms: Sequence[str]) -> None:
        """Count one document of ``terms`` (nothing when it has none: it is not a document of the key)."""
        if terms:
            self.documents += 1
            self.tokens += len(terms)
            self.frequencies.update(set(terms))

    def remove(self, terms: Sequence[str]) -> None:
        """Take back a document counted by :meth:`add`."""
        if terms:
            self.documents -= 1
            self.tokens -= len(terms)
            self.frequencies.subtract(set(terms))
            for term in set(terms):
                if self.frequencies[term] <= 0:
                    del self.frequencies[term]


@dataclass(frozen=True)
class QueryStatistics:
    """The statistics one query is scored with: the key's live documents and its terms' frequencies."""

    documents: int
    tokens: int
    frequencies: Mapping[str, int]

    @property
    def average_length(self) -> float:
        """The mean length of the key's live documents."""
        return self.tokens / self.documents if self.documents else 0.0

    def idf(self, term: str) -> float:
        """The term's idf among the live documents."""
        return idf(self.frequencies.get(term, 0), self.documents)


def score(query: Iterable[str], document: Sequence[str], statistics: QueryStatistics) -> float:
    """The BM25 score of an analyzed ``document`` for the analyzed ``query`` (0 when nothing matches).

    A query term given twice counts twice, as tantivy and Lucene add one clause per token.
    """
    counts = Counter(document)
    norm = K1 * (1 - B + B * encoded_length(len(document)) / statistics.average_length)
    total = 0.0
    for term in query:
        tf = counts.get(term, 0)
        if tf:
            total += statistics.idf(term) * tf * (K1 + 1) / (tf + norm)
    return total
