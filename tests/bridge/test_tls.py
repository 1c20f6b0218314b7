"""The function host over HTTPS, and the bridge calling a store over HTTPS, both verifying a test CA."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import click
import pytest
from botocore.config import Config
from botocore.exceptions import SSLError
from click.testing import CliRunner

from pgs3v.bridge.cli import register
from pgs3v.bridge.process import FunctionHostProcess
from tests.bridge.conftest import CREDENTIALS, ROOT, invoke
from tests.certificates import TestCertificates, make_certificates
from tests.support import REGION, StoreProcess


def _environment() -> dict[str, str]:
    # The host must trust the CA because of --tls-ca, not because the test's environment says so.
    return {name: value for name, value in os.environ.items() if name != "AWS_CA_BUNDLE"}


@pytest.fixture(scope="module")
def tls_host(tls_store: StoreProcess, certificates: TestCertificates) -> Iterator[FunctionHostProcess]:
    host = FunctionHostProcess(tls_store.endpoint, CREDENTIALS, tls=certificates.server,
                               ca_file=certificates.ca_file, cwd=ROOT)
    host.start(_environment())
    try:
        yield host
    finally:
        host.stop()


def test_boto3_invokes_the_bridge_over_https_which_calls_the_store_over_https(tls_host: FunctionHostProcess) -> None:
    assert tls_host.endpoint.startswith("https://")
    lambda_client = tls_host.client()
    calls = [
        ("CreateVectorBucket", {"vectorBucketName": "tls-bridge"}),
        ("CreateIndex", {"vectorBucketName": "tls-bridge", "indexName": "idx", "dataType": "float32",
                         "dimension": 2, "distanceMetric": "euclidean"}),
        # The data operations go through the bridge's JSON transport, the others through boto3.
        ("PutVectors", {"vectorBucketName": "tls-bridge", "indexName": "idx",
                        "vectors": [{"key": "a", "data": {"float32": [1.0, 0.0]}}]}),
    ]
    for operation, request in calls:
        answer = invoke(lambda_client, {"operation": operation, "request": request}).payload
        assert "error" not in answer, answer
    found = invoke(lambda_client, {"operation": "QueryVectors", "request": {
        "vectorBucketName": "tls-bridge", "indexName": "idx", "topK": 1, "queryVector": {"float32": [1.0, 0.1]}}})
    assert [vector["key"] for vector in found.payload["response"]["vectors"]] == ["a"]


def test_a_lambda_client_without_the_ca_fails_verification(
    tls_host: FunctionHostProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
    untrusting = boto3.session.Session().client(
        "lambda", endpoint_url=tls_host.endpoint, region_name=REGION, aws_access_key_id=CREDENTIALS.access_key_id,
        aws_secret_access_key=CREDENTIALS.secret_access_key, config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises(SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        untrusting.invoke(FunctionName="pgs3v-bridge", Payload=b"{}")


def test_a_bridge_not_trusting_the_stores_ca_says_so(
    tls_store: StoreProcess, certificates: TestCertificates, tmp_path: Path
) -> None:
    stranger = make_certificates(tmp_path)
    # Plain HTTP itself; --tls-ca names a CA that did not sign the store's certificate.
    host = FunctionHostProcess(tls_store.endpoint, CREDENTIALS, ca_file=stranger.ca_file, cwd=ROOT)
    host.start({**_environment(), "PGS3V_BRIDGE_MAX_ATTEMPTS": "1"})
    try:
        for operation in ("ListVectorBuckets", "QueryVectors"):  # boto3, then the JSON transport
            request = {} if operation == "ListVectorBuckets" else {
                "vectorBucketName": "bkt", "indexName": "idx", "topK": 1, "queryVector": {"float32": [1.0, 0.0]}}
            answer = invoke(host.client(), {"operation": operation, "request": request}).payload
            assert "CERTIFICATE_VERIFY_FAILED" in json.dumps(answer), answer
    finally:
        host.stop()


def test_serve_refuses_half_a_pair_and_a_foreign_key(certificates: TestCertificates, tmp_path: Path) -> None:
    @click.group()
    def root() -> None:
        """A stand-in for the pgs3v command."""

    register(root)
    result = CliRunner().invoke(root, ["functions", "serve", "--tls-key", str(certificates.server.key_file)])
    assert result.exit_code == 2 and "--tls-key needs --tls-cert too" in result.output
    foreign_key = make_certificates(tmp_path).server.key_file
    result = CliRunner().invoke(root, ["functions", "serve", "--data-dir", str(tmp_path), "--tls-cert",
                                       str(certificates.server.cert_file), "--tls-key", str(foreign_key)],
                                env={"PGS3V_ACCESS_KEY_ID": "AKIDTLSTEST", "PGS3V_SECRET_ACCESS_KEY": "secret"})
    assert result.exit_code == 1 and f"the key in {foreign_key} does not belong" in result.output, result.output
