"""``pgs3v up --tls-cert --tls-key --tls-ca``: the whole stack over HTTPS, SQL included, and doctor content."""

from __future__ import annotations

import shutil
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import SSLError

from pgs3v.stack.postgres import missing_packages
from tests.certificates import make_certificates
from tests.stack.conftest import Stack, new_directory, pgs3v


def test_a_tls_stack_serves_https_end_to_end_and_doctor_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if missing_packages():
        pytest.skip(f"Debian packages missing: {', '.join(missing_packages())}")
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
    certificates = make_certificates(tmp_path / "tls")
    root = new_directory("pgs3v-tls-stack-")
    stack = Stack(root / "data")
    tls = ("--tls-cert", str(certificates.server.cert_file), "--tls-key", str(certificates.server.key_file),
           "--tls-ca", str(certificates.ca_file))
    try:
        result = stack.run("up", *tls)
        assert result.returncode == 0, result.stdout
        connection = stack.connection()
        assert connection["store_endpoint"].startswith("https://127.0.0.1:")
        assert connection["function_endpoint"].startswith("https://127.0.0.1:")
        assert connection["ca_file"] == str(certificates.ca_file.resolve())
        # SQL -> shim (trusting the stored CA) -> https function host -> bridge -> https store.
        with stack.sql() as conn:
            row = conn.execute("SELECT count(*) FROM s3vectors.list_vector_buckets()").fetchone()
            assert row is not None
        trusting = boto3.session.Session().client(
            "s3vectors", endpoint_url=connection["store_endpoint"], region_name=connection["region"],
            aws_access_key_id=connection["access_key_id"], aws_secret_access_key=connection["secret_access_key"],
            verify=connection["ca_file"])
        assert "vectorBuckets" in trusting.list_vector_buckets()
        with pytest.raises(SSLError):
            stack.client("s3vectors", "store_endpoint").list_vector_buckets()  # no CA given: refused
        code, output = stack.doctor()
        assert code == 0, output
        assert f"ok   certificate {certificates.server.cert_file.resolve()}: valid until" in output
        assert f"ok   TLS certificate of {connection['function_endpoint']} trusted by the aws_lambda shim" in output
        # A second up keeps the TLS settings; other ones are refused rather than silently ignored.
        again = stack.run("up")
        assert again.returncode == 0, again.stdout
        other = make_certificates(tmp_path / "other")
        refused = stack.run("up", "--tls-cert", str(other.server.cert_file), "--tls-key",
                            str(other.server.key_file), "--tls-ca", str(other.ca_file))
        assert refused.returncode == 1 and "created with other TLS settings" in refused.stdout
    finally:
        try:
            stack.run("down")
        finally:
            shutil.rmtree(root, ignore_errors=True)


def test_up_refuses_a_certificate_without_its_ca(tmp_path: Path) -> None:
    certificates = make_certificates(tmp_path)
    result = pgs3v("up", "--data-dir", str(tmp_path / "data"), "--tls-cert", str(certificates.server.cert_file),
                   "--tls-key", str(certificates.server.key_file))
    assert result.returncode == 2 and "--tls-cert needs --tls-ca too" in result.stdout
    assert not (tmp_path / "data").exists()
