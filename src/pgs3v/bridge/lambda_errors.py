"""Errors the function host answers with, named and numbered like the Lambda Invoke API's.

The tree (each class carries the Lambda error ``code``, the HTTP ``status`` and the body's
``Type``, "User" for the caller's mistakes and "Service" for ours)::

    LambdaError
    ├── InvalidRequestContentException   400  the payload is not JSON
    ├── InvalidParameterValueException   400  a qualifier or client context that cannot be used
    ├── ValidationException              400  a header or name outside what the API allows
    ├── AccessDeniedException            403  a key whose identity policies do not allow the invocation
    ├── ResourceNotFoundException        404  no such function (or version)
    ├── RequestTooLargeException         413  the payload is over Lambda's limit
    └── ServiceException                 500  the host itself failed

Signature problems reuse the 403 errors both servers share (``pgs3v.auth.errors.AccessDeniedException``
and its subclasses). Only ``pgs3v.bridge.function_host`` turns errors into the wire shape
(``x-amzn-ErrorType`` header, ``{"Type": ..., "message": ...}`` body, as botocore reads it).
"""

from __future__ import annotations


class LambdaError(Exception):
    """Base class: an error with a Lambda error code, an HTTP status and a Type."""

    code = "ServiceException"
    status = 500
    error_type = "Service"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_body(self) -> dict[str, str]:
        """The JSON body the client sees."""
        return {"Type": self.error_type, "message": self.message}


class InvalidRequestContentException(LambdaError):
    code = "InvalidRequestContentException"
    status = 400
    error_type = "User"


class InvalidParameterValueException(LambdaError):
    code = "InvalidParameterValueException"
    status = 400
    error_type = "User"


class ValidationException(LambdaError):
    code = "ValidationException"
    status = 400
    error_type = "User"


class AccessDeniedException(LambdaError):
    code = "AccessDeniedException"
    status = 403
    error_type = "User"


class ResourceNotFoundException(LambdaError):
    code = "ResourceNotFoundException"
    status = 404
    error_type = "User"


class RequestTooLargeException(LambdaError):
    code = "RequestTooLargeException"
    status = 413
    error_type = "User"


class ServiceException(LambdaError):
    code = "ServiceException"
    status = 500
    error_type = "Service"
