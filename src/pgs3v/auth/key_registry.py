"""The store's other access keys: IAM users of the account, each with its identity policies.

Kept in ``<data_dir>/keys.json`` (mode 0600, replaced atomically and fsynced on every change),
each secret sealed with the master key in ``<data_dir>/keys.key`` (see :mod:`secret_box`)::

    {"version": 1, "keys": [{"access_key_id": "PGS3V...", "user_name": "reader",
      "secret": "<sealed>", "policies": ["{...policy JSON...}"], "created": "2026-12-04T17:00:00Z"}]}

The store's own key (credentials.json or the environment) is not here: it is the account's root.
Servers read the file again when it changes (checked at most once per ``refresh_seconds``, and at
once for a key they do not know), so keys created or deleted by ``pgs3v store keys`` while the
store runs take effect within about a second, in every worker.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pgs3v.auth.credentials import Credentials, generate_credentials
from pgs3v.auth.secret_box import SecretBox, load_or_create_master_key
from pgs3v.durable_files import write_file_atomically

KEYS_FILE = "keys.json"
MASTER_KEY_FILE = "keys.key"
_LOCK_FILE = ".keys.lock"
_VERSION = 1
# IAM's user name rule, so that the ARN a key is known by is one IAM could have made.
_USER_NAME = re.compile(r"[\w+=,.@-]{1,64}")


class KeyRegistryError(ValueError):
    """A key cannot be created, found or read; the message says why."""


@dataclass(frozen=True)
class AccessKey:
    """One key of the registry, without its secret."""

    access_key_id: str
    user_name: str
    policies: tuple[str, ...]  # identity policy documents, as JSON text
    created: str

    def user_arn(self, partition: str, account_id: str) -> str:
        """The IAM user the key belongs to, as IAM names it."""
        return f"arn:{partition}:iam::{account_id}:user/{self.user_name}"


@dataclass(frozen=True)
class _Snapshot:
    stamp: tuple[int, int, int] | None  # (inode, size, mtime_ns) of the file read, None: no file
    keys: dict[str, tuple[AccessKey, str]]  # access key id -> (key, secret)


class KeyRegistry:
    """The keys in one data directory: created and deleted by the CLI, looked up by servers."""

    def __init__(self, data_dir: Path, *, refresh_seconds: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.data_dir = data_dir
        self.path = data_dir / KEYS_FILE
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._box: SecretBox | None = None
        self._snapshot = _Snapshot(None, {})
        self._checked_at = -float("inf")
        self._lock = threading.Lock()

    # Servers' side: look-ups, re-reading the file when it changed.

    def find(self, access_key_id: str) -> tuple[AccessKey, str] | None:
        """The key with this id and its secret, or None; sees changes within ``refresh_seconds``."""
        now = self._clock()
        found = self._snapshot.keys.get(access_key_id)
        # A known key is re-checked once a second (it may have been deleted); an unknown one at
        # once (it may just have been created): a stat costs a microsecond.
        if found is None or now - self._checked_at >= self._refresh_seconds:
            self._checked_at = now
            found = self._current().keys.get(access_key_id)
        return found

    def secret(self, access_key_id: str) -> str | None:
        """The secret of a key, for SigV4, or None when there is no such key."""
        found = self.find(access_key_id)
        return found[1] if found else None

    # The CLI's side: changes, each under a lock so that two at once do not lose one.

    def list_keys(self) -> list[AccessKey]:
        """Every key, oldest first."""
        return sorted((key for key, _ in self._current().keys.values()), key=lambda k: (k.created, k.access_key_id))

    def create(self, user_name: str, policies: Sequence[str]) -> tuple[AccessKey, Credentials]:
        """A new key for ``user_name`` with these (already validated) identity policies, saved."""
        if not _USER_NAME.fullmatch(user_name):
            raise KeyRegistryError(f"invalid name {user_name!r}: 1 to 64 letters, digits or +=,.@_-")
        with self._changing() as records:
            if any(record["user_name"] == user_name for record in records):
                raise KeyRegistryError(f"a key named {user_name!r} exists; delete it first or pick another name")
            credentials = generate_credentials()
            created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            records.append({"access_key_id": credentials.access_key_id, "user_name": user_name,
                            "secret": self._master().seal(credentials.secret_access_key, credentials.access_key_id),
                            "policies": list(policies), "created": created})
        return AccessKey(credentials.access_key_id, user_name, tuple(policies), created), credentials

    def set_policies(self, id_or_name: str, policies: Sequence[str]) -> AccessKey:
        """Replace a key's identity policies (already validated); the key itself stays."""
        with self._changing() as records:
            record = _one(records, id_or_name)
            record["policies"] = list(policies)
        return _key(record)

    def delete(self, id_or_name: str) -> AccessKey:
        """Remove the key with this access key id or name; the key removed."""
        with self._changing() as records:
            record = _one(records, id_or_name)
            records.remove(record)
        return _key(record)

    def credentials(self, id_or_name: str) -> tuple[AccessKey, Credentials]:
        """A key and its secret, by access key id or name (for the local stack's own functions)."""
        record = _one(self._read_records(), id_or_name)
        key = _key(record)
        return key, Credentials(key.access_key_id, self._master().open(record["secret"], key.access_key_id))

    # Reading and writing the file.

    def _master(self) -> SecretBox:
        if self._box is None:
            self._box = load_or_create_master_key(self.data_dir / MASTER_KEY_FILE)
        return self._box

    def _current(self) -> _Snapshot:
        stamp = _stamp(self.path)
        with self._lock:
            if stamp == self._snapshot.stamp:
                return self._snapshot
            records = self._read_records() if stamp is not None else []
            keys = {}
            for record in records:
                key = _key(record)
                keys[key.access_key_id] = (key, self._master().open(record["secret"], key.access_key_id))
            self._snapshot = _Snapshot(stamp, keys)
            return self._snapshot

    def _read_records(self) -> list[dict[str, Any]]:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as problem:
            raise KeyRegistryError(f"cannot read the access keys in {self.path}: {problem}") from None
        if not isinstance(document, dict) or document.get("version") != _VERSION \
                or not isinstance(document.get("keys"), list):
            raise KeyRegistryError(f"{self.path} is not a version {_VERSION} key registry")
        return list(document["keys"])

    @contextmanager
    def _changing(self) -> Iterator[list[dict[str, Any]]]:
        """The records to change in place, written back (atomically, fsynced) when the block ends."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.data_dir / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            records = self._read_records()
            yield records
            document = {"version": _VERSION, "keys": records}
            write_file_atomically(self.path, json.dumps(document, indent=2).encode("utf-8") + b"\n")
        finally:
            os.close(fd)  # releases the lock


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return status.st_ino, status.st_size, status.st_mtime_ns


def _key(record: dict[str, Any]) -> AccessKey:
    try:
        return AccessKey(str(record["access_key_id"]), str(record["user_name"]),
                         tuple(str(p) for p in record.get("policies", [])), str(record.get("created", "")))
    except (KeyError, TypeError) as problem:
        raise KeyRegistryError(f"a key record lacks {problem}") from None


def _one(records: list[dict[str, Any]], id_or_name: str) -> dict[str, Any]:
    for record in records:
        if id_or_name in (record.get("access_key_id"), record.get("user_name")):
            return record
    raise KeyRegistryError(f"no access key {id_or_name!r}")
