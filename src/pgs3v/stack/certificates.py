"""``pgs3v doctor``'s TLS checks: a certificate's dates and key, and what a verifying client sees.

A server's certificate fails its clients in a few ways, each with its own fix: it has expired or
is not valid yet, it names another host than the one in the endpoint, its CA is not the one the
clients trust, or (at start) its key belongs to another certificate. The file checks read the
certificate itself; the handshake check connects to the running server the way the bridge, the
shim and the CLI do (verification on, hostname checked) and reports OpenSSL's reason.
"""

from __future__ import annotations

import socket
import ssl
import time
from pathlib import Path
from urllib.parse import urlsplit

from pgs3v.stack.findings import Finding
from pgs3v.tls import ServerTls, TlsError, client_context, server_context

_CONNECT_SECONDS = 5.0


def certificate_file_findings(cert_file: Path, key_file: Path | None = None,
                              now: float | None = None) -> list[Finding]:
    """The certificate file's dates, and (given ``key_file``) whether the key belongs to it."""
    check = f"certificate {cert_file}"
    try:
        if key_file is not None:
            server_context(ServerTls(cert_file, key_file))
        # The standard library's own PEM reader (what ssl uses for getpeercert()); no other dependency.
        decoded = ssl._ssl._test_decode_cert(str(cert_file))  # type: ignore[attr-defined]
    except TlsError as problem:
        return [Finding(check, False, str(problem), "give the certificate with the key it was issued with")]
    except (OSError, ssl.SSLError) as problem:
        return [Finding(check, False, f"cannot read it: {problem}", "give a PEM certificate file")]
    not_before = ssl.cert_time_to_seconds(decoded["notBefore"])
    not_after = ssl.cert_time_to_seconds(decoded["notAfter"])
    moment = time.time() if now is None else now
    names = ", ".join(value for _, value in decoded.get("subjectAltName", ())) or "no subjectAltName"
    renew = "issue a new certificate (and restart the server with it)"
    if moment > not_after:
        return [Finding(check, False, f"expired on {decoded['notAfter']} (names {names})", renew)]
    if moment < not_before:
        return [Finding(check, False, f"not valid before {decoded['notBefore']} (names {names})",
                        f"{renew}, or check this machine's clock")]
    days = int((not_after - moment) // 86400)
    key = ", key matches" if key_file is not None else ""
    return [Finding(check, True, f"valid until {decoded['notAfter']} ({days} days), names {names}{key}")]


def handshake_finding(endpoint: str, *, ca_file: str | Path | None = None, ca_data: str | None = None,
                      who: str = "clients") -> Finding:
    """Connect to ``endpoint`` as a verifying client trusting ``ca_file`` or ``ca_data`` (else the system's CAs)."""
    url = urlsplit(endpoint)
    host, port = url.hostname or "", url.port or 443
    check = f"TLS certificate of {endpoint} trusted by {who}"
    trusted = ca_file or ("the stored CA certificates" if ca_data else "the system's CAs")
    try:
        context = ssl.create_default_context(cadata=ca_data) if ca_data is not None else client_context(ca_file)
        with socket.create_connection((host, port), timeout=_CONNECT_SECONDS) as raw, \
                context.wrap_socket(raw, server_hostname=host) as tls:
            served = tls.getpeercert() or {}
    except ssl.SSLCertVerificationError as problem:
        return Finding(check, False, f"{problem.verify_message} (trusting {trusted})", _fix(problem.verify_message))
    except (OSError, ssl.SSLError, TlsError) as problem:
        return Finding(check, False, f"{type(problem).__name__}: {problem}",
                       "is the server running, and serving HTTPS on that port?")
    return Finding(check, True, f"verified against {trusted}; valid until {served.get('notAfter', '?')}")


def _fix(reason: str) -> str:
    if "expired" in reason or "not yet valid" in reason:
        return "issue a new certificate, restart the server with it (--tls-cert/--tls-key), or check the clock"
    if "mismatch" in reason:
        return "issue a certificate naming the endpoint's host (subjectAltName), or use a name the certificate has"
    return ("point the clients at the CA that signed the certificate: AWS_CA_BUNDLE (CLI, bridge), "
            "`pgs3v functions serve --tls-ca`, `pgs3v schema install --tls-ca` (shim)")
