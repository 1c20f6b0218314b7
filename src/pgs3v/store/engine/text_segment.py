"""One searchable key's text index inside one immutable segment: tantivy's files plus its statistics.

``segments/seg-N/text-<key as hex>/`` holds a tantivy index with one document per row that has
text for the key (a ``row`` fast field, the row's number in the segment, and the analyzed
terms) and ``text.json``, written last: the key, its language, the segment's row count and the
statistics of the documents held (how many, their token total). A directory without
``text.json`` is an unfinished build. The index is built under a temporary name and renamed
into place, so a reader sees it whole or not at all.

Rows without text, or whose text analyzes to no term, are left out: tantivy's document count
is then the number of rows that have the key, which is the BM25 statistic wanted. The terms go
in pre-tokenized, from :mod:`text_analyzers`, so tantivy holds exactly what the engine scores,
whatever the language (lindera's segments for zh, ja, ko included).

Nothing here changes after the build: deletes and overwrites of the segment's rows are the
caller's (the segment's deletion mask), and their share of the statistics is subtracted by
:class:`pgs3v.store.engine.text_index.TextIndex`.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import tantivy

from pgs3v.durable_files import fsync_directory, write_file_atomically
from pgs3v.store.engine.text_analyzers import analyzer

_FORMAT = 1
_DESCRIPTOR = "text.json"
_FIELD = "text"
_ROW = "row"
_WRITER_HEAP = 64_000_000  # tantivy's buffer before it flushes a segment of its own


def searchable_text(metadata: Mapping[str, Any] | None, key: str) -> str | None:
    """The text a row holds for a searchable ``key``: a string, or a list of strings joined; else none."""
    value = None if metadata is None else metadata.get(key)
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return " ".join(value)
    return None


def text_directory(segment: Path, key: str) -> Path:
    """Where ``key``'s text index lives in a segment (the key hex-encoded: any character is allowed)."""
    return segment / f"text-{key.encode('utf-8').hex()}"


def is_built(segment: Path, key: str) -> bool:
    """``key``'s text index in ``segment`` was written to the end."""
    return (text_directory(segment, key) / _DESCRIPTOR).is_file()


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field(_ROW, fast=True)
    # "freq": BM25 needs term frequencies and the field's lengths, never positions.
    builder.add_text_field(_FIELD, tokenizer_name="raw", index_option="freq")
    return builder.build()


def build_segment_text(segment: Path, key: str, language: str | None, texts: Sequence[str | None]) -> None:
    """Write ``key``'s text index for a segment whose row ``i`` has text ``texts[i]`` (None: no text)."""
    final = text_directory(segment, key)
    partial = final.with_name(final.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)  # left by an interrupted build
    partial.mkdir()
    analyze = analyzer(language)
    index = tantivy.Index(_schema(), path=str(partial))
    index.config_reader("Manual")  # see SegmentText
    writer = index.writer(heap_size=_WRITER_HEAP, num_threads=1)
    documents = tokens = 0
    for row, text in enumerate(texts):
        terms = analyze(text) if text else []
        if not text or not terms:
            continue
        document = tantivy.Document()
        document.add_integer(_ROW, row)
        # Offsets only matter to snippets, which are not served: each term gets its own position.
        document.add_pre_tokenized_text(_FIELD, tantivy.PreTokenizedString(
            text, [tantivy.Token(term, position, 0, 0) for position, term in enumerate(terms)]))
        writer.add_document(document)
        documents += 1
        tokens += len(terms)
    writer.commit()  # fsyncs tantivy's files and its meta.json
    writer.wait_merging_threads()
    descriptor = {"format": _FORMAT, "key": key, "language": language, "rows": len(texts),
                  "documents": documents, "tokens": tokens}
    write_file_atomically(partial / _DESCRIPTOR, orjson.dumps(descriptor))
    if final.exists():
        shutil.rmtree(final)  # a rebuild (a backfill restarted after it had finished)
    partial.rename(final)
    fsync_directory(segment)


@dataclass(frozen=True)
class Candidate:
    """A row tantivy found, with tantivy's score (an approximation of the exact one)."""

    row: int
    score: float


class SegmentText:
    """``key``'s text index in one segment, opened for searching."""

    def __init__(self, segment: Path, key: str) -> None:
        directory = text_directory(segment, key)
        descriptor = orjson.loads((directory / _DESCRIPTOR).read_bytes())
        if descriptor.get("format") != _FORMAT or descriptor.get("key") != key:
            raise ValueError(f"{directory}: not a text index of format {_FORMAT} for this key")
        self.key = key
        self.language: str | None = descriptor["language"]
        self.rows: int = descriptor["rows"]
        self.documents: int = descriptor["documents"]  # rows with text, deleted ones included
        self.tokens: int = descriptor["tokens"]
        self._index = tantivy.Index.open(str(directory))
        # tantivy's default reader reloads when meta.json changes, taking a lock file in the
        # directory: nothing to reload in an index that never changes, and once (in 500 random
        # histories) a file appeared while a test removed the directory. tantivy still keeps one
        # thread per open index polling meta.json (its directory watcher), freed with the index.
        self._index.config_reader("Manual")
        self._schema = self._index.schema
        self._searcher = self._index.searcher()  # the index never changes: one searcher for good

    @property
    def average_length(self) -> float:
        """The mean length of the documents tantivy holds: the one its scores are normalised by."""
        return self.tokens / self.documents if self.documents else 0.0

    def document_frequency(self, term: str) -> int:
        """How many of the segment's rows (deleted ones included) hold ``term``."""
        return int(self._searcher.doc_freq(_FIELD, term))

    def candidates(self, boosts: Sequence[tuple[str, float]], offset: int, limit: int) -> list[Candidate]:
        """Hits ``offset`` to ``offset + limit`` in tantivy's order, one optional clause per (term, boost)."""
        clauses = [(tantivy.Occur.Should, tantivy.Query.boost_query(
            tantivy.Query.term_query(self._schema, _FIELD, term, index_option="freq"), boost))
            for term, boost in boosts]
        hits = self._searcher.search(tantivy.Query.boolean_query(clauses), limit=limit, offset=offset,
                                     count=False).hits
        rows = self._searcher.fast_field_values(_ROW, [address for _, address in hits])
        return [Candidate(int(row), float(score)) for (score, _), row in zip(hits, rows, strict=True)
                if row is not None]
