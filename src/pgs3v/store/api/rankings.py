"""Text and hybrid rankings kept between the pages of one QueryVectors walk.

Why keep them: a distance belongs to one vector, so a cursor (the last distance and key) tells
the next page where to go on even after writes. A BM25 or RRF score does not: a write anywhere
moves the index's statistics (N, df, mean length) or every later rank, so the scores of rows an
earlier page returned can fall below the cursor and those rows would come again. The ranking the
first page computed is therefore kept here, under a session the token names, and later pages are
cut from it: no repeat and no skip, whatever is written meanwhile (a row deleted since is left
out). When the session is gone (expired, evicted, a restart, another server or worker), the page
recomputes the ranking and continues after the cursor: exact on an unchanged index, and only
then as exact as AWS promises ("writes between page retrievals" may change results).
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Ranked:
    """One result of a text or hybrid ranking: its key, the score it is ranked by, its QueryScores."""

    key: str
    score: float
    scores: dict[str, Any]


# Results kept over all sessions: a few walks of topK 10,000 or hundreds of shorter ones; each
# result costs a few hundred bytes here, so this bounds the cache to tens of megabytes.
MAX_KEPT_RESULTS = 50_000


@dataclass
class _Session:
    index: str  # the index's storage id: a session never serves an index re-created under its name
    expires: float
    ranking: list[Ranked]


class RankingCache:
    """Rankings by session, least recently used evicted first, each dropped when its tokens expire."""

    def __init__(self, max_results: int = MAX_KEPT_RESULTS) -> None:
        self._max_results = max_results
        self._sessions: OrderedDict[str, _Session] = OrderedDict()
        self._kept = 0
        self._lock = threading.Lock()

    def keep(self, index: str, ranking: list[Ranked], expires: float, session: str | None = None) -> str:
        """Keep ``ranking`` of ``index`` until ``expires``; the session that names it (new unless given)."""
        session = session or secrets.token_hex(8)
        with self._lock:
            self._drop(session)
            if len(ranking) > self._max_results:
                return session  # never kept: its pages recompute
            self._sessions[session] = _Session(index, expires, ranking)
            self._kept += len(ranking)
            while self._kept > self._max_results:
                self._drop(next(iter(self._sessions)))
        return session

    def ranking(self, index: str, session: str, now: float) -> list[Ranked] | None:
        """The ranking kept under ``session`` for ``index``, or None when it is not (or no longer) here."""
        with self._lock:
            for name in [name for name, kept in self._sessions.items() if kept.expires < now]:
                self._drop(name)
            kept = self._sessions.get(session)
            if kept is None or kept.index != index:
                return None
            self._sessions.move_to_end(session)
            return kept.ranking

    def forget(self, session: str) -> None:
        """Drop ``session`` (its walk has ended)."""
        with self._lock:
            self._drop(session)

    def clear(self) -> None:
        """Drop every session (as a restart would)."""
        with self._lock:
            self._sessions.clear()
            self._kept = 0

    def _drop(self, session: str) -> None:
        kept = self._sessions.pop(session, None)
        if kept is not None:
            self._kept -= len(kept.ranking)
