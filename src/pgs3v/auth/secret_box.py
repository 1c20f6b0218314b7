"""Secrets sealed at rest with a key kept in a file of its own (AES-256-GCM).

SigV4 cannot work from a hash: the store recomputes each request's signature from the secret
itself, so it must be able to recover it (AWS keeps its secrets recoverably too). What a seal buys
is that the file listing the keys is worthless on its own: a backup, a copy attached to a bug
report or a misplaced ``cat`` of ``keys.json`` does not hand out the keys, unless the master key
file travels with it. The threat model is in docs/access-control.md.
"""

from __future__ import annotations

import base64
import contextlib
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pgs3v.durable_files import write_file_atomically

_KEY_BYTES = 32
_NONCE_BYTES = 12  # GCM's standard nonce; random per seal, 2^-32 collision risk only after 2^32 seals


class SealError(ValueError):
    """A sealed value could not be opened: a wrong master key, or a changed file."""


class SecretBox:
    """Seals and opens short secrets with one master key, binding each to a label (its key id)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != _KEY_BYTES:
            raise ValueError(f"a master key is {_KEY_BYTES} bytes, got {len(key)}")
        self._aead = AESGCM(key)

    def seal(self, secret: str, label: str) -> str:
        """The secret encrypted, as text to store; ``label`` must be given again to open it."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        # The label is authenticated data: a sealed secret moved onto another key's record fails to open.
        sealed = self._aead.encrypt(nonce, secret.encode("utf-8"), label.encode("utf-8"))
        return base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, sealed: str, label: str) -> str:
        """The secret :meth:`seal` sealed under ``label`` (SealError if it cannot be)."""
        try:
            raw = base64.b64decode(sealed, validate=True)
            return self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], label.encode("utf-8")).decode("utf-8")
        except (ValueError, InvalidTag) as problem:
            raise SealError(f"cannot open the secret of {label}: wrong master key or altered record") from problem


def load_or_create_master_key(path: Path) -> SecretBox:
    """The box of the master key in ``path`` (mode 0600), made the first time it is asked for."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        encoded = base64.b64encode(secrets.token_bytes(_KEY_BYTES)) + b"\n"
        # Create-only: two first writers agree on one key instead of one sealing with a key the
        # other then replaces.
        with contextlib.suppress(FileExistsError):
            write_file_atomically(path, encoded, create_only=True)
    try:
        key = base64.b64decode(path.read_bytes().strip(), validate=True)
    except ValueError as problem:
        raise ValueError(f"{path} does not hold a base64 master key: {problem}") from None
    return SecretBox(key)
