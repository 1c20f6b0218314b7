"""Random sequences of writes, restarts and queries, checked against an exact oracle."""

from __future__ import annotations

import itertools
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pgs3v.store.api.arns import ArnScope
from pgs3v.store.api.limits import Limits
from pgs3v.store.api.service import VectorStore

DIMENSION = 4
KEYS = [f"k{i}" for i in range(30)]
COLORS = ["red", "green", "blue"]

coordinates = st.floats(min_value=-4, max_value=4, allow_nan=False, width=32).map(lambda x: round(x, 1))
vectors = st.lists(coordinates, min_size=DIMENSION, max_size=DIMENSION).filter(lambda v: any(v))
metadata = st.fixed_dictionaries(
    {},
    optional={
        "color": st.sampled_from(COLORS),
        "n": st.integers(-3, 3) | st.floats(-3, 3, allow_nan=False).map(lambda x: round(x, 1)),
        "tags": st.lists(st.sampled_from([*COLORS, "x"]), max_size=3),
        "note": st.text(max_size=5),
    },
)
leaf_filters = st.one_of(
    st.sampled_from(COLORS).map(lambda c: {"color": c}),
    st.sampled_from(COLORS).map(lambda c: {"color": {"$ne": c}}),
    st.integers(-3, 3).map(lambda n: {"n": {"$gte": n}}),
    st.floats(-3, 3, allow_nan=False).map(lambda x: {"n": {"$lt": round(x, 1)}}),
    st.lists(st.sampled_from([*COLORS, "x"]), min_size=1, max_size=2).map(lambda v: {"tags": {"$in": v}}),
    st.lists(st.sampled_from(COLORS), min_size=1, max_size=2).map(lambda v: {"color": {"$nin": v}}),
    st.booleans().map(lambda b: {"note": {"$exists": b}}),
)
filters = st.recursive(
    leaf_filters,
    lambda inner: st.lists(inner, min_size=1, max_size=3).flatmap(
        lambda parts: st.sampled_from([{"$and": parts}, {"$or": parts}])),
    max_leaves=4,
)


def _values(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def matches(document: dict[str, Any], row: dict[str, Any]) -> bool:
    """The filter semantics of the API, one row at a time."""
    for field, condition in document.items():
        if field == "$and":
            if not all(matches(part, row) for part in condition):
                return False
            continue
        if field == "$or":
            if not any(matches(part, row) for part in condition):
                return False
            continue
        if not isinstance(condition, dict):
            condition = {"$eq": condition}
        present = field in row
        values = _values(row.get(field))
        for operator, operand in condition.items():
            if operator == "$exists":
                ok = present == operand
            elif operator == "$eq":
                ok = present and operand in values
            elif operator == "$ne":
                ok = present and operand not in values
            elif operator == "$in":
                ok = present and any(v in values for v in operand)
            elif operator == "$nin":
                ok = present and not any(v in values for v in operand)
            else:
                compare = {"$gt": float.__gt__, "$gte": float.__ge__, "$lt": float.__lt__, "$lte": float.__le__}
                ok = present and any(_number(v) and compare[operator](float(v), float(operand)) for v in values)
            if not ok:
                return False
    return True


def cosine_distance(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return 1.0 - dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


class StoreAgainstOracle(RuleBasedStateMachine):
    """The store must always agree with a dictionary of key -> (vector, metadata)."""

    metric = "cosine"

    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="pgs3v-oracle-"))
        self.store = self._open()
        self.store.call("CreateVectorBucket", {"vectorBucketName": "oracle"})
        self.store.call("CreateIndex", {"vectorBucketName": "oracle", "indexName": "cosine", "dataType": "float32",
                                        "dimension": DIMENSION, "distanceMetric": self.metric})
        self.index = {"vectorBucketName": "oracle", "indexName": "cosine"}
        self.model: dict[str, tuple[list[float], dict[str, Any]]] = {}

    def _open(self) -> VectorStore:
        # Pages of 5, so that a topK up to 12 is often walked across pages by nextToken.
        return VectorStore(self.directory, limits=Limits(query_page_size=5), scope=ArnScope(), token_secret=b"oracle")

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    @rule(batch=st.lists(st.tuples(st.sampled_from(KEYS), vectors, metadata), min_size=1, max_size=6))
    def put(self, batch: list[tuple[str, list[float], dict[str, Any]]]) -> None:
        self.store.call("PutVectors", {**self.index, "vectors": [
            {"key": k, "data": {"float32": v}, "metadata": m} for k, v, m in batch]})
        for key, vector, meta in batch:
            # The store keeps float32, as S3 Vectors does.
            self.model[key] = ([float(np.float32(x)) for x in vector], meta)

    @rule(keys=st.lists(st.sampled_from(KEYS), min_size=1, max_size=5))
    def delete(self, keys: list[str]) -> None:
        self.store.call("DeleteVectors", {**self.index, "keys": keys})
        for key in keys:
            self.model.pop(key, None)

    @rule()
    def restart(self) -> None:
        self.store.close()
        self.store = self._open()

    @precondition(lambda self: bool(self.model))
    @rule(query=vectors, top_k=st.integers(1, 12), document=st.none() | filters)
    def query(self, query: list[float], top_k: int, document: dict[str, Any] | None) -> None:
        request: dict[str, Any] = {**self.index, "topK": top_k, "queryVector": {"float32": query},
                                   "returnDistance": True, "returnMetadata": True}
        if document is not None:
            request["filter"] = document
        result: list[dict[str, Any]] = []
        page = self.store.call("QueryVectors", request)
        while True:
            assert len(page["vectors"]) <= 5
            result += page["vectors"]
            if "nextToken" not in page:
                break
            assert len(result) < top_k  # a token only while fewer than topK were returned
            page = self.store.call("QueryVectors", {**request, "nextToken": page["nextToken"]})
        eligible = {k: self.distance(query, v) for k, (v, m) in self.model.items()
                    if document is None or matches(document, m)}
        assert len(result) == min(top_k, len(eligible))
        for item in result:
            assert item["key"] in eligible
            assert math.isclose(item["distance"], eligible[item["key"]], abs_tol=1e-5)
            assert item["metadata"] == self.model[item["key"]][1]
        returned = [item["distance"] for item in result]
        # Each page recomputes its distances, so two pages may disagree in the last bits.
        assert all(later >= earlier - 1e-9 for earlier, later in itertools.pairwise(returned))
        assert len({item["key"] for item in result}) == len(result)
        if result:
            # Nothing left out may be nearer than the farthest result returned (ties allowed).
            cutoff = returned[-1]
            returned_keys = {item["key"] for item in result}
            assert all(d >= cutoff - 1e-5 for k, d in eligible.items() if k not in returned_keys)

    def distance(self, a: list[float], b: list[float]) -> float:
        """The metric's distance, computed the plain way."""
        return cosine_distance(a, b)

    @invariant()
    def contents_match(self) -> None:
        listed: dict[str, Any] = {}
        token = None
        while True:
            request: dict[str, Any] = {**self.index, "maxResults": 7, "returnData": True, "returnMetadata": True}
            if token:
                request["nextToken"] = token
            page = self.store.call("ListVectors", request)
            for item in page["vectors"]:
                assert item["key"] not in listed
                listed[item["key"]] = (item["data"]["float32"], item["metadata"])
            token = page.get("nextToken")
            if not token:
                break
        assert listed == self.model


class EuclideanStoreAgainstOracle(StoreAgainstOracle):
    """The same, on a euclidean index (plain L2)."""

    metric = "euclidean"

    def distance(self, a: list[float], b: list[float]) -> float:
        return math.dist(a, b)


_settings = settings(max_examples=40, stateful_step_count=25, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])
StoreAgainstOracle.TestCase.settings = _settings
EuclideanStoreAgainstOracle.TestCase.settings = _settings
test_store_against_oracle = StoreAgainstOracle.TestCase
test_euclidean_store_against_oracle = EuclideanStoreAgainstOracle.TestCase
