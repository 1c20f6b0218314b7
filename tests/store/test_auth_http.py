"""SigV4 through the real server: what boto3 and a plain HTTP client see when authentication fails.

Every failure is a 403 with the error's name in ``x-amzn-ErrorType`` and in the body's ``__type``,
a ``message``, and nothing of the request acted on (authentication comes before validation and
before any lookup, so a 403 tells an unsigned caller nothing about what exists).
"""

from __future__ import annotations

import datetime
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock
from urllib.parse import quote

import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HeadersDict
from botocore.credentials import Credentials
from botocore.parsers import create_parser

from pgs3v.auth.sigv4 import INVALID_TOKEN, MISSING_TOKEN, SIGNATURE_MISMATCH
from tests.support import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, StoreProcess, client, error_of

_MODEL = botocore.session.get_session().get_service_model("s3vectors")


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


@contextmanager
def signing_clock(offset: datetime.timedelta) -> Iterator[None]:
    """botocore signs as if its clock were ``offset`` away from the real one."""
    moment = _utc_now() + offset
    with mock.patch("botocore.auth.get_current_datetime", return_value=moment):
        yield


def send(endpoint: str, operation: str, body: bytes, headers: dict[str, str],
         method: str = "POST", path: str | None = None) -> dict[str, Any]:
    """Send a request with urllib and parse the reply as botocore would for ``operation``."""
    request = urllib.request.Request(f"{endpoint}{path or '/' + operation}", data=body or None, method=method,
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            status, reply_headers, data = reply.status, reply.headers, reply.read()
    except urllib.error.HTTPError as error:
        status, reply_headers, data = error.code, error.headers, error.read()
    headers_in = HeadersDict(reply_headers.items())
    shape = _MODEL.operation_model(operation).output_shape
    assert shape is not None
    parsed: dict[str, Any] = create_parser("rest-json").parse(
        {"status_code": status, "headers": headers_in, "body": data}, shape)
    parsed["headers"], parsed["body"] = headers_in, json.loads(data)
    return parsed


def signed_headers(endpoint: str, operation: str, body: bytes, *, secret: str = SECRET_ACCESS_KEY,
                   method: str = "POST", path: str | None = None) -> dict[str, str]:
    """The headers boto3 would send for ``body``, signed with SigV4."""
    request = AWSRequest(method=method, url=f"{endpoint}{path or '/' + operation}", data=body,
                         headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(ACCESS_KEY_ID, secret), "s3vectors", REGION).add_auth(request)
    return {name: value for name, value in request.headers.items() if name.lower() != "content-length"}


def assert_aws_error(response: dict[str, Any], code: str, message: str | None = None) -> None:
    """A 403 in AWS's error shape: header, ``__type`` and ``message``, and botocore reads ``code`` from it."""
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert response["Error"]["Code"] == code
    assert response["headers"]["x-amzn-ErrorType"] == code
    assert response["body"]["__type"] == code
    assert isinstance(response["body"]["message"], str) and response["body"]["message"]
    assert response["Error"]["Message"] == response["body"]["message"]
    if message is not None:
        assert response["body"]["message"] == message


@pytest.fixture(autouse=True)
def server_still_answers(s3v: Any) -> Iterator[None]:
    """After every rejected request, a good one must still work."""
    yield
    assert s3v.list_vector_buckets(maxResults=1)["ResponseMetadata"]["HTTPStatusCode"] == 200


# --- through boto3 -------------------------------------------------------------------------------


def test_wrong_secret(store_server: StoreProcess) -> None:
    wrong = client(store_server.endpoint, secret="not-the-secret-access-key-0123456789abcd")
    code, status, response = error_of(wrong.list_vector_buckets)
    assert (code, status) == ("InvalidSignatureException", 403)
    assert response["Error"]["Message"] == SIGNATURE_MISMATCH
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == code


def test_unknown_access_key(store_server: StoreProcess) -> None:
    stranger = client(store_server.endpoint, access_key="AKIAUNKNOWNKEY000000")
    code, status, response = error_of(stranger.list_vector_buckets)
    assert (code, status) == ("UnrecognizedClientException", 403)
    assert response["Error"]["Message"] == INVALID_TOKEN
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == code


@pytest.mark.parametrize(("minutes", "wording"), [(-20, "Signature expired: "), (20, "Signature not yet current: ")])
def test_skewed_clock(store_server: StoreProcess, minutes: int, wording: str) -> None:
    skewed = client(store_server.endpoint)
    with signing_clock(datetime.timedelta(minutes=minutes)):
        code, status, response = error_of(skewed.list_vector_buckets)
    assert (code, status) == ("InvalidSignatureException", 403)
    assert response["Error"]["Message"].startswith(wording)


def test_clock_within_the_window_is_accepted(store_server: StoreProcess) -> None:
    late = client(store_server.endpoint)
    with signing_clock(datetime.timedelta(minutes=-5)):
        assert late.list_vector_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_rejected_calls_change_nothing(store_server: StoreProcess, s3v: Any) -> None:
    wrong = client(store_server.endpoint, secret="not-the-secret-access-key-0123456789abcd")
    assert error_of(wrong.create_vector_bucket, vectorBucketName="never-created")[:2] == (
        "InvalidSignatureException", 403)
    assert error_of(s3v.get_vector_bucket, vectorBucketName="never-created")[:2] == ("NotFoundException", 404)


# --- raw HTTP ------------------------------------------------------------------------------------


def test_no_authorization_header(store_server: StoreProcess) -> None:
    response = send(store_server.endpoint, "ListVectorBuckets", b"{}", {"Content-Type": "application/json"})
    assert_aws_error(response, "MissingAuthenticationTokenException", MISSING_TOKEN)


def test_unsigned_requests_learn_nothing(store_server: StoreProcess, bucket: str) -> None:
    # Neither the bad body nor the missing bucket is reported: only the missing signature.
    for operation, body in [("CreateIndex", b"not json"), ("GetVectorBucket", b'{"vectorBucketName": "no-such"}'),
                            ("GetVectorBucket", json.dumps({"vectorBucketName": bucket}).encode())]:
        response = send(store_server.endpoint, operation, body, {"Content-Type": "application/json"})
        assert_aws_error(response, "MissingAuthenticationTokenException", MISSING_TOKEN)


def test_unsigned_tagging_route(store_server: StoreProcess, bucket: str) -> None:
    path = "/tags/" + quote(f"arn:aws:s3vectors:us-east-1:000000000000:bucket/{bucket}", safe="")
    response = send(store_server.endpoint, "ListTagsForResource", b"", {}, method="GET", path=path)
    assert_aws_error(response, "MissingAuthenticationTokenException", MISSING_TOKEN)
    headers = signed_headers(store_server.endpoint, "ListTagsForResource", b"", method="GET", path=path)
    assert send(store_server.endpoint, "ListTagsForResource", b"", headers, method="GET", path=path)["tags"] == {}


def test_tampered_body(store_server: StoreProcess) -> None:
    signed = b'{"maxResults": 1}'
    headers = signed_headers(store_server.endpoint, "ListVectorBuckets", signed)
    untouched = send(store_server.endpoint, "ListVectorBuckets", signed, headers)
    assert untouched["ResponseMetadata"]["HTTPStatusCode"] == 200
    for sent in (b'{"maxResults": 2}', b'{"maxResults": 1} ', b""):
        response = send(store_server.endpoint, "ListVectorBuckets", sent, headers)
        assert_aws_error(response, "InvalidSignatureException", SIGNATURE_MISMATCH)


def test_tampered_operation(store_server: StoreProcess, bucket: str) -> None:
    body = json.dumps({"vectorBucketName": bucket}).encode()
    headers = signed_headers(store_server.endpoint, "GetVectorBucket", body)
    response = send(store_server.endpoint, "DeleteVectorBucket", body, headers)
    assert_aws_error(response, "InvalidSignatureException", SIGNATURE_MISMATCH)


def test_skewed_date_signed_by_hand(store_server: StoreProcess) -> None:
    with signing_clock(datetime.timedelta(minutes=-20)):
        headers = signed_headers(store_server.endpoint, "ListVectorBuckets", b"{}")
    response = send(store_server.endpoint, "ListVectorBuckets", b"{}", headers)
    assert_aws_error(response, "InvalidSignatureException")
    assert response["body"]["message"].startswith("Signature expired: ")


@pytest.mark.parametrize(("header", "value", "code"), [
    ("Authorization", "Basic dXNlcjpwYXNz", "IncompleteSignatureException"),
    ("Authorization", "AWS4-HMAC-SHA256 Credential=x", "IncompleteSignatureException"),
    ("X-Amz-Date", "yesterday", "IncompleteSignatureException"),
    ("X-Amz-Date", None, "IncompleteSignatureException"),
])
def test_malformed_signature_headers(store_server: StoreProcess, header: str, value: str | None, code: str) -> None:
    headers = signed_headers(store_server.endpoint, "ListVectorBuckets", b"{}")
    if value is None:
        headers.pop(header)
    else:
        headers[header] = value
    assert_aws_error(send(store_server.endpoint, "ListVectorBuckets", b"{}", headers), code)
