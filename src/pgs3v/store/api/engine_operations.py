"""Operations of this store beyond the S3 Vectors API: watch and drive an index's indexer.

They are served like API operations (``POST /Pgs3vDescribeIndexEngine`` with a SigV4-signed
JSON body naming the index as the API does: ``indexArn``, or ``vectorBucketName`` and
``indexName``), so the same clients and credentials reach them; the ``Pgs3v`` prefix keeps
them apart from any operation AWS may add.

- ``Pgs3vDescribeIndexEngine``: how far indexing lags the log (unindexed rows, the indexed and
  applied log positions), the segments, whether the layout is ``settled`` (nothing left to fold
  or merge), and the indexer's last error.
- ``Pgs3vOptimizeIndex``: fold the unindexed rows and settle the segments now (the layout the
  indexer reaches by itself once writes pause); returns when done, with the description.
"""

from __future__ import annotations

from typing import Any

from pgs3v.store.api.errors import ValidationException
from pgs3v.store.api.state import StoreState

Request = dict[str, Any]
Response = dict[str, Any]


def _index_request(request: Any) -> Request:
    if not isinstance(request, dict):
        raise ValidationException("The request body must be a JSON object")
    for name in ("indexArn", "vectorBucketName", "indexName"):
        if name in request and not isinstance(request[name], str):
            raise ValidationException.for_field(f"/{name}", f"{name} must be a string")
    return request


def describe_index_engine(state: StoreState, request: Any) -> Response:
    """The index's indexing state."""
    record = state.index(_index_request(request))
    with state.using(record) as opened:
        return {"indexArn": state.index_arn(record), "engine": opened.stats()}


def optimize_index(state: StoreState, request: Any) -> Response:
    """Fold and settle the index now, then describe it."""
    record = state.index(_index_request(request))
    with state.using(record) as opened:
        opened.optimize()
    return describe_index_engine(state, request)


OPERATIONS = {
    "Pgs3vDescribeIndexEngine": describe_index_engine,
    "Pgs3vOptimizeIndex": optimize_index,
}
