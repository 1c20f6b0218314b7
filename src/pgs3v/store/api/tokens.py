"""Opaque, tamper-evident pagination tokens.

A token records where the previous page ended (a name, a key hash or a rank), never a row
number, so it stays valid while other clients write. It is signed with a per-store secret so a
forged or altered token is a ValidationException rather than a surprise. A QueryVectors token also
records when its query's first page ran, so that it expires as AWS's do (data_plane checks both).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import orjson

from pgs3v.store.api.errors import ValidationException

_MAC_BYTES = 12


class TokenCodec:
    """Encodes and checks nextToken values for one store."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def encode(self, purpose: str, state: dict[str, Any]) -> str:
        """A token for ``purpose`` (an operation name) carrying ``state``."""
        payload = orjson.dumps([purpose, state])
        mac = hmac.new(self._secret, payload, hashlib.sha256).digest()[:_MAC_BYTES]
        return base64.urlsafe_b64encode(mac + payload).decode("ascii").rstrip("=")

    def decode(self, purpose: str, token: str) -> dict[str, Any]:
        """The state inside a token this store issued for ``purpose``."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            mac, payload = raw[:_MAC_BYTES], raw[_MAC_BYTES:]
            expected = hmac.new(self._secret, payload, hashlib.sha256).digest()[:_MAC_BYTES]
            if not hmac.compare_digest(mac, expected):
                raise ValueError("bad token signature")
            token_purpose, state = orjson.loads(payload)
            if token_purpose != purpose or not isinstance(state, dict):
                raise ValueError("token issued for another operation")
        except (ValueError, TypeError, orjson.JSONDecodeError):
            raise ValidationException.for_field("/nextToken", "The provided token is invalid") from None
        return state
