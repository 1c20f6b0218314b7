"""The tail's text for one searchable key: rows not yet in a segment, analyzed as writes apply.

In memory only, like the tail's vectors: recovery replays the log after the watermark, which
puts every row back. A row is known by its vector key (an overwrite replaces it, a delete
removes it), and scored exactly from its terms, as the tail's vectors are scanned exactly.
"""

from __future__ import annotations

from collections.abc import Iterator

from pgs3v.store.engine.text_scoring import TermStatistics


class TailText:
    """Analyzed rows by vector key, their postings, and their statistics, kept in step."""

    def __init__(self) -> None:
        self._terms: dict[str, list[str]] = {}
        self._postings: dict[str, set[str]] = {}
        self.statistics = TermStatistics()

    def __len__(self) -> int:
        return len(self._terms)

    def put(self, key: str, terms: list[str]) -> None:
        """Row ``key`` now holds ``terms`` (an empty list: it has no text for this key)."""
        self.remove(key)
        if not terms:
            return
        self._terms[key] = terms
        for term in set(terms):
            self._postings.setdefault(term, set()).add(key)
        self.statistics.add(terms)

    def remove(self, key: str) -> None:
        """Row ``key`` is deleted, or moved into a segment."""
        terms = self._terms.pop(key, None)
        if terms is None:
            return
        for term in set(terms):
            holders = self._postings[term]
            holders.discard(key)
            if not holders:
                del self._postings[term]
        self.statistics.remove(terms)

    def terms(self, key: str) -> list[str]:
        """The analyzed text of row ``key``."""
        return self._terms[key]

    def matching(self, terms: set[str]) -> Iterator[str]:
        """The rows that hold at least one of ``terms``, each once."""
        seen: set[str] = set()
        for term in terms:
            for key in self._postings.get(term, ()):
                if key not in seen:
                    seen.add(key)
                    yield key
