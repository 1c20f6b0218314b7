"""Full-text search over one vector index: the segments' text indexes, the tail's, exact statistics.

For each searchable key, the live documents are the rows of every attached segment that have
text for the key and are not deleted, plus the tail's. BM25 needs three statistics over them:
how many (N), their token total (for the mean length) and, per term, how many hold it (df).
tantivy cannot give them: each segment's index counts its own rows only, deleted ones
included, for good. So this module keeps them exact:

- a segment contributes what its text index holds (written at build, when nothing was
  deleted) minus what its deleted rows held: a :class:`TermStatistics` per segment and key,
  added to when a row is deleted (its text re-analyzed), and filled at attach time for the
  rows the deletion mask already marks;
- the tail contributes its own, kept as writes apply (:class:`TailText`).

A query adds these up (N and the token total per part, df per query term: one tantivy
``doc_freq`` per segment), so a query sees statistics that match exactly the rows it sees, and
an acknowledged delete or overwrite counts at once.

A search (:meth:`TextIndex.search`) scores the tail's matching rows exactly, then each segment
through tantivy: one ``should`` clause per query term, boosted by idf_index / idf_segment, so
tantivy ranks with the index's idf; only the mean length still differs, which moves a row's
score by a factor between 1 and max(1, avgdl_index / avgdl_segment). Hits come in tantivy's
order and are rescored exactly (:func:`text_scoring.score`, from the row's text); a segment is
left once its next hit, times that factor, cannot reach the k-th exact score found (the
threshold rule of Fagin's algorithm), so the top k is exact whatever the layout. Ties go to the
smaller vector key, as in the reference, so the order is total and layout-free too.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from pgs3v.store.engine.text_analyzers import analyzer
from pgs3v.store.engine.text_scoring import QueryStatistics, TermStatistics, idf, score
from pgs3v.store.engine.text_segment import SegmentText, build_segment_text, is_built, searchable_text
from pgs3v.store.engine.text_tail import TailText

BoolArray = npt.NDArray[np.bool_]
Metadata = Mapping[str, Any] | None

# tantivy scores in float32 and rounds its boosts so; a relative margin far above that error
# keeps the threshold rule from stopping one hit too early.
_SLACK = 1e-4
# A filter that leaves at most this many live rows in a segment: score them straight from their
# text rather than paging through tantivy's hits for them (as the vector path scans few rows).
SCAN_ROWS = 256
# The first page of a segment's hits holds max(this, 2k); each next page is twice the last.
FIRST_PAGE = 16


class KeyBuilding(Exception):
    """A search on a key whose text index some segment still lacks (status BUILDING)."""


@dataclass(frozen=True)
class TextHit:
    """A row found by a text search: its vector key, exact BM25 score, and where it lives."""

    key: str
    score: float
    segment: str | None  # None: the tail
    row: int | None  # the row's number in its segment


@dataclass(frozen=True)
class Allowed:
    """The rows a filter leaves: a mask per segment (a segment not named: none) and the tail's keys."""

    segments: Mapping[str, BoolArray]
    tail: Set[str]


@dataclass(frozen=True)
class SegmentSource:
    """A segment to search: its directory, and how to read a row's vector key and metadata."""

    name: str
    directory: Path
    rows: int
    key_of: Callable[[int], str]
    metadata_of: Callable[[int], Metadata]
    deleted: BoolArray | None = None  # rows already deleted or overwritten (its deletion mask)


@dataclass
class _Segment:
    name: str
    directory: Path
    texts: dict[str, SegmentText]  # per searchable key whose text index the segment has
    key_of: Callable[[int], str]
    metadata_of: Callable[[int], Metadata]
    deleted: BoolArray
    removed: dict[str, TermStatistics] = field(default_factory=dict)  # what its deleted rows held


class _Ranked:
    """A hit in the top-k heap, where the worst (lowest score, then largest key) sorts first."""

    __slots__ = ("hit",)

    def __init__(self, hit: TextHit) -> None:
        self.hit = hit

    def __lt__(self, other: _Ranked) -> bool:
        return (self.hit.score, other.hit.key) < (other.hit.score, self.hit.key)


class _Best:
    """The k best hits offered so far."""

    def __init__(self, k: int) -> None:
        self.k = k
        self._heap: list[_Ranked] = []

    def offer(self, hit: TextHit) -> None:
        if len(self._heap) < self.k:
            heapq.heappush(self._heap, _Ranked(hit))
        elif self._heap[0] < _Ranked(hit):
            heapq.heapreplace(self._heap, _Ranked(hit))

    def threshold(self) -> float | None:
        """The k-th best score, once there are k hits."""
        return self._heap[0].hit.score if len(self._heap) == self.k else None

    def ranked(self) -> list[TextHit]:
        return [entry.hit for entry in sorted(self._heap, reverse=True)]


class TextIndex:
    """The full-text state of one vector index: its searchable keys over segments and tail."""

    def __init__(self, languages: Mapping[str, str | None], *, scan_rows: int = SCAN_ROWS,
                 first_page: int = FIRST_PAGE) -> None:
        """``languages``: each searchable key with its language (None: the standard analyzer)."""
        self.languages = dict(languages)
        self._scan_rows, self._first_page = scan_rows, first_page
        self._segments: dict[str, _Segment] = {}
        self._tail = {key: TailText() for key in self.languages}
        self._lock = threading.RLock()

    def build_segment(self, directory: Path, metadata: Sequence[Metadata]) -> None:
        """Write every searchable key's text index into a new segment whose row ``i`` has ``metadata[i]``."""
        for key, language in self.languages.items():
            build_segment_text(directory, key, language, [searchable_text(m, key) for m in metadata])

    def attach_segment(self, source: SegmentSource) -> None:
        """Search one more segment (at open: each segment the manifest names, with its deletion mask)."""
        self.publish(added=[source])

    def publish(self, added: Sequence[SegmentSource] = (), removed: Sequence[str] = (),
                folded: Sequence[str] = ()) -> None:
        """One indexer step, seen whole by every search: segments ``added`` searched, segments ``removed``
        (merged away) no longer, and the tail rows ``folded`` into the added segments gone from the tail.

        The new segments are opened (and their deleted rows subtracted) before the lock is taken, so
        a search never sees a row twice, or not at all, while a fold or merge lands.
        """
        parts = [self._opened(source) for source in added]
        with self._lock:
            for part in parts:
                self._segments[part.name] = part
            for name in removed:
                del self._segments[name]
            for vector_key in folded:
                for tail in self._tail.values():
                    tail.remove(vector_key)

    def _opened(self, source: SegmentSource) -> _Segment:
        # A segment written before a key was added has no text index for it until the backfill.
        texts = {key: SegmentText(source.directory, key) for key in self.languages if is_built(source.directory, key)}
        part = _Segment(source.name, source.directory, texts, source.key_of, source.metadata_of,
                        np.zeros(source.rows, dtype=np.bool_), {key: TermStatistics() for key in texts})
        if source.deleted is not None:
            self._subtract(part, np.flatnonzero(source.deleted).tolist())
        return part

    def detach_segment(self, name: str) -> None:
        """Stop searching segment ``name`` (the index is closing, or it was dropped)."""
        self.publish(removed=[name])

    def delete_segment_rows(self, name: str, rows: Sequence[int]) -> None:
        """Rows of segment ``name`` were deleted or overwritten: they leave the results and the statistics."""
        with self._lock:
            self._subtract(self._segments[name], rows)

    def _subtract(self, part: _Segment, rows: Sequence[int]) -> None:
        for row in rows:
            if part.deleted[row]:
                continue
            part.deleted[row] = True
            self._forget(part, row, part.texts)

    def _forget(self, part: _Segment, row: int, keys: Iterable[str]) -> None:
        """Take deleted ``row`` out of its segment's statistics for ``keys``."""
        metadata = part.metadata_of(row)
        for key in keys:
            text = searchable_text(metadata, key)
            if text:
                # Counted as a document removed: the same terms the build counted it with.
                part.removed[key].add(analyzer(self.languages[key])(text))

    def add_key(self, key: str, language: str | None, tail: Iterable[tuple[str, Metadata]]) -> None:
        """Make ``key`` searchable (BUILDING): the tail's rows ``tail`` analyzed now, every later write too.

        The segments have no text index for it yet; :meth:`backfill` attaches each one's, and the
        key can be searched once none is missing (:meth:`building`). Call it with writes held off
        (the index's write lock), so that ``tail`` is the tail until it returns.
        """
        table = TailText()
        analyze = analyzer(language)
        for vector_key, metadata in tail:
            text = searchable_text(metadata, key)
            table.put(vector_key, analyze(text) if text else [])
        with self._lock:
            self.languages[key] = language
            self._tail[key] = table

    def backfill(self, name: str, key: str) -> None:
        """Segment ``name``'s text index for ``key`` is built (:func:`build_segment_text`): search it."""
        with self._lock:
            part = self._segments[name]
        text = SegmentText(part.directory, key)
        with self._lock:
            part.removed[key] = TermStatistics()
            for row in np.flatnonzero(part.deleted).tolist():
                self._forget(part, row, [key])
            part.texts[key] = text

    def building(self, key: str) -> bool:
        """Some segment still lacks ``key``'s text index: the key cannot be searched yet."""
        with self._lock:
            return any(key not in part.texts for part in self._segments.values())

    def drop_key(self, key: str) -> None:
        """``key`` is no longer searchable (its files go with the segments' next rewrite)."""
        with self._lock:
            del self.languages[key], self._tail[key]
            for part in self._segments.values():
                part.texts.pop(key, None)
                part.removed.pop(key, None)

    def put(self, vector_key: str, metadata: Metadata) -> None:
        """The tail's row ``vector_key`` was written (or overwritten) with ``metadata``."""
        with self._lock:
            for key, language in self.languages.items():
                text = searchable_text(metadata, key)
                self._tail[key].put(vector_key, analyzer(language)(text) if text else [])

    def remove(self, vector_key: str) -> None:
        """The tail's row ``vector_key`` was deleted, or moved into a segment by a fold."""
        with self._lock:
            for tail in self._tail.values():
                tail.remove(vector_key)

    def statistics(self, key: str, terms: Set[str] = frozenset()) -> QueryStatistics:
        """The live statistics of searchable ``key``, with the document frequency of ``terms``."""
        with self._lock:
            if self.building(key):
                raise KeyBuilding(f"searchable key {key!r} is still being built")
            tail = self._tail[key].statistics
            documents, tokens = tail.documents, tail.tokens
            frequencies = {term: tail.frequencies.get(term, 0) for term in terms}
            for part in self._segments.values():
                text, removed = part.texts[key], part.removed[key]
                documents += text.documents - removed.documents
                tokens += text.tokens - removed.tokens
                for term in terms:
                    frequencies[term] += text.document_frequency(term) - removed.frequencies.get(term, 0)
            return QueryStatistics(documents, tokens, frequencies)

    def search(self, key: str, text: str, k: int, allowed: Allowed | None = None) -> list[TextHit]:
        """The ``k`` live rows that score best for ``text`` on ``key``, best first, ties by vector key.

        Raises :class:`KeyBuilding` while some segment still lacks the key's text index.
        """
        with self._lock:
            query = analyzer(self.languages[key])(text)
            statistics = self.statistics(key, set(query))
            query = [term for term in query if statistics.frequencies[term] > 0]
            if not query or k <= 0:
                return []
            best = _Best(k)
            tail = self._tail[key]
            for vector_key in tail.matching(set(query)):
                if allowed is None or vector_key in allowed.tail:
                    best.offer(TextHit(vector_key, score(query, tail.terms(vector_key), statistics), None, None))
            for part in self._segments.values():
                mask = None if allowed is None else allowed.segments.get(part.name)
                if allowed is not None and mask is None:
                    continue
                self._search_segment(part, key, query, statistics, best, mask)
            return best.ranked()

    def _search_segment(
        self, part: _Segment, key: str, query: list[str], statistics: QueryStatistics, best: _Best,
        mask: BoolArray | None,
    ) -> None:
        analyze = analyzer(self.languages[key])

        def offer(row: int) -> None:
            text = searchable_text(part.metadata_of(row), key)
            terms = analyze(text) if text else []
            if not set(query).isdisjoint(terms):
                best.offer(TextHit(part.key_of(row), score(query, terms, statistics), part.name, row))

        if mask is not None:
            live = np.flatnonzero(mask & ~part.deleted)
            if len(live) <= self._scan_rows:
                for row in live.tolist():
                    offer(row)
                return
        held = part.texts[key]
        boosts = []
        for term in query:
            frequency = held.document_frequency(term)
            if frequency:
                boosts.append((term, statistics.idf(term) / idf(frequency, held.documents)))
        if not boosts:
            return
        # With the idf boosts, tantivy's score differs from the exact one only by the mean length.
        factor = max(1.0, statistics.average_length / held.average_length) * (1 + _SLACK)
        offset, limit = 0, max(self._first_page, 2 * best.k)
        seen: set[int] = set()
        while True:
            candidates = held.candidates(boosts, offset, limit)
            for candidate in candidates:
                row = candidate.row
                if row in seen or part.deleted[row] or (mask is not None and not mask[row]):
                    continue
                seen.add(row)
                offer(row)
            if len(candidates) < limit:
                return
            threshold = best.threshold()
            if threshold is not None and candidates[-1].score * factor < threshold:
                return
            offset, limit = offset + limit, 2 * limit
