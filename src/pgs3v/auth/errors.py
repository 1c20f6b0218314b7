"""The AWS JSON error every server of ours answers with, and the ones authentication raises.

::

    AwsError                                  (code, status, message)
    └── AccessDeniedException                 403
        ├── MissingAuthenticationTokenException  403
        ├── UnrecognizedClientException          403
        ├── IncompleteSignatureException         403
        └── InvalidSignatureException            403

The store (``pgs3v.store.api.errors``) derives its S3 Vectors errors from :class:`AwsError`; the
function host answers the signature errors in the Lambda shape. Each server turns them into its
wire form in one place.
"""

from __future__ import annotations


class AwsError(Exception):
    """Base class: an error with an AWS code and an HTTP status."""

    code = "InternalServerException"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_body(self) -> dict[str, object]:
        """The JSON body the client sees."""
        return {"__type": self.code, "message": self.message}


class AccessDeniedException(AwsError):
    code = "AccessDeniedException"
    status = 403


class MissingAuthenticationTokenException(AccessDeniedException):
    code = "MissingAuthenticationTokenException"


class UnrecognizedClientException(AccessDeniedException):
    code = "UnrecognizedClientException"


class IncompleteSignatureException(AccessDeniedException):
    code = "IncompleteSignatureException"


class InvalidSignatureException(AccessDeniedException):
    code = "InvalidSignatureException"
