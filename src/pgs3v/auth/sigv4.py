"""Check AWS Signature Version 4 on incoming requests, answering failures as AWS does (403).

The canonical request is rebuilt from what arrived on the wire, following botocore's
``SigV4Auth`` (the client our users run) for non-S3 services:

- URI: the path exactly as received (still percent-encoded), dot segments and repeated slashes
  removed, then percent-encoded *once more* with ``/`` and ``~`` kept. So the tagging route
  ``/tags/arn%3Aaws%3As3vectors%3A...%2Fb1`` is signed as ``/tags/arn%253Aaws%253A...%252Fb1``.
  The caller must therefore pass the raw path (ASGI ``raw_path``), never the decoded one.
- Query: each ``key=value`` decoded and re-encoded with RFC 3986 unreserved characters kept, then
  sorted by key and value (repeated keys such as ``tagKeys=a&tagKeys=b`` stay separate pairs).
- Headers: the signed ones, lower-cased, values trimmed with inner whitespace runs collapsed.
- Payload: ``x-amz-content-sha256`` when it is signed, else the SHA-256 of the body.
  ``UNSIGNED-PAYLOAD`` is refused (the store serves plain HTTP; S3 allows it only over TLS).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import quote, unquote_to_bytes

from botocore.utils import normalize_url_path

from pgs3v.auth.errors import (
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
TERMINATOR = "aws4_request"

MISSING_TOKEN = "Missing Authentication Token"
INVALID_TOKEN = "The security token included in the request is invalid."
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)
UNSIGNED_PAYLOAD_REFUSED = (
    "x-amz-content-sha256 UNSIGNED-PAYLOAD is not accepted over plain HTTP: sign the payload's SHA-256."
)
PAYLOAD_HASH_MISMATCH = "The provided 'x-amz-content-sha256' header does not match what was computed."

_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
_AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_SCOPE_DATE = re.compile(r"\d{8}")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class _Authorization:
    """The parts of a well-formed Authorization header, with the request's X-Amz-Date."""

    access_key_id: str
    scope_date: str
    region: str
    service: str
    signed_headers: str
    signature: str
    amz_date: str

    @property
    def scope(self) -> str:
        return f"{self.scope_date}/{self.region}/{self.service}/{TERMINATOR}"


SecretLookup = Callable[[str], str | None]


class SigV4Verifier:
    """Verifies SigV4-signed requests against a set of access keys (fixed, or looked up per request)."""

    def __init__(
        self,
        credentials: Mapping[str, str] | SecretLookup,
        service: str = "s3vectors",
        max_skew: timedelta = timedelta(minutes=15),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        # A lookup lets keys come and go while the server runs (the key registry).
        self._secrets: SecretLookup = dict(credentials).get if isinstance(credentials, Mapping) else credentials
        self._service = service
        self._max_skew = max_skew
        self._clock = clock or (lambda: datetime.now(UTC))

    def for_service(self, service: str) -> SigV4Verifier:
        """A verifier with the same keys and clock for requests signed for another service."""
        # One server can answer several services (the store also answers STS GetCallerIdentity);
        # each route checks the scope of its own service, so a signature cannot cross over.
        return SigV4Verifier(self._secrets, service, self._max_skew, self._clock)

    def check_headers(self, headers: Mapping[str, str]) -> None:
        """Raise the 403 error AWS would send for what the headers alone show to be wrong.

        Everything but the signature itself, which covers the body: an unsigned or foreign
        request is refused before its body is read (a slow body cannot hold the server for it).
        """
        self._authorization(headers)

    def verify(self, method: str, raw_path: str, raw_query: str, headers: Mapping[str, str], body: bytes) -> str:
        """Return the caller's access key id, or raise the 403 error AWS would send."""
        # Callers pass ASGI's raw_path and query_string and header values decoded as latin-1 (as
        # Starlette does): http.client sends botocore's str headers latin-1 encoded.
        auth, secret = self._authorization(headers)

        signed_names = auth.signed_headers.split(";")
        payload_hash = headers.get("x-amz-content-sha256") if "x-amz-content-sha256" in signed_names else None
        canonical = "\n".join(
            [
                method.upper(),
                canonical_uri(raw_path),
                canonical_query_string(raw_query),
                "".join(f"{name}:{_trim(headers.get(name, ''))}\n" for name in signed_names),
                auth.signed_headers,
                payload_hash if payload_hash is not None else hashlib.sha256(body).hexdigest(),
            ]
        )
        string_to_sign = "\n".join(
            [ALGORITHM, auth.amz_date, auth.scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()]
        )
        key = _cached_signing_key(secret, auth.scope_date, auth.region, auth.service)
        expected = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, auth.signature):
            raise InvalidSignatureException(SIGNATURE_MISMATCH)
        # Only now is the claimed hash known to come from the key holder; it must also be the
        # hash of what actually arrived. An unsigned payload is refused: S3 takes one only over
        # TLS, and this store speaks plain HTTP, where anyone on the path could swap the body.
        if payload_hash == UNSIGNED_PAYLOAD:
            raise InvalidSignatureException(UNSIGNED_PAYLOAD_REFUSED)
        if (
            payload_hash is not None
            and not hmac.compare_digest(
                payload_hash.lower().encode("utf-8", "replace"), hashlib.sha256(body).hexdigest().encode()
            )
        ):
            raise InvalidSignatureException(PAYLOAD_HASH_MISMATCH)
        return auth.access_key_id

    def _authorization(self, headers: Mapping[str, str]) -> tuple[_Authorization, str]:
        """The well-formed, in-scope, timely Authorization of a known key, with that key's secret."""
        header = headers.get("authorization")
        if header is None:
            raise MissingAuthenticationTokenException(MISSING_TOKEN)
        auth = _parse_authorization(header, headers.get("x-amz-date"))
        secret = self._secrets(auth.access_key_id)
        if secret is None:
            raise UnrecognizedClientException(INVALID_TOKEN)
        self._check_scope(auth)
        self._check_clock(auth.amz_date)
        return auth, secret

    def _check_scope(self, auth: _Authorization) -> None:
        # Any region is accepted: a self-hosted store answers for whatever region the client uses.
        if auth.service != self._service:
            raise InvalidSignatureException(
                f"Credential should be scoped to correct service: '{self._service}'. "
                f"The request was signed for '{auth.service}'."
            )
        if auth.scope_date != auth.amz_date[:8]:
            raise InvalidSignatureException(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
                f"HTTP: '{auth.scope_date}' != '{auth.amz_date[:8]}', from '{auth.amz_date}'."
            )

    def _check_clock(self, amz_date: str) -> None:
        signed_at = _signed_at(amz_date)
        now = self._clock()
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        window = _describe(self._max_skew)
        if signed_at < now - self._max_skew:
            raise InvalidSignatureException(
                f"Signature expired: {amz_date} is now earlier than "
                f"{_stamp(now - self._max_skew)} ({_stamp(now)} - {window})"
            )
        if signed_at > now + self._max_skew:
            raise InvalidSignatureException(
                f"Signature not yet current: {amz_date} is still later than "
                f"{_stamp(now + self._max_skew)} ({_stamp(now)} + {window})"
            )


def canonical_uri(raw_path: str) -> str:
    """Return the SigV4 canonical URI of a path as received on the wire (still percent-encoded)."""
    # botocore signs quote(normalize_url_path(path_it_sends), safe="/~"); its own normaliser keeps
    # both sides in step should it ever change.
    return quote(str(normalize_url_path(raw_path)), safe="/~")


def canonical_query_string(raw_query: str) -> str:
    """Return the SigV4 canonical query string of a raw query string (without the '?')."""
    pairs: list[tuple[str, str]] = []
    for item in raw_query.split("&"):
        if not item:
            continue
        key, _, value = item.partition("=")
        pairs.append((_encode(key), _encode(value)))
    return "&".join(f"{key}={value}" for key, value in sorted(pairs))


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """Derive the SigV4 signing key for one day, region and service."""
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, TERMINATOR):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def _signed_at(amz_date: str) -> datetime:
    """The moment of an X-Amz-Date already matched as ``YYYYMMDDTHHMMSSZ`` (ValueError if no such date)."""
    # strptime takes about 10 µs, and every request needs this twice.
    return datetime(
        int(amz_date[0:4]), int(amz_date[4:6]), int(amz_date[6:8]), int(amz_date[9:11]), int(amz_date[11:13]),
        int(amz_date[13:15]), tzinfo=UTC,
    )


@lru_cache(maxsize=256)
def _cached_signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    # The key changes once a day per region and service: deriving it (four HMACs) on every
    # request is work the request path need not repeat.
    return signing_key(secret, date, region, service)


def _parse_authorization(header: str, x_amz_date: str | None) -> _Authorization:
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise IncompleteSignatureException(
            f"Unsupported Authorization type '{algorithm}': only {ALGORITHM} is accepted."
        )
    params: dict[str, str] = {}
    for item in rest.split(","):
        if not item.strip():
            continue
        name, equals, value = item.strip().partition("=")
        if not equals:
            raise IncompleteSignatureException(
                f"Invalid key=value pair (missing equal-sign) in Authorization header: '{item.strip()}'."
            )
        params[name] = value

    # Like AWS, report every missing piece at once rather than one per round trip.
    problems = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if not params.get(name)
    ]
    amz_date = x_amz_date or ""
    if not amz_date:
        problems.append("Authorization header requires existence of a 'X-Amz-Date' header.")
    if problems:
        raise IncompleteSignatureException(" ".join(problems))

    if not _AMZ_DATE.fullmatch(amz_date):
        raise IncompleteSignatureException(
            f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601"
        )
    try:
        _signed_at(amz_date)
    except ValueError:
        raise IncompleteSignatureException(f"X-Amz-Date is not a valid date: '{amz_date}'.") from None

    credential = params["Credential"]
    parts = credential.split("/")
    if len(parts) != 5 or not all(parts):
        raise IncompleteSignatureException(
            "Credential must have exactly 5 slash-delimited elements, "
            f"e.g. keyid/date/region/service/term, got '{credential}'"
        )
    access_key_id, scope_date, region, service, terminator = parts
    if not _SCOPE_DATE.fullmatch(scope_date):
        raise IncompleteSignatureException(f"Credential date must be in the form YYYYMMDD, got '{scope_date}'.")
    if terminator != TERMINATOR:
        raise IncompleteSignatureException(
            f"Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{terminator}'."
        )

    signed_headers = params["SignedHeaders"]
    names = signed_headers.split(";")
    if "host" not in names:
        raise IncompleteSignatureException("'Host' must be a 'SignedHeader' in the AWS Authorization.")
    if "x-amz-date" not in names:
        raise IncompleteSignatureException("'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.")

    signature = params["Signature"]
    if not _SIGNATURE.fullmatch(signature):
        # Not hex of the right length, so it cannot match; also keeps compare_digest on ASCII.
        raise InvalidSignatureException(SIGNATURE_MISMATCH)
    return _Authorization(access_key_id, scope_date, region, service, signed_headers, signature, amz_date)


def _encode(component: str) -> str:
    # Decode to bytes, not str, so escapes of invalid UTF-8 survive the round trip unchanged.
    return quote(unquote_to_bytes(component), safe="-_.~")


def _trim(value: str) -> str:
    return " ".join(value.split())


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_AMZ_DATE_FORMAT)


def _describe(skew: timedelta) -> str:
    seconds = int(skew.total_seconds())
    return f"{seconds // 60} min." if seconds % 60 == 0 else f"{seconds} sec."
