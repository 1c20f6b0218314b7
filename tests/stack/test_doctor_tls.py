"""``pgs3v doctor``'s TLS checks: expired, not yet valid, for another host, untrusted, or with a foreign key."""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from pgs3v.stack.certificates import certificate_file_findings, handshake_finding
from pgs3v.stack.cli import register
from pgs3v.stack.doctor import tls_findings
from pgs3v.tls import server_context
from tests.certificates import TestCertificates, make_certificates

NOW = datetime.datetime.now(datetime.UTC)


@contextmanager
def tls_server(certificates: TestCertificates) -> Iterator[str]:
    """A loopback server that completes TLS handshakes with ``certificates`` (and nothing else); its endpoint."""
    context = server_context(certificates.server)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                peer, _ = listener.accept()
            except OSError:
                continue
            peer.settimeout(5)
            try:
                with context.wrap_socket(peer, server_side=True):
                    pass
            except (OSError, ssl.SSLError):
                pass  # the client refused the certificate: what these tests are about

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        listener.close()


def test_a_valid_certificate_passes(tmp_path: Path) -> None:
    good = make_certificates(tmp_path)
    with tls_server(good) as endpoint:
        findings = tls_findings(good.server.cert_file, good.server.key_file, [endpoint], str(good.ca_file))
    assert [finding.ok for finding in findings] == [True, True], findings
    assert "key matches" in findings[0].detail and "names 127.0.0.1, localhost" in findings[0].detail


def test_an_expired_certificate(tmp_path: Path) -> None:
    expired = make_certificates(tmp_path, not_before=NOW - datetime.timedelta(days=30),
                                not_after=NOW - datetime.timedelta(days=1))
    (file_check,) = certificate_file_findings(expired.server.cert_file, expired.server.key_file)
    assert not file_check.ok and file_check.detail.startswith("expired on ")
    with tls_server(expired) as endpoint:
        served = handshake_finding(endpoint, ca_file=expired.ca_file)
    assert not served.ok and "certificate has expired" in served.detail
    assert "issue a new certificate" in served.fix


def test_a_certificate_not_valid_yet(tmp_path: Path) -> None:
    early = make_certificates(tmp_path, not_before=NOW + datetime.timedelta(days=2),
                              not_after=NOW + datetime.timedelta(days=30))
    (file_check,) = certificate_file_findings(early.server.cert_file)
    assert not file_check.ok and file_check.detail.startswith("not valid before ")
    with tls_server(early) as endpoint:
        served = handshake_finding(endpoint, ca_file=early.ca_file)
    assert not served.ok and "certificate is not yet valid" in served.detail


def test_a_certificate_for_another_host(tmp_path: Path) -> None:
    elsewhere = make_certificates(tmp_path, "pgs3v.example")
    assert certificate_file_findings(elsewhere.server.cert_file)[0].ok  # nothing wrong with the file itself
    with tls_server(elsewhere) as endpoint:
        served = handshake_finding(endpoint, ca_file=elsewhere.ca_file)
    assert not served.ok and "IP address mismatch, certificate is not valid for '127.0.0.1'" in served.detail
    assert "naming the endpoint's host" in served.fix


def test_a_certificate_from_an_untrusted_ca_and_a_foreign_key(tmp_path: Path) -> None:
    good = make_certificates(tmp_path / "good")
    stranger = make_certificates(tmp_path / "stranger")
    with tls_server(good) as endpoint:
        served = handshake_finding(endpoint, ca_file=stranger.ca_file)
    assert not served.ok and "unable to get local issuer certificate" in served.detail
    assert "AWS_CA_BUNDLE" in served.fix
    (mismatched,) = certificate_file_findings(good.server.cert_file, stranger.server.key_file)
    assert not mismatched.ok and "does not belong to the certificate" in mismatched.detail


def test_the_doctor_command_reports_it_and_exits_nonzero(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
    expired = make_certificates(tmp_path, not_before=NOW - datetime.timedelta(days=30),
                                not_after=NOW - datetime.timedelta(days=1))

    @click.group()
    def main() -> None:
        """A stand-in for the pgs3v command."""

    register(main)
    with tls_server(expired) as endpoint:
        result = CliRunner().invoke(main, [
            "doctor", "--data-dir", str(tmp_path / "no-stack"), "--tls-cert", str(expired.server.cert_file),
            "--tls-key", str(expired.server.key_file), "--tls-ca", str(expired.ca_file), "--endpoint", endpoint])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.startswith(f"FAIL certificate {expired.server.cert_file}: expired on ") for line in lines)
    assert any(line.startswith(f"FAIL TLS certificate of {endpoint} trusted by clients: certificate has expired")
               for line in lines), result.output
