"""SigV4 verification against requests signed by botocore itself, as the server receives them."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import boto3
import botocore.auth
import botocore.credentials
import botocore.session
import pytest
from botocore.awsrequest import AWSRequest, create_request_object, prepare_request_dict
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.serialize import create_serializer

from pgs3v.auth.sigv4 import (
    SIGNATURE_MISMATCH,
    UNSIGNED_PAYLOAD_REFUSED,
    SigV4Verifier,
    canonical_query_string,
    canonical_uri,
)
from pgs3v.store.api.errors import (
    AccessDeniedException,
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    S3VectorsError,
    UnrecognizedClientException,
)

ACCESS_KEY = "PGS3VTESTKEY00000001"
SECRET = "s3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3c"
ENDPOINT = "http://localhost:8750"
SIGNED_AT = datetime(2025, 1, 1, 0, 0, 0)
ARN = "arn:aws:s3vectors:us-east-1:123456789012:bucket/bkt"
ENCODED_ARN = "arn%3Aaws%3As3vectors%3Aus-east-1%3A123456789012%3Abucket%2Fbkt"

_MODEL = botocore.session.get_session().get_service_model("s3vectors")


@dataclass(frozen=True)
class Wire:
    """A request as the server sees it: raw path and query, lower-cased headers, body bytes."""

    method: str
    raw_path: str
    raw_query: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def with_header(self, name: str, value: str | None) -> Wire:
        headers = dict(self.headers)
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
        return replace(self, headers=headers)


def sign(
    request: AWSRequest,
    *,
    access_key: str = ACCESS_KEY,
    secret: str = SECRET,
    region: str = "us-east-1",
    service: str = "s3vectors",
    at: datetime = SIGNED_AT,
) -> Wire:
    """Sign request with botocore's SigV4Auth at a fixed time and return what goes on the wire."""
    with mock.patch("botocore.auth.get_current_datetime", return_value=at):
        credentials = botocore.credentials.Credentials(access_key, secret)
        botocore.auth.SigV4Auth(credentials, service, region).add_auth(request)
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    headers = {name.lower(): str(value) for name, value in prepared.headers.items()}
    # urllib3 adds Host when sending; botocore signs the same value (port kept unless default).
    headers["host"] = parts.netloc
    body = prepared.body or b""
    return Wire(prepared.method, parts.path, parts.query, headers, body if isinstance(body, bytes) else b"")


def operation(name: str, params: Mapping[str, Any], **signing: Any) -> Wire:
    """Serialize an S3 Vectors call exactly like the boto3 client does, then sign it."""
    request_dict = create_serializer("rest-json").serialize_to_request(dict(params), _MODEL.operation_model(name))
    prepare_request_dict(request_dict, endpoint_url=ENDPOINT)
    return sign(create_request_object(request_dict), **signing)


def raw(method: str, path: str, body: bytes = b"", headers: Mapping[str, str] | None = None, **signing: Any) -> Wire:
    """Sign a hand-built request for ENDPOINT + path (path may carry a query string)."""
    return sign(AWSRequest(method=method, url=ENDPOINT + path, data=body, headers=dict(headers or {})), **signing)


def list_indexes(headers: Mapping[str, str] | None = None, **signing: Any) -> Wire:
    """A small signed POST that most rejection tests start from."""
    return raw("POST", "/ListIndexes", b"{}", headers, **signing)


def verifier(offset: timedelta = timedelta(0), **kwargs: Any) -> SigV4Verifier:
    """A verifier whose clock reads SIGNED_AT + offset."""
    now = SIGNED_AT.replace(tzinfo=UTC) + offset
    return SigV4Verifier({ACCESS_KEY: SECRET}, clock=lambda: now, **kwargs)


def check(wire: Wire, v: SigV4Verifier | None = None) -> str:
    return (v or verifier()).verify(wire.method, wire.raw_path, wire.raw_query, wire.headers, wire.body)


def rejected(wire: Wire, error: type[S3VectorsError], v: SigV4Verifier | None = None) -> S3VectorsError:
    """Assert verification fails with exactly this error class, a 403 and its AWS code."""
    with pytest.raises(AccessDeniedException) as info:
        check(wire, v)
    assert type(info.value) is error
    assert info.value.code == error.__name__
    assert info.value.status == 403
    return info.value


# --- accepted ------------------------------------------------------------------------------------


def test_put_vectors_post_with_json_body_is_accepted() -> None:
    wire = operation(
        "PutVectors",
        {
            "vectorBucketName": "bkt",
            "indexName": "idx",
            "vectors": [{"key": "k", "data": {"float32": [0.5, 1.0]}, "metadata": {"genre": "jazz"}}],
        },
    )
    assert (wire.method, wire.raw_path, wire.raw_query) == ("POST", "/PutVectors", "")
    assert wire.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=")
    assert json.loads(wire.body)["vectorBucketName"] == "bkt"
    assert check(wire) == ACCESS_KEY


def test_list_tags_get_on_encoded_arn_path_is_accepted() -> None:
    wire = operation("ListTagsForResource", {"resourceArn": ARN})
    assert (wire.method, wire.raw_path, wire.raw_query) == ("GET", f"/tags/{ENCODED_ARN}", "")
    assert check(wire) == ACCESS_KEY


def test_untag_delete_with_repeated_tag_keys_is_accepted() -> None:
    wire = operation("UntagResource", {"resourceArn": ARN, "tagKeys": ["b", "a", "team name", "x+y/z=ü"]})
    assert wire.method == "DELETE"
    assert wire.raw_path == f"/tags/{ENCODED_ARN}"
    assert wire.raw_query == "tagKeys=b&tagKeys=a&tagKeys=team%20name&tagKeys=x%2By%2Fz%3D%C3%BC"
    assert check(wire) == ACCESS_KEY


def test_tag_resource_post_on_index_arn_is_accepted() -> None:
    wire = operation("TagResource", {"resourceArn": f"{ARN}/index/i.1", "tags": {"k": "v"}})
    assert wire.raw_path == f"/tags/{ENCODED_ARN}%2Findex%2Fi.1"
    assert check(wire) == ACCESS_KEY


def test_any_region_in_the_scope_is_accepted() -> None:
    assert check(raw("POST", "/ListVectorBuckets", b"{}", region="eu-west-3")) == ACCESS_KEY


def test_each_known_key_is_recognised() -> None:
    v = SigV4Verifier({ACCESS_KEY: SECRET, "OTHERKEY": "other-secret"}, clock=lambda: SIGNED_AT.replace(tzinfo=UTC))
    assert check(list_indexes(access_key="OTHERKEY", secret="other-secret"), v) == "OTHERKEY"
    assert check(list_indexes(), v) == ACCESS_KEY


def test_path_normalisation_matches_botocore() -> None:
    # botocore signs the normalised path but sends the path as written.
    wire = raw("POST", "/a/./b//c/../ListIndexes", b"{}")
    assert wire.raw_path == "/a/./b//c/../ListIndexes"
    assert check(wire) == ACCESS_KEY


def test_unsigned_headers_may_change_in_transit() -> None:
    wire = list_indexes({"User-Agent": "boto3"})
    assert "user-agent" not in wire.headers["authorization"]
    in_transit = wire.with_header("user-agent", "proxy/1.0").with_header("accept-encoding", "gzip")
    assert check(in_transit) == ACCESS_KEY


def test_signed_header_whitespace_is_canonicalised() -> None:
    wire = list_indexes({"X-Custom": "  a   b\tc  "})
    assert "x-custom" in wire.headers["authorization"]
    assert check(wire.with_header("x-custom", "a b c")) == ACCESS_KEY


def test_clock_skew_up_to_the_limit_is_accepted() -> None:
    wire = list_indexes()
    assert check(wire, verifier(timedelta(minutes=15))) == ACCESS_KEY
    assert check(wire, verifier(-timedelta(minutes=15))) == ACCESS_KEY


def test_signed_payload_hash_header_is_honoured() -> None:
    body = b'{"vectorBucketName": "bkt"}'
    wire = raw("POST", "/ListIndexes", body, {"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()})
    assert "x-amz-content-sha256" in wire.headers["authorization"]
    assert check(wire) == ACCESS_KEY




# --- rejected ------------------------------------------------------------------------------------


def test_unsigned_payload_is_refused_even_with_a_valid_signature() -> None:
    # Over plain HTTP a body swapped after signing would otherwise run as the signer's request.
    request = AWSRequest(method="POST", url="https://localhost/ListIndexes", data=b"{}")
    request.context["payload_signing_enabled"] = False
    wire = sign(request)
    assert wire.headers["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"
    for body in (b"{}", b'{"other": 1}'):
        assert rejected(replace(wire, body=body), InvalidSignatureException).message == UNSIGNED_PAYLOAD_REFUSED


def test_missing_authorization() -> None:
    wire = list_indexes().with_header("authorization", None)
    assert rejected(wire, MissingAuthenticationTokenException).message == "Missing Authentication Token"


def test_unknown_access_key() -> None:
    error = rejected(list_indexes(access_key="AKIANOTKNOWN"), UnrecognizedClientException)
    assert error.message == "The security token included in the request is invalid."


def test_wrong_secret() -> None:
    error = rejected(list_indexes(secret="wrong"), InvalidSignatureException)
    assert error.message == SIGNATURE_MISMATCH


def _replace_in_authorization(old: str, new: str) -> Wire:
    wire = list_indexes()
    header = wire.headers["authorization"]
    assert old in header
    return wire.with_header("authorization", header.replace(old, new))


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1", "AWS4-HMAC-SHA1"),
        (", Signature=", ", Sig=", "requires 'Signature' parameter"),
        ("Credential=", "Cred=", "requires 'Credential' parameter"),
        ("SignedHeaders=", "Headers=", "requires 'SignedHeaders' parameter"),
        ("/us-east-1/", "/", "exactly 5 slash-delimited elements"),
        ("/aws4_request", "/aws5_request", "valid terminator"),
        ("/20250101/", "/2025-01-01/", "YYYYMMDD"),
        ("host;", "", "'Host' must be a 'SignedHeader'"),
        (";x-amz-date", "", "'X-Amz-Date' must be a 'SignedHeader'"),
        ("AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256 garbage, ", "missing equal-sign"),
    ],
)
def test_malformed_authorization(old: str, new: str, needle: str) -> None:
    error = rejected(_replace_in_authorization(old, new), IncompleteSignatureException)
    assert needle in error.message


def test_all_missing_parts_are_reported_together() -> None:
    wire = list_indexes().with_header("x-amz-date", None)
    wire = wire.with_header("authorization", "AWS4-HMAC-SHA256 ")
    message = rejected(wire, IncompleteSignatureException).message
    for part in ("'Credential'", "'Signature'", "'SignedHeaders'", "'X-Amz-Date'"):
        assert part in message


def test_missing_or_garbled_x_amz_date() -> None:
    wire = list_indexes()
    missing = rejected(wire.with_header("x-amz-date", None), IncompleteSignatureException)
    assert "X-Amz-Date" in missing.message
    garbled = rejected(wire.with_header("x-amz-date", "2025-01-01"), IncompleteSignatureException)
    assert "ISO-8601" in garbled.message


def test_wrong_service_in_scope() -> None:
    error = rejected(list_indexes(service="s3"), InvalidSignatureException)
    assert "'s3vectors'" in error.message


def test_scope_date_differs_from_x_amz_date() -> None:
    wire = list_indexes().with_header("x-amz-date", "20250102T000000Z")
    error = rejected(wire, InvalidSignatureException, verifier(timedelta(days=1)))
    assert "'20250101' != '20250102'" in error.message


def test_signature_expired() -> None:
    error = rejected(list_indexes(), InvalidSignatureException, verifier(timedelta(minutes=30)))
    assert error.message == (
        "Signature expired: 20250101T000000Z is now earlier than 20250101T001500Z (20250101T003000Z - 15 min.)"
    )


def test_signature_not_yet_current() -> None:
    error = rejected(list_indexes(), InvalidSignatureException, verifier(-timedelta(minutes=30)))
    assert error.message == (
        "Signature not yet current: 20250101T000000Z is still later than 20241231T234500Z (20241231T233000Z + 15 min.)"
    )


def test_max_skew_is_configurable() -> None:
    wire = list_indexes()
    error = rejected(wire, InvalidSignatureException, verifier(timedelta(minutes=2), max_skew=timedelta(minutes=1)))
    assert error.message.endswith("(20250101T000200Z - 1 min.)")


def test_tampered_body() -> None:
    wire = operation("DeleteVectors", {"vectorBucketName": "bkt", "indexName": "idx", "keys": ["k1"]})
    error = rejected(replace(wire, body=wire.body.replace(b"k1", b"k2")), InvalidSignatureException)
    assert error.message == SIGNATURE_MISMATCH


def test_tampered_body_with_signed_payload_hash() -> None:
    body = b'{"vectorBucketName": "bkt"}'
    wire = raw("POST", "/ListIndexes", body, {"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()})
    error = rejected(replace(wire, body=b'{"vectorBucketName": "b2"}'), InvalidSignatureException)
    assert "x-amz-content-sha256" in error.message


def test_tampered_path() -> None:
    wire = operation("ListTagsForResource", {"resourceArn": ARN})
    rejected(replace(wire, raw_path=wire.raw_path.replace("bkt", "bku")), InvalidSignatureException)
    # The same ARN sent decoded is a different path on the wire, so a different signature.
    rejected(replace(wire, raw_path=f"/tags/{ARN}"), InvalidSignatureException)


def test_tampered_query() -> None:
    wire = operation("UntagResource", {"resourceArn": ARN, "tagKeys": ["a", "b"]})
    assert wire.raw_query == "tagKeys=a&tagKeys=b"
    rejected(replace(wire, raw_query="tagKeys=a&tagKeys=c"), InvalidSignatureException)
    rejected(replace(wire, raw_query="tagKeys=a"), InvalidSignatureException)
    # Reordering repeated keys is harmless: the canonical form sorts them.
    assert check(replace(wire, raw_query="tagKeys=b&tagKeys=a")) == ACCESS_KEY


@pytest.mark.parametrize(("name", "value"), [("content-type", "text/plain"), ("host", "evil.example:8750")])
def test_tampered_signed_header(name: str, value: str) -> None:
    wire = list_indexes({"Content-Type": "application/json"})
    assert name in wire.headers["authorization"]
    rejected(wire.with_header(name, value), InvalidSignatureException)


def test_tampered_method() -> None:
    wire = operation("ListTagsForResource", {"resourceArn": ARN})
    rejected(replace(wire, method="DELETE"), InvalidSignatureException)


def test_non_hex_signature_is_a_mismatch() -> None:
    wire = list_indexes()
    header = wire.headers["authorization"]
    forged = header[: header.index("Signature=") + len("Signature=")] + "é" * 64
    rejected(wire.with_header("authorization", forged), InvalidSignatureException)


# --- canonical pieces ----------------------------------------------------------------------------


def test_canonical_uri_encodes_the_wire_path_once_more() -> None:
    assert canonical_uri(f"/tags/{ENCODED_ARN}") == (
        "/tags/arn%253Aaws%253As3vectors%253Aus-east-1%253A123456789012%253Abucket%252Fbkt"
    )
    assert canonical_uri("") == "/"
    assert canonical_uri("/a//b/./c/../d/") == "/a/b/d/"


def test_canonical_query_string_sorts_by_key_then_value() -> None:
    assert canonical_query_string("tagKeys=b&tagKeys=a&A=z&flag") == "A=z&flag=&tagKeys=a&tagKeys=b"
    # Encodings are normalised: unreserved characters bare, everything else upper-case %XX.
    assert canonical_query_string("k=%7e%2f%3a&k2=a:b") == "k=~%2F%3A&k2=a%3Ab"
    assert canonical_query_string("") == ""


# --- end to end: a real boto3 client against a real socket -------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    """Answers every call with verify()'s verdict, in the S3 Vectors error wire shape."""

    verifier: SigV4Verifier

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        # self.path is the request target exactly as sent: still percent-encoded.
        raw_path, _, raw_query = self.path.partition("?")
        headers = {name.lower(): value for name, value in self.headers.items()}
        extra: dict[str, str] = {}
        payload: dict[str, object]
        try:
            key = self.verifier.verify(self.command, raw_path, raw_query, headers, body)
            status, payload = 200, {"tags": {"caller": key}, "vectorBuckets": []}
        except S3VectorsError as error:
            status, extra, payload = error.status, {"x-amzn-ErrorType": error.code}, error.to_body()
        data = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **extra}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[str]:
    handler = type("Handler", (_Recorder,), {"verifier": SigV4Verifier({ACCESS_KEY: SECRET})})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _client(endpoint: str, access_key: str = ACCESS_KEY, secret: str = SECRET) -> Any:
    return boto3.session.Session().client(
        "s3vectors",
        endpoint_url=endpoint,
        region_name="us-west-2",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret,
        config=Config(retries={"total_max_attempts": 1}),
    )


def test_boto3_client_calls_verify_end_to_end(endpoint: str) -> None:
    client = _client(endpoint)
    assert client.list_tags_for_resource(resourceArn=ARN)["tags"] == {"caller": ACCESS_KEY}
    client.untag_resource(resourceArn=f"{ARN}/index/idx", tagKeys=["a", "b", "with space", "x+y/z"])
    client.tag_resource(resourceArn=ARN, tags={"k": "v"})
    client.list_vector_buckets(maxResults=5)


@pytest.mark.parametrize(
    ("access_key", "secret", "code"),
    [
        (ACCESS_KEY, "wrong", "InvalidSignatureException"),
        ("AKIAUNKNOWN", SECRET, "UnrecognizedClientException"),
    ],
)
def test_boto3_client_sees_aws_error_codes(endpoint: str, access_key: str, secret: str, code: str) -> None:
    with pytest.raises(ClientError) as info:
        _client(endpoint, access_key, secret).list_tags_for_resource(resourceArn=ARN)
    assert info.value.response["Error"]["Code"] == code
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
