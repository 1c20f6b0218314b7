"""A TextIndex driven as the engine will drive it, with the reference BM25 over the same live rows.

:class:`TextLayout` keeps rows by vector key, puts new ones in the tail, folds the tail into a
segment, merges segments, and deletes or overwrites rows wherever they live (a segment row is
marked deleted, as a deletion mask would). :meth:`TextLayout.reference` is
``tests/reference/bm25.py`` over the live rows only, which any layout must match.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from pgs3v.store.engine.text_analyzers import analyze
from pgs3v.store.engine.text_index import Allowed, SegmentSource, TextHit, TextIndex
from pgs3v.store.engine.text_segment import searchable_text
from tests.reference.bm25 import Bm25, lucene_length

Metadata = Mapping[str, Any] | None
TOLERANCE = 1e-5


@dataclass
class SegmentFiles:
    """A segment as the layout wrote it: its rows' keys and metadata, and its deletion mask."""

    directory: Path
    keys: list[str]
    metadata: list[Metadata]
    deleted: npt.NDArray[np.bool_]


class TextLayout:
    """Rows spread over segments and a tail, through a :class:`TextIndex`."""

    def __init__(self, root: Path, languages: Mapping[str, str | None], **tuning: int) -> None:
        """``tuning``: TextIndex's ``scan_rows`` and ``first_page``, small to make every path run."""
        self.root, self.languages, self._tuning = root, dict(languages), tuning
        self.index = TextIndex(languages, **tuning)
        self.live: dict[str, Metadata] = {}
        self.tail: set[str] = set()
        self.segments: dict[str, SegmentFiles] = {}
        self._where: dict[str, tuple[str, int]] = {}  # a segment row's key: (segment, row)
        self._written = 0

    def put(self, key: str, metadata: Metadata) -> None:
        """Write (or overwrite) ``key``: into the tail, its old row deleted wherever it was."""
        self._kill(key)
        self.index.put(key, metadata)
        self.tail.add(key)
        self.live[key] = metadata

    def delete(self, key: str) -> None:
        """Delete ``key`` wherever it lives."""
        self._kill(key)
        self.live.pop(key, None)

    def _kill(self, key: str) -> None:
        if key in self.tail:
            self.tail.discard(key)
            self.index.remove(key)
        elif key in self._where:
            name, row = self._where.pop(key)
            self.segments[name].deleted[row] = True
            self.index.delete_segment_rows(name, [row])

    def _written_segment(self, keys: Sequence[str]) -> SegmentSource:
        """Write live ``keys`` into a new segment's files (the indexer's build step)."""
        self._written += 1
        name = f"seg-{self._written}"
        directory = self.root / name
        directory.mkdir(parents=True)
        metadata = [self.live[key] for key in keys]
        self.index.build_segment(directory, metadata)
        files = SegmentFiles(directory, list(keys), metadata, np.zeros(len(keys), dtype=np.bool_))
        self.segments[name] = files
        for row, key in enumerate(keys):
            self._where[key] = (name, row)
        return SegmentSource(name, directory, len(keys), files.keys.__getitem__, files.metadata.__getitem__)

    def fold(self, count: int | None = None) -> None:
        """Move the first ``count`` tail rows by key (all by default) into a new segment."""
        moved = sorted(self.tail)[:count]
        if not moved:
            return
        source = self._written_segment(moved)
        self.tail.difference_update(moved)
        self.index.publish(added=[source], folded=moved)

    def merge(self, names: Iterable[str]) -> None:
        """Replace segments ``names`` by one holding their live rows."""
        names = list(names)
        kept = [key for name in names for key, dead in zip(self.segments[name].keys, self.segments[name].deleted,
                                                            strict=True) if not dead]
        added = [self._written_segment(kept)] if kept else []
        for name in names:
            del self.segments[name]
        self.index.publish(added=added, removed=names)

    def reopened(self) -> TextIndex:
        """A new TextIndex over the same files and deletion masks, with the tail put back (a restart)."""
        index = TextIndex(self.languages, **self._tuning)
        for name, files in self.segments.items():
            index.attach_segment(SegmentSource(name, files.directory, len(files.keys), files.keys.__getitem__,
                                               files.metadata.__getitem__, files.deleted.copy()))
        for key in sorted(self.tail):
            index.put(key, self.live[key])
        return index

    def allowed(self, keys: set[str]) -> Allowed:
        """The filter that leaves exactly ``keys``."""
        masks = {name: np.array([key in keys for key in files.keys], dtype=np.bool_)
                 for name, files in self.segments.items()}
        return Allowed(masks, self.tail & keys)

    def reference(self, key: str) -> Bm25:
        """The reference BM25 of searchable ``key`` over the live rows."""
        return reference_bm25(self.live, key, self.languages[key])


def reference_bm25(live: Mapping[str, Any], key: str, language: str | None) -> Bm25:
    """The reference BM25 of searchable ``key`` over ``live`` (vector key -> metadata), analyzed as the store does."""
    documents = {}
    for vector_key, metadata in live.items():
        text = searchable_text(metadata, key)
        terms = analyze(text, language) if text else []
        if terms:
            documents[vector_key] = terms
    return Bm25(documents, length=lucene_length)


def close(engine: float, reference: float) -> bool:
    """Equal within the tolerance (relative, or absolute below 1)."""
    return math.isclose(engine, reference, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def assert_same_as_reference(hits: Sequence[TextHit], reference: Bm25, query: str, language: str | None,
                             k: int, allowed: set[str] | None = None) -> None:
    """``hits`` are the reference's top ``k`` (among ``allowed``): the same keys, in the same order, scores."""
    scores = reference.scores(analyze(query, language))
    # A filter narrows the rows ranked, never the statistics (they stay the index's).
    kept = [(key, score) for key, score in scores.items() if allowed is None or key in allowed]
    expected = sorted(kept, key=lambda item: (-item[1], item[0]))[:k]
    assert [hit.key for hit in hits] == [key for key, _ in expected], query
    for hit, (_, score) in zip(hits, expected, strict=True):
        assert close(hit.score, score), (query, hit, score)
