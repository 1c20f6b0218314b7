"""Where a QueryVectors walk stands between pages: read from a nextToken, written into the next.

One token shape serves every kind of query (vector, full-text, hybrid): the query's fingerprint,
how many results the earlier pages returned, the last one's ranking value (a distance, or a score)
and key, when the first page ran (tokens expire from then), and, for text and hybrid walks, the
session under which the store keeps the ranking (:mod:`pgs3v.store.api.rankings`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from pgs3v.store.api.errors import ValidationException
from pgs3v.store.api.state import StoreState

Request = dict[str, Any]

# The fields AWS says a nextToken belongs to: "Continue making QueryVectors requests with the same
# queryVector, topK, filter, and queryMode parameters" (user guide, Querying vectors). returnMetadata,
# returnDistance and returnScores are not among them: they shape each page, not the ranking.
TOKEN_BOUND_FIELDS = ("queryVector", "queryTexts", "topK", "filter", "queryMode")


def query_fingerprint(request: Request) -> str:
    """A short digest of the fields a nextToken is bound to."""
    fields = {name: request.get(name) for name in TOKEN_BOUND_FIELDS}
    return hashlib.sha256(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)).hexdigest()[:24]


@dataclass(frozen=True)
class Cursor:
    """A walk's position: results returned so far, the last one's (value, key), its first page's time."""

    purpose: str
    returned: int
    after: tuple[float, str] | None
    started: float
    session: str | None = None

    def next_token(self, state: StoreState, request: Request, page: int, last: tuple[float, str],
                   session: str | None = None) -> str:
        """The token of the page after this one, which returned ``page`` results ending at ``last``."""
        cursor: dict[str, Any] = {"q": query_fingerprint(request), "n": self.returned + page, "d": last[0],
                                  "k": last[1], "t": self.started}
        if session is not None:
            cursor["s"] = session
        return state.tokens.encode(self.purpose, cursor)


def resume(state: StoreState, purpose: str, request: Request) -> Cursor:
    """The cursor of the request's nextToken (checked: signed, same query, not expired), or the start."""
    if not request.get("nextToken"):
        return Cursor(purpose, 0, None, state.clock())
    token = state.tokens.decode(purpose, request["nextToken"])
    if token.get("q") != query_fingerprint(request):
        raise ValidationException.for_field(
            "/nextToken", "The provided token belongs to a different query: send the same queryVector, "
            "queryTexts, topK, filter and queryMode as the request that returned it")
    started = float(token["t"])
    # Counted from the first page, not the last, as AWS counts "after the query is executed".
    if state.clock() > started + 60 * state.limits.query_token_minutes:
        raise ValidationException.for_field(
            "/nextToken", "The provided token has expired: send the query again without a nextToken")
    session = token.get("s")
    return Cursor(purpose, int(token["n"]), (float(token["d"]), str(token["k"])), started,
                  str(session) if session is not None else None)
