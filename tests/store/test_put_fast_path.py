"""PutVectors read straight into numpy (pgs3v.store.api.put_body) against the ordinary parse.

The fast path must never be observable: a body it reads stores exactly what the ordinary parse
stores, and a body that is rejected is rejected with the same code, status, message and
fieldList either way. Two in-process stores get the same requests, one through each path; a
few of the cases also go through the real server, as a compact body (read fast) and as the same
request with its member name spelled with an escape (which the fast reader leaves to the
ordinary parse).
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import orjson
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pgs3v.auth.credentials import Credentials
from pgs3v.store.api.arns import ArnScope
from pgs3v.store.api.errors import S3VectorsError
from pgs3v.store.api.http_app import request_payload
from pgs3v.store.api.json_numbers import read_rows
from pgs3v.store.api.limits import Limits
from pgs3v.store.api.put_body import read_put_vectors
from pgs3v.store.api.service import VectorStore
from pgs3v.store.server import open_store
from tests.support import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, StoreProcess

DIMENSION = 64
BUCKET = "fast-path"
_ONE = ",".join(["0.5"] * DIMENSION)


def _numbers(values: Any) -> str:
    """A vector's JSON text as orjson writes float32 (shortest round-trip form, no spaces)."""
    return orjson.dumps(np.asarray(values, dtype=np.float32), option=orjson.OPT_SERIALIZE_NUMPY).decode()[1:-1]


def _plain(count: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [_numbers(rng.standard_normal(DIMENSION) * 0.05) for _ in range(count)]


def _with(text: str, position: int, token: str) -> str:
    """A vector's text with the number at ``position`` replaced by ``token``."""
    numbers = text.split(",")
    numbers[position] = token
    return ",".join(numbers)


def body(index: str, arrays: list[str], *, metadata: list[Any] | None = None, keys: list[str] | None = None,
         extra: str = "", bucket: str = BUCKET) -> bytes:
    """A PutVectors body whose vectors' float32 members hold ``arrays`` verbatim."""
    items = []
    for position, text in enumerate(arrays):
        key = json.dumps(keys[position] if keys else f"k{position}")
        item = f'{{"key":{key},"data":{{"float32":[{text}]}}'
        value = None if metadata is None else metadata[position]
        if value is not None:
            item += f',"metadata":{value if isinstance(value, str) else json.dumps(value)}'
        items.append(item + "}")
    return f'{{"vectorBucketName":"{bucket}","indexName":"{index}","vectors":[{",".join(items)}]{extra}}}'.encode()


def _stores(root: Path) -> Iterator[tuple[VectorStore, VectorStore]]:
    credentials = Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
    scope = ArnScope(region=REGION, account_id="000000000000")
    fast = open_store(root / "fast", Limits(), scope, credentials)
    slow = open_store(root / "slow", Limits(), scope, credentials)
    try:
        for store in (fast, slow):
            store.call("CreateVectorBucket", {"vectorBucketName": BUCKET})
        yield fast, slow
    finally:
        fast.close()
        slow.close()


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[VectorStore, VectorStore]]:
    """Two in-process stores: requests reach one through the fast reader, the other through the ordinary parse."""
    yield from _stores(tmp_path_factory.mktemp("fast-path"))


_created = iter(range(10**6))


def fresh_index(stores: tuple[VectorStore, VectorStore], metric: str = "cosine") -> str:
    """The same new index in both stores, with one non-filterable metadata key ("text")."""
    name = f"ix-{next(_created)}"
    for store in stores:
        store.call("CreateIndex", {
            "vectorBucketName": BUCKET, "indexName": name, "dataType": "float32", "dimension": DIMENSION,
            "distanceMetric": metric, "metadataConfiguration": {"nonFilterableMetadataKeys": ["text"]},
        })
    return name


def outcome(store: VectorStore, index: str, raw: bytes, *, fast: bool) -> Any:
    """What a client would see: the error as the wire shows it, or the whole index afterwards."""
    try:
        store.call("PutVectors", request_payload("PutVectors", raw, fast=fast))
    except S3VectorsError as error:
        return ("error", error.code, error.status, error.to_body())
    except Exception as error:  # the HTTP layer answers these with a 500 that names nothing
        return ("crash", type(error).__name__)
    listed = store.call("ListVectors", {"vectorBucketName": BUCKET, "indexName": index, "maxResults": 1000,
                                        "returnData": True, "returnMetadata": True})
    return ("stored", orjson.dumps(listed))


def assert_same(stores: tuple[VectorStore, VectorStore], index: str, raw: bytes, *, read_fast: bool) -> Any:
    """Both paths give the same outcome; ``read_fast`` says whether the fast reader takes the body."""
    assert (read_put_vectors(raw) is not None) == read_fast
    fast, slow = stores
    got = outcome(fast, index, raw, fast=True)
    assert got == outcome(slow, index, raw, fast=False)
    return got


# --- the table ------------------------------------------------------------------------------------

PLAIN = _plain(6)
ZERO = ",".join(["0.0"] * DIMENSION)
SHORT = [",".join(text.split(",")[1:]) for text in PLAIN]
# Numbers outside the vectorised form, one per vector among plain ones, are still read fast.
MIXED = [_with(PLAIN[0], -1, token) for token in ("1", "-0", "0", "-1.5e-7", "2E+3", "1e-46")] + PLAIN + PLAIN
VALIDATION = "ValidationException"
DEEP = '{"a":' * 65 + "1" + "}" * 65
SECOND_VECTORS = ',"vectors":[{"key":"z","data":{"float32":[' + _ONE + "]}}]"

# name: (arrays, body() options, whether the fast reader takes it, outcome kind or error code)
CASES: dict[str, tuple[list[str], dict[str, Any], bool, str]] = {
    "plain batch": (PLAIN, {}, True, "stored"),
    "plain batch with metadata": (PLAIN, {"metadata": [{"band": i, "category": f"c{i}"} for i in range(6)]}, True,
                                  "stored"),
    "integers, signed zero, exponents": (MIXED, {}, True, "stored"),
    "one number beyond float32": ([PLAIN[0], _with(PLAIN[1], 3, "1e39")], {}, True, VALIDATION),
    "a zero vector in a cosine index": ([*PLAIN[:2], ZERO], {}, True, VALIDATION),
    "a vector that underflows to zero": ([",".join(["1e-46"] * DIMENSION)], {}, True, VALIDATION),
    "every vector one number short": (SHORT, {}, True, VALIDATION),
    "one vector one number short": ([*PLAIN[:2], SHORT[2]], {}, False, VALIDATION),
    "an empty vector": ([*PLAIN[:2], ""], {}, False, VALIDATION),
    "NaN literal": ([PLAIN[0], _with(PLAIN[1], 2, "NaN")], {}, False, VALIDATION),
    "Infinity literal": ([_with(PLAIN[0], 2, "-Infinity")], {}, False, VALIDATION),
    "overflowing literal": ([PLAIN[0], _with(PLAIN[1], 2, "1e999")], {}, False, VALIDATION),
    "botocore's NaN string": ([_with(PLAIN[0], 0, '"NaN"')], {}, False, VALIDATION),
    "a number as a string": ([_with(PLAIN[0], 0, '"0.5"')], {}, False, VALIDATION),
    "booleans": ([_with(PLAIN[0], 0, "true")], {}, False, VALIDATION),
    "null": ([_with(PLAIN[0], 0, "null")], {}, False, VALIDATION),
    "a nested list": ([_with(PLAIN[0], 0, "[0.5]")], {}, False, VALIDATION),
    "an object": ([_with(PLAIN[0], 0, '{"x":1}')], {}, False, VALIDATION),
    "leading zero (not JSON)": ([_with(PLAIN[0], 0, "01.5")], {}, False, VALIDATION),
    "bare dot (not JSON)": ([_with(PLAIN[0], 0, ".5")], {}, False, VALIDATION),
    "plus sign (not JSON)": ([_with(PLAIN[0], 0, "+0.5")], {}, False, VALIDATION),
    "trailing comma (not JSON)": ([PLAIN[0] + ","], {}, False, VALIDATION),
    "spaces in the arrays": ([text.replace(",", ", ") for text in PLAIN], {}, True, "stored"),
    # Beyond float64 itself: refused like any value outside the float32 range, never a 500.
    "a huge integer": ([_with(PLAIN[0], 0, "1" + "0" * 400)], {}, False, VALIDATION),
    "a 17-digit integer": ([PLAIN[0], _with(PLAIN[1], 0, "12345678901234567")], {}, True, "stored"),
    "a repeated key (the later one wins)": (PLAIN[:3], {"keys": ["same", "other", "same"]}, True, "stored"),
    "an empty key": (PLAIN[:2], {"keys": ["ok", ""]}, True, VALIDATION),
    "a key too long": (PLAIN[:2], {"keys": ["ok", "k" * 1025]}, True, VALIDATION),
    "a lone surrogate in a key": (PLAIN[:2], {"keys": ["ok", "\ud800"]}, False, VALIDATION),
    "501 vectors": ([_ONE] * 501, {}, True, VALIDATION),
    "metadata not an object": (PLAIN[:2], {"metadata": [None, [1, 2]]}, True, VALIDATION),
    "51 metadata keys": (PLAIN[:2], {"metadata": [None, {f"m{i}": i for i in range(51)}]}, True, VALIDATION),
    "metadata over 40 KB": (PLAIN[:2], {"metadata": [None, {"text": "x" * 41000}]}, True, VALIDATION),
    "filterable metadata over 2 KB": (PLAIN[:2], {"metadata": [None, {"body": "x" * 3000}]}, True, VALIDATION),
    "non-filterable metadata over 2 KB": (PLAIN[:2], {"metadata": [None, {"text": "x" * 3000, "a": 1}]}, True,
                                          "stored"),
    "NaN in metadata": (PLAIN[:2], {"metadata": [None, '{"score": NaN}']}, False, VALIDATION),
    "a 65-bit integer in metadata": (PLAIN[:2], {"metadata": [None, '{"n": 18446744073709551616}']}, True,
                                     "stored"),
    "metadata nested 65 deep": (PLAIN[:2], {"metadata": [None, DEEP]}, True, VALIDATION),
    "a float32 member in metadata": (PLAIN[:2], {"metadata": [None, {"float32": [1.5, 2.5]}]}, False, "stored"),
    "float32 as a metadata value": (PLAIN[:2], {"metadata": [None, {"type": "float32", "float32": 1}]}, True,
                                    "stored"),
    "a repeated float32 member": ([PLAIN[0] + '],"float32":[' + PLAIN[1]], {}, False, "stored"),
    "a repeated data member": ([PLAIN[0] + ']},"data":{"float32":[' + PLAIN[1]], {}, False, "stored"),
    "a repeated vectors member": (PLAIN[:2], {"extra": SECOND_VECTORS}, False, "stored"),
    "an unknown member": (PLAIN[:2], {"extra": ',"colour":"blue"'}, True, "stored"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_both_paths_agree(stores: tuple[VectorStore, VectorStore], name: str) -> None:
    arrays, options, read_fast, expected = CASES[name]
    index = fresh_index(stores)
    got = assert_same(stores, index, body(index, arrays, **options), read_fast=read_fast)
    assert (got[1] if got[0] == "error" else got[0]) == expected, got


def test_errors_name_the_first_bad_record(stores: tuple[VectorStore, VectorStore]) -> None:
    # A bad vector after a bad metadata, and the other way round: the earlier record wins.
    index = fresh_index(stores)
    for arrays, metadata in (([PLAIN[0], PLAIN[1], ZERO], [None, {"m": "x" * 3000}, None]),
                             ([PLAIN[0], ZERO, PLAIN[2]], [None, None, {"m": "x" * 3000}])):
        got = assert_same(stores, index, body(index, arrays, metadata=metadata), read_fast=True)
        assert got[3]["fieldList"][0]["path"] == "/vectors/1", got


def test_euclidean_index_takes_zero_vectors(stores: tuple[VectorStore, VectorStore]) -> None:
    index = fresh_index(stores, metric="euclidean")
    got = assert_same(stores, index, body(index, [ZERO, PLAIN[0]]), read_fast=True)
    assert got[0] == "stored"


def test_unknown_index_and_bad_names(stores: tuple[VectorStore, VectorStore]) -> None:
    index = fresh_index(stores)
    for raw in (body("missing-index", PLAIN[:2]), body("Bad_Name", PLAIN[:2]),
                body(index, PLAIN[:2]).replace(b'"indexName"', b'"indexArn":"arn:x","indexName"')):
        assert_same(stores, index, raw, read_fast=True)


# --- numbers, property-tested ---------------------------------------------------------------------

_JSON_NUMBER = r"-?(0|[1-9][0-9]{0,18})(\.[0-9]{1,18})?([eE][+-]?[0-9]{1,3})?"
tokens = st.one_of(
    st.floats(width=32, allow_nan=False, allow_infinity=False).map(lambda x: _numbers([x])),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.from_regex(_JSON_NUMBER, fullmatch=True),
    st.text(alphabet="0123456789.-+eE", max_size=12),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(tokens, min_size=1, max_size=12), min_size=1, max_size=4),
       st.lists(st.floats(width=32, allow_nan=False, allow_infinity=False), min_size=64, max_size=64))
def test_numbers_read_as_the_ordinary_parse_reads_them(rows: list[list[str]], padding: list[float]) -> None:
    # Padding with plain numbers keeps the odd ones below the share the fast reader takes on.
    filler = _numbers(padding)
    arrays = [",".join([*row, filler]) for row in rows]
    raw = body("ix", arrays)
    read = read_put_vectors(raw)
    try:
        ordinary = orjson.loads(raw)
    except orjson.JSONDecodeError:
        assert read is None
        return
    if read is None:
        return
    assert [v["key"] for v in read["vectors"]] == [v["key"] for v in ordinary["vectors"]]
    for mine, theirs in zip(read["vectors"], ordinary["vectors"], strict=True):
        expected = np.asarray(theirs["data"]["float32"], dtype=np.float64)
        got = mine["data"]["float32"]
        assert got.dtype == np.float64 and got.shape == expected.shape
        assert got.tobytes() == expected.tobytes()  # bit for bit, signed zeros included


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(tokens, min_size=1, max_size=40), min_size=1, max_size=3))
def test_numbers_are_read_exactly_or_not_at_all(rows: list[list[str]]) -> None:
    arrays = [("[" + ",".join(row) + "]").encode() for row in rows]
    got = read_rows(arrays)
    try:
        expected = [np.asarray(orjson.loads(text), dtype=np.float64) for text in arrays]
    except (orjson.JSONDecodeError, OverflowError):
        assert got is None
        return
    if len({len(row) for row in expected}) != 1:
        assert got is None  # rows of unequal length are left to the ordinary parse
        return
    if got is not None:
        assert got.tobytes() == np.stack(expected).tobytes()  # bit for bit, signed zeros included


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(width=32, min_value=-2.0**39, max_value=2.0**39).filter(lambda x: x == 0 or abs(x) >= 1e-12),
                min_size=1, max_size=200))
def test_float32_text_from_orjson_is_read_fast(values: list[float]) -> None:
    text = f"[{_numbers(values)}]".encode()
    got = read_rows([text, text])
    assert got is not None
    expected = np.asarray(orjson.loads(text), dtype=np.float64)
    assert got.tobytes() == np.stack([expected, expected]).tobytes()


def test_rows_that_are_not_plain_arrays_of_numbers_are_left_to_the_ordinary_parse() -> None:
    for arrays in ([b"[1,2]", b"[3]"], [b"[1,true]"], [b'["1"]'], [b"[NaN]"], [b"[1e400]"], [b"[1,[2]]"],
                   [b"[123456789012345678901234567890]"], [b"[]"], [b"[1,]"], []):
        assert read_rows(arrays) is None, arrays
    # Whitespace and integers are plain JSON: read, exactly as orjson reads them.
    got = read_rows([b"[ 1 , 2.5 ]", b"[-0.0,1E+2]"])
    assert got is not None and got.tolist() == [[1.0, 2.5], [-0.0, 100.0]]


def test_orjson_float32_bodies_are_read_fast() -> None:
    rng = np.random.default_rng(5)
    for scale in (1e-12, 1e-6, 0.036, 1.0, 1e6, 1e12):
        vectors = (rng.standard_normal((500, 768)) * scale).astype(np.float32)
        raw = orjson.dumps({"vectorBucketName": BUCKET, "indexName": "ix", "vectors": [
            {"key": f"k{i}", "data": {"float32": vectors[i]}, "metadata": {"i": i}} for i in range(500)
        ]}, option=orjson.OPT_SERIALIZE_NUMPY)
        read = read_put_vectors(raw)
        assert read is not None, scale
        got = np.stack([v["data"]["float32"] for v in read["vectors"]])
        assert np.array_equal(got.astype(np.float32), vectors)
        assert [v["metadata"] for v in read["vectors"]] == [{"i": i} for i in range(500)]


# --- through the real server ----------------------------------------------------------------------


def _post(endpoint: str, raw: bytes) -> tuple[int, dict[str, str], Any]:
    request = AWSRequest(method="POST", url=f"{endpoint}/PutVectors", data=raw,
                         headers={"Content-Type": "application/json"})
    SigV4Auth(BotoCredentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), "s3vectors", REGION).add_auth(request)
    target = urlsplit(endpoint)
    connection = http.client.HTTPConnection(target.hostname or "", target.port, timeout=120)
    try:
        connection.request("POST", "/PutVectors", body=raw, headers=dict(request.prepare().headers))
        reply = connection.getresponse()
        headers = {k.lower(): v for k, v in reply.getheaders() if k.lower() == "x-amzn-errortype"}
        return reply.status, headers, json.loads(reply.read() or b"{}")
    finally:
        connection.close()


@pytest.fixture(scope="module")
def served_bucket(s3v: Any) -> str:
    """A bucket on the session's real server for this module's requests."""
    name = "fast-path-served"
    s3v.create_vector_bucket(vectorBucketName=name)
    return name


@pytest.mark.parametrize("name", ["plain batch with metadata", "one number beyond float32",
                                  "a zero vector in a cosine index", "every vector one number short",
                                  "a repeated key (the later one wins)", "51 metadata keys", "501 vectors"])
def test_the_server_answers_alike(store_server: StoreProcess, s3v: Any, served_bucket: str, name: str) -> None:
    arrays, options, _, _ = CASES[name]
    answers, stored = [], []
    for escaped in (False, True):
        index = f"served-{next(_created)}"
        s3v.create_index(vectorBucketName=served_bucket, indexName=index, dataType="float32", dimension=DIMENSION,
                         distanceMetric="cosine", metadataConfiguration={"nonFilterableMetadataKeys": ["text"]})
        raw = body(index, arrays, bucket=served_bucket, **options)
        if escaped:
            # The same request with the member name spelled with an escape, which JSON reads as
            # "float32" but the fast reader does not look for: the ordinary parse takes it.
            raw = raw.replace(b'"float32"', b'"float\\u0033\\u0032"')
        assert (read_put_vectors(raw) is None) == escaped
        answers.append(_post(store_server.endpoint, raw))
        stored.append(s3v.list_vectors(vectorBucketName=served_bucket, indexName=index, maxResults=1000,
                                       returnData=True, returnMetadata=True)["vectors"])
    assert answers[0] == answers[1]
    assert stored[0] == stored[1]
