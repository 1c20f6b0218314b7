"""The one error a `pgs3v aws` step raises: a one-line message that says what failed and the fix."""

from __future__ import annotations


class AwsStepError(RuntimeError):
    """A step could not do its job; the message names the fix (a command, a permission, a setting)."""
