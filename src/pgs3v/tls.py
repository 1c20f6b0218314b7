"""TLS for our servers and their clients: a server's certificate and key, and the CA a client trusts.

The store and the function host take ``--tls-cert FILE --tls-key FILE`` and then serve HTTPS
only; the context is built here, before the server starts, so a bad pair is one line on the
command line rather than a traceback from inside uvicorn. Clients verify always when the
endpoint is https: the CA file comes from ``AWS_CA_BUNDLE``, which botocore already honours
for every boto3 client, so the bridge's boto3 client, its JSON transport and the CLI's clients
trust the same file (unset: the system's CAs). There is no switch that turns verification off.
Standard library only: the bridge's JSON transport imports this on AWS Lambda too.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# botocore's own setting; honoured by everything of ours that makes an https call.
CA_BUNDLE_ENV = "AWS_CA_BUNDLE"


class TlsError(ValueError):
    """A certificate, key or CA file that cannot be used; the message is one line saying which and why."""


@dataclass(frozen=True)
class ServerTls:
    """A server's certificate chain and private key (PEM files)."""

    cert_file: Path
    key_file: Path


def server_tls(cert_file: Path | None, key_file: Path | None) -> ServerTls | None:
    """``--tls-cert`` and ``--tls-key`` as one setting: both (HTTPS), or neither (plain HTTP)."""
    if cert_file is None and key_file is None:
        return None
    if cert_file is None or key_file is None:
        given, missing = ("--tls-cert", "--tls-key") if key_file is None else ("--tls-key", "--tls-cert")
        raise TlsError(f"{given} needs {missing} too: give the certificate and its private key together")
    return ServerTls(cert_file, key_file)


def server_context(tls: ServerTls) -> ssl.SSLContext:
    """A server context holding ``tls``' certificate and key (TlsError when they cannot be used)."""
    for option, path in (("--tls-cert", tls.cert_file), ("--tls-key", tls.key_file)):
        _check_readable(option, path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(tls.cert_file, tls.key_file)
    except ssl.SSLError as problem:
        # load_cert_chain names OpenSSL's reason only ("[X509: KEY_VALUES_MISMATCH] ..."): say
        # which files, in words.
        if "KEY_VALUES_MISMATCH" in str(problem):
            raise TlsError(f"the key in {tls.key_file} does not belong to the certificate in {tls.cert_file}") from None
        raise TlsError(f"cannot load the certificate {tls.cert_file} with the key {tls.key_file}: "
                       f"{_reason(problem)} (both must be PEM; the key unencrypted)") from None
    return context


def client_context(ca_file: str | os.PathLike[str] | None = None) -> ssl.SSLContext:
    """A verifying client context trusting ``ca_file``'s CAs, or the system's when None."""
    if ca_file is not None:
        _check_readable(CA_BUNDLE_ENV, Path(ca_file))
    try:
        # Hostname checking and CERT_REQUIRED come with the default context.
        return ssl.create_default_context(cafile=None if ca_file is None else os.fspath(ca_file))
    except ssl.SSLError as problem:
        raise TlsError(f"cannot load CA certificates from {ca_file}: {_reason(problem)}") from None


def ca_file_from(environ: Mapping[str, str] | None = None) -> str | None:
    """The CA file clients trust: ``AWS_CA_BUNDLE``, or None (the system's CAs)."""
    env = os.environ if environ is None else environ
    return env.get(CA_BUNDLE_ENV) or None


def _check_readable(option: str, path: Path) -> None:
    try:
        with path.open("rb") as file:
            file.read(1)
    except OSError as problem:
        raise TlsError(f"cannot read {option} {path}: {problem.strerror or problem}") from None


def _reason(problem: ssl.SSLError) -> str:
    return str(problem.reason or problem.strerror or problem)
