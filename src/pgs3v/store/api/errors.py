"""Errors the store answers with, one class per S3 Vectors error code.

The tree (every class carries the AWS ``code`` and the HTTP ``status``)::

    S3VectorsError
    ├── ValidationException             400  (carries ``field_list``)
    ├── AccessDeniedException           403
    │   ├── MissingAuthenticationTokenException  403
    │   ├── UnrecognizedClientException          403
    │   ├── IncompleteSignatureException         403
    │   └── InvalidSignatureException            403
    ├── NotFoundException               404
    ├── UnknownOperationException       404  (no operation has that method and path)
    ├── RequestTimeoutException         408
    ├── ConflictException               409
    ├── ServiceQuotaExceededException   402
    ├── TooManyRequestsException        429
    ├── InternalServerException         500
    └── ServiceUnavailableException     503

``S3VectorsError`` is :class:`pgs3v.auth.errors.AwsError`, and the 403 family comes from
``pgs3v.auth.errors``: the function host answers the same signature errors. The lower layers
raise their own errors (``store.engine.errors``, ``store.storage.errors``, ``OSError``);
:func:`from_lower_layer` turns them into these. Only ``pgs3v.store.api.http_app`` turns these into
the wire shape (``x-amzn-ErrorType`` header, ``__type`` and ``message`` in the body).
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass

from pgs3v.auth.errors import (
    AccessDeniedException,
    AwsError,
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)
from pgs3v.store.engine.errors import EngineError, IndexUnavailable, InvalidFilter
from pgs3v.store.storage.errors import (
    DISK_FULL_ERRNOS,
    OUT_OF_FILE_HANDLES_ERRNOS,
    StorageError,
    StorageFull,
    WalFencedError,
    WriteRefused,
)

__all__ = [
    "AccessDeniedException", "ConflictException", "IncompleteSignatureException", "InternalServerException",
    "InvalidSignatureException", "MissingAuthenticationTokenException", "NotFoundException",
    "RequestTimeoutException", "S3VectorsError", "ServiceQuotaExceededException", "ServiceUnavailableException",
    "TooManyRequestsException", "UnknownOperationException", "UnrecognizedClientException",
    "ValidationException", "from_lower_layer", "release_traceback", "unavailable_for",
]
DISK_FULL_MESSAGE = "The store's disk is full: the request was not carried out. Retry once space has been freed."
FENCED_MESSAGE = "Other servers kept writing to this index at the same moment; retry the request."
NO_FILE_HANDLES_MESSAGE = "The store has no file handles left: the request was not carried out. Retry shortly."


def release_traceback(error: BaseException) -> None:
    """Drop what ``error`` and the exceptions chained to it keep alive: their frames' locals.

    An answered error must not hold its request: a traceback keeps every frame it passed
    through, and those frames the parsed body (tens of MB for a rejected PutVectors). The
    frames and the exceptions that name them form cycles, freed only when the cyclic collector
    happens to run, and a worker thread's last one can linger until its next request.
    """
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if current.__traceback__ is not None:
            traceback.clear_frames(current.__traceback__)
            current.__traceback__ = None
        pending += [current.__cause__, current.__context__]


@dataclass(frozen=True)
class FieldError:
    """One entry of a ValidationException's ``fieldList``."""

    path: str
    message: str


# The store's errors are AWS JSON errors; one base for both servers' error handlers.
S3VectorsError = AwsError


class ValidationException(S3VectorsError):
    code = "ValidationException"
    status = 400

    def __init__(self, message: str, field_list: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.field_list = field_list or []

    def to_body(self) -> dict[str, object]:
        body = super().to_body()
        if self.field_list:
            body["fieldList"] = [{"path": f.path, "message": f.message} for f in self.field_list]
        return body

    @classmethod
    def for_field(cls, path: str, message: str) -> ValidationException:
        """A single-field validation error in AWS's wording."""
        return cls(f"1 validation error detected. {message}", [FieldError(path, message)])


class NotFoundException(S3VectorsError):
    code = "NotFoundException"
    status = 404


class UnknownOperationException(S3VectorsError):
    # What AWS's service frameworks answer when no operation claims a request's method and
    # path (Smithy's protocol notes): the wire shape of every other error, status 404.
    code = "UnknownOperationException"
    status = 404


class RequestTimeoutException(S3VectorsError):
    code = "RequestTimeoutException"
    status = 408


class ConflictException(S3VectorsError):
    code = "ConflictException"
    status = 409


class ServiceQuotaExceededException(S3VectorsError):
    code = "ServiceQuotaExceededException"
    status = 402


class TooManyRequestsException(S3VectorsError):
    code = "TooManyRequestsException"
    status = 429


class InternalServerException(S3VectorsError):
    code = "InternalServerException"
    status = 500


class ServiceUnavailableException(S3VectorsError):
    code = "ServiceUnavailableException"
    status = 503


BUCKET_NOT_FOUND = "The specified vector bucket could not be found"
INDEX_NOT_FOUND = "The specified index could not be found"
POLICY_NOT_FOUND = "The specified vector bucket policy could not be found"
BUCKET_EXISTS = "A vector bucket with the specified name already exists"
INDEX_EXISTS = "An index with the specified name already exists"
BUCKET_NOT_EMPTY = "The specified vector bucket is not empty"


def unavailable_for(error: OSError) -> ServiceUnavailableException | None:
    """The retryable 503 for a resource the machine ran out of (disk, file handles); None otherwise.

    Its message names no server path: the client learns what to do, not where the files are.
    """
    if error.errno in DISK_FULL_ERRNOS:
        return ServiceUnavailableException(DISK_FULL_MESSAGE)
    if error.errno in OUT_OF_FILE_HANDLES_ERRNOS:
        return ServiceUnavailableException(NO_FILE_HANDLES_MESSAGE)
    return None


def from_lower_layer(error: EngineError | StorageError | OSError) -> S3VectorsError | None:
    """The S3 Vectors error a client sees for an engine or storage error; None: let it be a 500."""
    if isinstance(error, InvalidFilter):
        return ValidationException(f"Invalid filter: {error}")
    if isinstance(error, StorageFull):
        return ServiceUnavailableException(DISK_FULL_MESSAGE)
    if isinstance(error, WalFencedError):
        return ServiceUnavailableException(FENCED_MESSAGE)
    if isinstance(error, WriteRefused | IndexUnavailable):
        return ServiceUnavailableException(str(error))
    if isinstance(error, StorageError | EngineError):
        return InternalServerException(str(error))
    return unavailable_for(error)
