"""Test certificates: a CA made in the test (trustme) and server certificates it issues, as PEM files."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

import trustme

from pgs3v.tls import ServerTls

LOOPBACK = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class TestCertificates:
    """A CA's certificate file, and a server certificate and key it signed."""

    __test__ = False  # not a test class, whatever pytest makes of its name

    ca: trustme.CA
    ca_file: Path
    server: ServerTls


def make_certificates(directory: Path, *identities: str, ca: trustme.CA | None = None,
                      not_before: datetime.datetime | None = None,
                      not_after: datetime.datetime | None = None) -> TestCertificates:
    """A new CA (or ``ca``) and a server certificate for ``identities`` (default: 127.0.0.1 and localhost)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = ca or trustme.CA()
    leaf = ca.issue_cert(*(identities or LOOPBACK), not_before=not_before, not_after=not_after)
    ca_file, cert_file, key_file = directory / "ca.pem", directory / "server.pem", directory / "server-key.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    leaf.cert_chain_pems[0].write_to_path(str(cert_file))
    for extra in leaf.cert_chain_pems[1:]:
        extra.write_to_path(str(cert_file), append=True)
    leaf.private_key_pem.write_to_path(str(key_file))
    return TestCertificates(ca, ca_file, ServerTls(cert_file, key_file))
