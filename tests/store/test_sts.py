"""STS GetCallerIdentity on the store's port: boto3, the AWS CLI and plain HTTP against the real server.

Tools check who they are before they work (``aws sts get-caller-identity``, moto's test suite in
server mode); the store answers as STS does for an account's root keys, and refuses as STS does:
``<ErrorResponse>`` XML with STS's codes, never the S3 Vectors JSON shape.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import boto3
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from pgs3v.auth.sigv4 import INVALID_TOKEN, SIGNATURE_MISMATCH
from pgs3v.store.api.sts import NAMESPACE
from tests.support import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, StoreProcess, error_of

ACCOUNT = "000000000000"  # the account of the store's ARNs (ArnScope's default)
ROOT_ARN = f"arn:aws:iam::{ACCOUNT}:root"
FORM = "application/x-www-form-urlencoded; charset=utf-8"
IDENTITY_FORM = b"Action=GetCallerIdentity&Version=2011-06-15"
NS = {"sts": NAMESPACE}


def sts_client(endpoint: str, **overrides: Any) -> Any:
    """boto3's own sts client for the store, with the test credentials unless overridden."""
    settings: dict[str, Any] = {"aws_access_key_id": ACCESS_KEY_ID, "aws_secret_access_key": SECRET_ACCESS_KEY}
    settings.update(overrides)
    config = Config(retries={"max_attempts": 1}, signature_version=settings.pop("signature_version", None))
    return boto3.client("sts", endpoint_url=endpoint, region_name=REGION, config=config, **settings)


def send(endpoint: str, method: str, query: str = "", body: bytes = b"", *, sign_for: str | None = "sts",
         content_type: str = FORM) -> tuple[int, ET.Element]:
    """A request with urllib, SigV4-signed by botocore for ``sign_for`` (None: unsigned); status and XML root."""
    url = f"{endpoint}/" + (f"?{query}" if query else "")
    headers = {"Content-Type": content_type} if body else {}
    if sign_for is not None:
        prepared = AWSRequest(method=method, url=url, data=body, headers=headers)
        SigV4Auth(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), sign_for, REGION).add_auth(prepared)
        headers = dict(prepared.headers.items())
    request = urllib.request.Request(url, data=body or None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            status, data, returned_type = reply.status, reply.read(), reply.headers["content-type"]
    except urllib.error.HTTPError as error:
        status, data, returned_type = error.code, error.read(), error.headers["content-type"]
    assert returned_type.startswith("text/xml"), returned_type
    return status, ET.fromstring(data)


def error_code(root: ET.Element) -> str:
    """The code of an STS ``<ErrorResponse>``, after checking its shape."""
    assert root.tag == f"{{{NAMESPACE}}}ErrorResponse"
    assert root.findtext("sts:Error/sts:Type", namespaces=NS) == "Sender"
    assert root.findtext("sts:Error/sts:Message", namespaces=NS)
    assert root.findtext("sts:RequestId", namespaces=NS)
    return str(root.findtext("sts:Error/sts:Code", namespaces=NS))


def test_boto3_learns_the_account_of_the_stores_arns(store_server: StoreProcess) -> None:
    identity = sts_client(store_server.endpoint).get_caller_identity()
    assert (identity["Account"], identity["Arn"], identity["UserId"]) == (ACCOUNT, ROOT_ARN, ACCOUNT)
    assert identity["ResponseMetadata"]["RequestId"]


def test_the_aws_cli_gets_the_caller_identity(store_server: StoreProcess, tmp_path: Path) -> None:
    # The CLI of this environment (awscli, a dev extra), isolated from any profile on the machine.
    aws = Path(sys.executable).parent / "aws"
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY, AWS_DEFAULT_REGION=REGION,
               AWS_CONFIG_FILE=str(tmp_path / "config"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"))
    result = subprocess.run([str(aws), "sts", "get-caller-identity", "--endpoint-url", store_server.endpoint,
                             "--output", "json"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"UserId": ACCOUNT, "Account": ACCOUNT, "Arn": ROOT_ARN}

    env["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"
    refused = subprocess.run([str(aws), "sts", "get-caller-identity", "--endpoint-url", store_server.endpoint],
                             env=env, capture_output=True, text=True, timeout=120, check=False)
    assert refused.returncode != 0
    assert "(SignatureDoesNotMatch)" in refused.stderr, refused.stderr


def test_a_wrong_secret_is_signature_does_not_match(store_server: StoreProcess) -> None:
    client = sts_client(store_server.endpoint, aws_secret_access_key="not-the-secret")
    code, status, response = error_of(client.get_caller_identity)
    assert (code, status) == ("SignatureDoesNotMatch", 403)
    assert response["Error"]["Message"] == SIGNATURE_MISMATCH
    assert response["Error"]["Type"] == "Sender"


def test_an_unknown_key_is_invalid_client_token_id(store_server: StoreProcess) -> None:
    client = sts_client(store_server.endpoint, aws_access_key_id="AKIAUNKNOWNKEY000000")
    code, status, response = error_of(client.get_caller_identity)
    assert (code, status) == ("InvalidClientTokenId", 403)
    assert response["Error"]["Message"] == INVALID_TOKEN


def test_an_unsigned_request_is_missing_authentication_token(store_server: StoreProcess) -> None:
    code, status, response = error_of(sts_client(store_server.endpoint, signature_version=UNSIGNED).get_caller_identity)
    assert (code, status) == ("MissingAuthenticationToken", 403)
    assert response["Error"]["Message"] == "Request is missing Authentication Token"
    status, root = send(store_server.endpoint, "POST", body=IDENTITY_FORM, sign_for=None)
    assert (status, error_code(root)) == (403, "MissingAuthenticationToken")


def test_a_signature_scoped_to_s3vectors_does_not_pass_for_sts(store_server: StoreProcess) -> None:
    status, root = send(store_server.endpoint, "POST", body=IDENTITY_FORM, sign_for="s3vectors")
    assert (status, error_code(root)) == (403, "SignatureDoesNotMatch")
    assert "scoped to correct service: 'sts'" in str(root.findtext("sts:Error/sts:Message", namespaces=NS))


def test_get_with_the_action_in_the_query_string(store_server: StoreProcess) -> None:
    status, root = send(store_server.endpoint, "GET", query=IDENTITY_FORM.decode())
    assert status == 200
    assert root.tag == f"{{{NAMESPACE}}}GetCallerIdentityResponse"
    result = {child.tag.split("}")[1]: child.text for child in root.find("sts:GetCallerIdentityResult", NS) or []}
    assert result == {"Arn": ROOT_ARN, "UserId": ACCOUNT, "Account": ACCOUNT}
    assert root.findtext("sts:ResponseMetadata/sts:RequestId", namespaces=NS)


def test_other_sts_actions_are_invalid_action_in_stss_shape(store_server: StoreProcess) -> None:
    code, status, response = error_of(sts_client(store_server.endpoint).get_session_token)
    assert (code, status) == ("InvalidAction", 400)
    assert response["Error"]["Message"] == "Could not find operation GetSessionToken for version 2011-06-15"
    status, root = send(store_server.endpoint, "POST", body=b"Action=GetCallerIdentity&Version=2010-01-01")
    assert (status, error_code(root)) == (400, "InvalidAction")


def test_a_request_without_an_action_is_missing_action(store_server: StoreProcess) -> None:
    status, root = send(store_server.endpoint, "POST", body=b"Version=2011-06-15")
    assert (status, error_code(root)) == (400, "MissingAction")
    # A JSON body on "/" is not a Query-protocol request: its fields are not parameters.
    status, root = send(store_server.endpoint, "POST", body=b'{"Action": "GetCallerIdentity"}',
                        content_type="application/json")
    assert (status, error_code(root)) == (400, "MissingAction")


def test_the_s3vectors_api_is_unchanged_beside_it(store_server: StoreProcess) -> None:
    s3v = boto3.client("s3vectors", endpoint_url=store_server.endpoint, region_name=REGION,
                       aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY)
    assert "vectorBuckets" in s3v.list_vector_buckets()
    # A signature scoped to sts does not open the S3 Vectors API: each route checks its own service.
    prepared = AWSRequest(method="POST", url=f"{store_server.endpoint}/ListVectorBuckets", data=b"{}",
                          headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), "sts", REGION).add_auth(prepared)
    request = urllib.request.Request(prepared.url, data=b"{}", method="POST", headers=dict(prepared.headers.items()))
    try:
        urllib.request.urlopen(request, timeout=30).close()
        raise AssertionError("an sts-scoped signature opened the S3 Vectors API")
    except urllib.error.HTTPError as error:
        assert (error.code, error.headers["x-amzn-ErrorType"]) == (403, "InvalidSignatureException")
