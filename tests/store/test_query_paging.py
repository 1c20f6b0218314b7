"""QueryVectors paging as AWS documents it: topK is the total, split into pages by nextToken.

"When topK exceeds the page size, results are returned across multiple pages. [...] Continue making
QueryVectors requests with the same queryVector, topK, filter, and queryMode parameters, passing the
nextToken from each response, until nextToken is no longer present. [...] Pagination tokens remain
valid for several minutes after the query is executed." (S3 user guide, Querying vectors)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pgs3v.store.api.arns import ArnScope
from pgs3v.store.api.errors import ValidationException
from pgs3v.store.api.limits import Limits
from pgs3v.store.api.service import VectorStore
from tests.support import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, StoreProcess, error_of

PAGE = Limits().query_page_size
QUERY = {"float32": [1.0, 0.0, 0.0, 0.0]}


def _fill(s3v: Any, index: dict[str, str], count: int) -> list[str]:
    """``count`` vectors whose distance to QUERY grows with their number; their keys, nearest first."""
    keys = [f"v{i:04d}" for i in range(count)]
    for start in range(0, count, 500):
        s3v.put_vectors(**index, vectors=[
            {"key": key, "data": {"float32": [1.0, (start + i) / 100, 0.0, 0.0]}, "metadata": {"n": start + i}}
            for i, key in enumerate(keys[start:start + 500])])
    return keys


def test_a_top_k_within_the_page_size_is_one_page(s3v: Any, index: dict[str, str]) -> None:
    keys = _fill(s3v, index, 25)
    first = s3v.query_vectors(**index, topK=3, queryVector=QUERY)
    assert [v["key"] for v in first["vectors"]] == keys[:3]
    assert "nextToken" not in first
    pages = list(s3v.get_paginator("query_vectors").paginate(**index, topK=10, queryVector=QUERY))
    assert len(pages) == 1 and [v["key"] for v in pages[0]["vectors"]] == keys[:10]


def test_the_paginator_returns_exactly_top_k_across_pages(s3v: Any, index: dict[str, str]) -> None:
    keys = _fill(s3v, index, 260)
    pages = list(s3v.get_paginator("query_vectors").paginate(**index, topK=230, queryVector=QUERY,
                                                             returnDistance=True))
    assert [len(p["vectors"]) for p in pages] == [PAGE, PAGE, 230 - 2 * PAGE]
    assert [v["key"] for p in pages for v in p["vectors"]] == keys[:230]
    assert "nextToken" not in pages[-1] and all(p["distanceMetric"] == "cosine" for p in pages)
    # Fewer matches than topK: the pages end with the matches.
    short = list(s3v.get_paginator("query_vectors").paginate(**index, topK=1000, queryVector=QUERY,
                                                             filter={"n": {"$lt": 150}}))
    assert [v["key"] for p in short for v in p["vectors"]] == keys[:150]
    assert "nextToken" not in short[-1]
    # Matches that end exactly on a page boundary: no token to an empty page.
    exact = list(s3v.get_paginator("query_vectors").paginate(**index, topK=PAGE * 3, queryVector=QUERY,
                                                             filter={"n": {"$lt": PAGE * 2}}))
    assert [len(p["vectors"]) for p in exact] == [PAGE, PAGE]
    assert [v["key"] for p in exact for v in p["vectors"]] == keys[:PAGE * 2]


def test_a_token_belongs_to_its_query(raw_s3v: Any, s3v: Any, index: dict[str, str], bucket: str) -> None:
    _fill(s3v, index, 150)
    request: dict[str, Any] = {**index, "topK": 120, "queryVector": QUERY, "filter": {"n": {"$gte": 0}}}
    token = s3v.query_vectors(**request)["nextToken"]
    changed: list[dict[str, Any]] = [
        {"queryVector": {"float32": [0.0, 1.0, 0.0, 0.0]}}, {"topK": 121}, {"filter": {"n": {"$gte": 1}}},
        {"queryMode": "ENHANCED"}, {"indexName": "elsewhere"},
    ]
    s3v.create_index(vectorBucketName=bucket, indexName="elsewhere", dataType="float32", dimension=4,
                     distanceMetric="cosine")
    for change in changed:
        code, status, response = error_of(raw_s3v.query_vectors, **{**request, **change}, nextToken=token)
        assert (code, status) == ("ValidationException", 400), change
        assert response["fieldList"][0]["path"] == "/nextToken"
    # What each page returns may change: AWS binds only the ranking's parameters.
    rest = s3v.query_vectors(**request, nextToken=token, returnMetadata=True, returnDistance=True)
    assert len(rest["vectors"]) == 20 and "nextToken" not in rest
    assert all("metadata" in v and "distance" in v for v in rest["vectors"])


def test_top_k_above_the_limit_is_refused(raw_s3v: Any, index: dict[str, str]) -> None:
    code, status, response = error_of(raw_s3v.query_vectors, **index, topK=Limits().max_top_k + 1,
                                      queryVector=QUERY)
    assert (code, status) == ("ValidationException", 400)
    assert response["fieldList"][0]["path"] == "/topK"
    assert "between 1 and 10000" in response["Error"]["Message"]


def test_writes_between_pages_repeat_nothing(s3v: Any, index: dict[str, str]) -> None:
    keys = _fill(s3v, index, 150)
    first = s3v.query_vectors(**index, topK=150, queryVector=QUERY)
    # Nearer than everything on the first page: the next page continues after it, so skips it.
    s3v.put_vectors(**index, vectors=[{"key": "newcomer", "data": QUERY}])
    rest = s3v.query_vectors(**index, topK=150, queryVector=QUERY, nextToken=first["nextToken"])
    walked = [v["key"] for v in first["vectors"] + rest["vectors"]]
    assert "nextToken" not in rest
    # The engine draws a page from the nearest (rows returned before + page size), where the newcomer
    # now takes a place: the walk may end one short, never with a repeat or past topK.
    assert walked == keys[:len(walked)] and len(walked) >= 149


# --- expiry, with an injected clock on an in-process store -----------------------------------------


@pytest.fixture
def local_store() -> Iterator[tuple[VectorStore, list[float]]]:
    """A store with pages of 2 and tokens of 1 minute, and the clock it reads (seconds, settable)."""
    directory = Path(tempfile.mkdtemp(prefix="pgs3v-paging-"))
    store = VectorStore(directory, limits=Limits(query_page_size=2, query_token_minutes=1), scope=ArnScope(),
                        token_secret=b"paging")
    now = [1_000_000.0]
    store.state.clock = lambda: now[0]
    try:
        store.call("CreateVectorBucket", {"vectorBucketName": "paging"})
        store.call("CreateIndex", {"vectorBucketName": "paging", "indexName": "line", "dataType": "float32",
                                   "dimension": 2, "distanceMetric": "euclidean"})
        store.call("PutVectors", {"vectorBucketName": "paging", "indexName": "line", "vectors": [
            {"key": f"k{i}", "data": {"float32": [float(i), 0.0]}} for i in range(10)]})
        yield store, now
    finally:
        store.close()
        shutil.rmtree(directory, ignore_errors=True)


def test_tokens_expire_minutes_after_the_first_page(local_store: tuple[VectorStore, list[float]]) -> None:
    store, now = local_store
    request = {"vectorBucketName": "paging", "indexName": "line", "topK": 7, "queryVector": {"float32": [0.0, 0.0]}}
    pages = [store.call("QueryVectors", request)]
    now[0] += 50
    pages.append(store.call("QueryVectors", {**request, "nextToken": pages[-1]["nextToken"]}))
    now[0] += 9.5  # 59.5 s after the first page: still valid
    pages.append(store.call("QueryVectors", {**request, "nextToken": pages[-1]["nextToken"]}))
    assert [v["key"] for p in pages for v in p["vectors"]] == ["k0", "k1", "k2", "k3", "k4", "k5"]
    now[0] += 1  # a minute after the first page, though 10.5 s after the last
    with pytest.raises(ValidationException, match="expired") as raised:
        store.call("QueryVectors", {**request, "nextToken": pages[-1]["nextToken"]})
    assert raised.value.status == 400
    assert [f.path for f in raised.value.field_list] == ["/nextToken"]
    # Starting again starts a new session.
    again = store.call("QueryVectors", request)
    assert [v["key"] for v in again["vectors"]] == ["k0", "k1"] and again["nextToken"]


def test_the_last_page_stops_at_top_k(local_store: tuple[VectorStore, list[float]]) -> None:
    store, _ = local_store
    request = {"vectorBucketName": "paging", "indexName": "line", "topK": 5, "queryVector": {"float32": [0.0, 0.0]}}
    sizes, token = [], None
    while True:
        page = store.call("QueryVectors", {**request, "nextToken": token} if token else request)
        sizes.append(len(page["vectors"]))
        token = page.get("nextToken")
        if token is None:
            break
    assert sizes == [2, 2, 1]


# --- the real AWS CLI --------------------------------------------------------------------------------


def _aws_cli() -> Path:
    cli = Path(sys.executable).parent / "aws"
    assert cli.exists(), "the aws CLI is a dev dependency: run scripts/setup.sh"
    return cli


def _query_with_cli(store_server: StoreProcess, index: dict[str, str], *options: str) -> dict[str, Any]:
    home = tempfile.mkdtemp(prefix="pgs3v-aws-cli-")
    try:
        environ = {
            "PATH": os.environ.get("PATH", ""), "HOME": home,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "AWS_CONFIG_FILE": str(Path(home) / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(Path(home) / "credentials"),
        }
        completed = subprocess.run(
            [str(_aws_cli()), "s3vectors", "query-vectors", "--endpoint-url", store_server.endpoint,
             "--region", REGION, "--output", "json", "--vector-bucket-name", index["vectorBucketName"],
             "--index-name", index["indexName"], "--query-vector", json.dumps(QUERY), *options],
            env=environ, capture_output=True, text=True, timeout=120, check=False)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    assert completed.returncode == 0, completed.stderr
    answer: dict[str, Any] = json.loads(completed.stdout)
    return answer


def test_the_aws_cli_returns_exactly_top_k(store_server: StoreProcess, s3v: Any, index: dict[str, str]) -> None:
    keys = _fill(s3v, index, 260)
    three = _query_with_cli(store_server, index, "--top-k", "3")
    assert [v["key"] for v in three["vectors"]] == keys[:3]
    # The CLI follows nextToken by itself and prints one merged answer.
    deep = _query_with_cli(store_server, index, "--top-k", "230")
    assert [v["key"] for v in deep["vectors"]] == keys[:230]
    assert "nextToken" not in deep
