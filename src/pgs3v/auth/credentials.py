"""The access key pair the store accepts: from the environment, the data directory, or made up once.

Order of precedence:

1. ``PGS3V_ACCESS_KEY_ID`` and ``PGS3V_SECRET_ACCESS_KEY`` (both, or neither; an empty value
   counts as unset, so ``PGS3V_ACCESS_KEY_ID= pgs3v ...`` switches the variable off);
2. ``<data_dir>/credentials.json`` (``{"access_key_id": ..., "secret_access_key": ...}``);
3. a fresh pair, saved to that file with mode 0600 so the next start (and ``pgs3v up``'s
   ``connection.json``) reuses it.
"""

from __future__ import annotations

import json
import os
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pgs3v.durable_files import write_file_atomically

ACCESS_KEY_ENV = "PGS3V_ACCESS_KEY_ID"
SECRET_KEY_ENV = "PGS3V_SECRET_ACCESS_KEY"
CREDENTIALS_FILE = "credentials.json"

# Shaped like AWS's (20 upper-case alphanumerics, 40-character secret) so tools that sanity-check
# key shapes accept them. The secret sticks to alphanumerics (AWS also uses "+" and "/") so it can
# be pasted into shells, URLs and DSNs unquoted; 40 of 62 symbols is still ~238 bits.
_ACCESS_KEY_PREFIX = "PGS3V"
_ACCESS_KEY_LENGTH = 20
_SECRET_KEY_LENGTH = 40
_ACCESS_KEY_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_KEY_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Credentials:
    """One access key id and its secret."""

    access_key_id: str
    secret_access_key: str

    def __repr__(self) -> str:
        # Keep the secret out of logs and tracebacks.
        return f"Credentials(access_key_id={self.access_key_id!r}, secret_access_key='***')"


def load_or_create_credentials(data_dir: Path, environ: Mapping[str, str] | None = None) -> Credentials:
    """Return the store's credentials from the environment, else data_dir, else a new saved pair."""
    env = os.environ if environ is None else environ
    from_env = _from_environment(env)
    if from_env is not None:
        return from_env
    path = data_dir / CREDENTIALS_FILE
    if path.exists():
        return _read(path)
    data_dir.mkdir(parents=True, exist_ok=True)
    return _save_new(path, generate_credentials())


def generate_credentials() -> Credentials:
    """Make a new random key pair (not saved anywhere)."""
    suffix_length = _ACCESS_KEY_LENGTH - len(_ACCESS_KEY_PREFIX)
    access_key_id = _ACCESS_KEY_PREFIX + "".join(secrets.choice(_ACCESS_KEY_ALPHABET) for _ in range(suffix_length))
    secret = "".join(secrets.choice(_SECRET_KEY_ALPHABET) for _ in range(_SECRET_KEY_LENGTH))
    return Credentials(access_key_id, secret)


def _from_environment(env: Mapping[str, str]) -> Credentials | None:
    access_key_id = env.get(ACCESS_KEY_ENV) or None
    secret = env.get(SECRET_KEY_ENV) or None
    if access_key_id is None and secret is None:
        return None
    if access_key_id is None or secret is None:
        present, missing = (ACCESS_KEY_ENV, SECRET_KEY_ENV) if secret is None else (SECRET_KEY_ENV, ACCESS_KEY_ENV)
        raise ValueError(
            f"{present} is set but {missing} is not: set both to choose the store's credentials, "
            "or neither to use the ones saved in the data directory."
        )
    return Credentials(access_key_id, secret)


def _read(path: Path) -> Credentials:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read credentials from {path}: {exc}") from exc
    access_key_id = document.get("access_key_id") if isinstance(document, dict) else None
    secret = document.get("secret_access_key") if isinstance(document, dict) else None
    if not (isinstance(access_key_id, str) and access_key_id and isinstance(secret, str) and secret):
        raise ValueError(
            f"{path} must be a JSON object with non-empty string fields 'access_key_id' and "
            "'secret_access_key'; fix it, or delete it to have a new pair generated."
        )
    return Credentials(access_key_id, secret)


def _save_new(path: Path, credentials: Credentials) -> Credentials:
    """Write credentials to path atomically with mode 0600; if another process won, use theirs."""
    payload = json.dumps(
        {"access_key_id": credentials.access_key_id, "secret_access_key": credentials.secret_access_key},
        indent=2,
    ).encode("utf-8")
    # Create-only, so two first starts on one data directory agree on one pair instead of the
    # later one silently replacing keys the first already handed out.
    try:
        write_file_atomically(path, payload + b"\n", create_only=True)
    except FileExistsError:
        return _read(path)
    return credentials

