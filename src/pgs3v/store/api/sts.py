"""STS ``GetCallerIdentity`` on the store's port, so tools that ask who they are before working can.

The AWS CLI, boto3 scripts and test suites (moto's s3vectors tests in server mode among them)
call ``sts get-caller-identity`` to learn the account id before they touch S3 Vectors. STS speaks
the Query protocol: ``POST /`` with a form body ``Action=GetCallerIdentity&Version=2011-06-15``
(or ``GET /?Action=...``), answered in XML. The S3 Vectors API never uses ``/`` itself, so the
path alone routes a request here.

The store's own key is the account's root user, answered as AWS answers for root access keys:
``arn:aws:iam::<account>:root`` with the account id as ``UserId``; a key of the registry
(``pgs3v store keys``) is its IAM user, ``arn:aws:iam::<account>:user/<name>``, with that ARN as
``UserId`` (IAM's opaque AIDA... ids do not exist here). The account is the one in the store's
ARNs. The signature is checked by the store's own SigV4 verifier, scoped to service ``sts``.
Errors take STS's ``<ErrorResponse>`` shape::

    StsError                          (code, status, type)
    ├── MissingAuthenticationToken    403  Sender
    ├── InvalidClientTokenId          403  Sender
    ├── SignatureDoesNotMatch         403  Sender
    ├── IncompleteSignature           400  Sender
    ├── MissingAction                 400  Sender
    ├── InvalidAction                 400  Sender
    ├── InvalidParameterValue         400  Sender
    └── InternalFailure               500  Receiver
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from pgs3v.auth.sigv4 import SigV4Verifier
from pgs3v.request_reading import RequestTooLarge, read_body, verify_signature
from pgs3v.store.api.arns import ArnScope
from pgs3v.store.api.errors import (
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    S3VectorsError,
    UnrecognizedClientException,
    release_traceback,
)

log = logging.getLogger("pgs3v.store")

SERVICE = "sts"
# The ARN of the caller a verified access key stands for.
Who = Callable[[str], str]
VERSION = "2011-06-15"
NAMESPACE = f"https://sts.amazonaws.com/doc/{VERSION}/"
CONTENT_TYPE = "text/xml"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


class StsError(Exception):
    """An error STS answers with: its code, HTTP status and fault type."""

    code = "InternalFailure"
    status = 500
    fault = "Receiver"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MissingAuthenticationToken(StsError):
    code, status, fault = "MissingAuthenticationToken", 403, "Sender"


class InvalidClientTokenId(StsError):
    code, status, fault = "InvalidClientTokenId", 403, "Sender"


class SignatureDoesNotMatch(StsError):
    code, status, fault = "SignatureDoesNotMatch", 403, "Sender"


class IncompleteSignature(StsError):
    code, status, fault = "IncompleteSignature", 400, "Sender"


class MissingAction(StsError):
    code, status, fault = "MissingAction", 400, "Sender"


class InvalidAction(StsError):
    code, status, fault = "InvalidAction", 400, "Sender"


class InvalidParameterValue(StsError):
    code, status, fault = "InvalidParameterValue", 400, "Sender"


class InternalFailure(StsError):
    pass


# The SigV4 verifier raises the S3 Vectors (JSON protocol) names; STS, a Query-protocol service,
# names the same failures differently, and botocore's sts client looks for these codes.
_AUTH_ERRORS: dict[type[S3VectorsError], type[StsError]] = {
    MissingAuthenticationTokenException: MissingAuthenticationToken,
    UnrecognizedClientException: InvalidClientTokenId,
    InvalidSignatureException: SignatureDoesNotMatch,
    IncompleteSignatureException: IncompleteSignature,
}


def from_auth_error(error: S3VectorsError) -> StsError:
    """The STS error for a failed signature check, with the verifier's message."""
    for raised, answered in _AUTH_ERRORS.items():
        if isinstance(error, raised):
            # STS words a missing signature so; the CLI prints it verbatim.
            message = "Request is missing Authentication Token" if answered is MissingAuthenticationToken else None
            return answered(message or error.message)
    return InternalFailure(error.message)


@dataclass(frozen=True)
class StsResponse:
    """A status, an XML body and the request id to put in the headers."""

    status: int
    body: bytes
    request_id: str


async def handle(request: Request, verifier: SigV4Verifier | None, scope: ArnScope, max_request_bytes: int,
                 who: Who | None = None) -> Response:
    """Answer one STS request; ``verifier`` (scoped to ``sts``) None turns authentication off.

    ``who`` names the caller of a verified key (None, or no ``who``: the account's root).
    """
    try:
        try:
            body = await read_body(request, max_request_bytes)
        except RequestTooLarge:
            raise InvalidParameterValue(f"Request payload exceeds the limit of {max_request_bytes} bytes") from None
        # In a worker thread, like the S3 Vectors operations: hashing a large body for SigV4
        # must not stall the event loop.
        answer = await anyio.to_thread.run_sync(respond, verifier, request, body, scope, who)
    except StsError as error:
        release_traceback(error)
        answer = error_response(error)
    except Exception as error:
        log.exception("unexpected error in STS")
        release_traceback(error)
        answer = error_response(InternalFailure("We encountered an internal error. Please try again."))
    return Response(answer.body, status_code=answer.status, media_type=CONTENT_TYPE,
                    headers={"x-amzn-RequestId": answer.request_id})


def respond(verifier: SigV4Verifier | None, request: Request, body: bytes, scope: ArnScope,
            who: Who | None = None) -> StsResponse:
    """Check the request's signature (scoped to ``sts``), then answer it; errors in STS's shape."""
    try:
        arn = None
        if verifier is not None:
            try:
                access_key_id = verify_signature(verifier, request, body)
                arn = who(access_key_id) if who is not None else None
            except S3VectorsError as error:
                raise from_auth_error(error) from None
        params = parameters(request.scope.get("query_string", b"").decode("latin-1"),
                            request.headers.get("content-type", ""), body)
        return answer(params, scope, arn)
    except StsError as error:
        return error_response(error)


def parameters(query_string: str, content_type: str, body: bytes) -> dict[str, str]:
    """The Query-protocol parameters of a request: the query string's, then a form body's."""
    params: dict[str, str] = {}
    sources = [query_string]
    if content_type.split(";", 1)[0].strip().lower() == FORM_CONTENT_TYPE:
        sources.append(body.decode("utf-8", "replace"))
    for source in sources:
        for name, values in parse_qs(source, keep_blank_values=True).items():
            params[name] = values[-1]
    return params


def answer(params: Mapping[str, str], scope: ArnScope, arn: str | None = None) -> StsResponse:
    """The response to an authenticated STS request with these parameters, from ``arn`` (None: the root)."""
    request_id = str(uuid.uuid4())
    action = params.get("Action")
    if not action:
        raise MissingAction("Missing Action")
    version = params.get("Version", VERSION)
    if action != "GetCallerIdentity" or version != VERSION:
        raise InvalidAction(f"Could not find operation {action} for version {version}")
    root = f"arn:{scope.partition}:iam::{scope.account_id}:root"
    result = {
        "Arn": arn or root,
        # IAM gives a user an opaque unique id (AIDA...); its ARN is as unique here.
        "UserId": scope.account_id if arn in (None, root) else str(arn),
        "Account": scope.account_id,
    }
    fields = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in result.items())
    body = (
        f'<GetCallerIdentityResponse xmlns="{NAMESPACE}">'
        f"<GetCallerIdentityResult>{fields}</GetCallerIdentityResult>"
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        "</GetCallerIdentityResponse>"
    )
    return StsResponse(200, body.encode("utf-8"), request_id)


def error_response(error: StsError) -> StsResponse:
    """The wire shape of an STS error."""
    request_id = str(uuid.uuid4())
    body = (
        f'<ErrorResponse xmlns="{NAMESPACE}">'
        f"<Error><Type>{error.fault}</Type><Code>{error.code}</Code><Message>{escape(error.message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId>"
        "</ErrorResponse>"
    )
    return StsResponse(error.status, body.encode("utf-8"), request_id)
