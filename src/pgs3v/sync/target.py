"""Where a sync command finds the database and the store: its options, else the local stack's connection.json."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from pgs3v.bridge.json_transport import JsonTransport


class SyncSetupError(RuntimeError):
    """The command cannot tell which database or store to use."""


@dataclass(frozen=True)
class SyncTarget:
    """The database holding the tables and the outbox, and the store holding the indexes."""

    dsn: str
    # None: Amazon S3 Vectors' own endpoint for the region (credentials from AWS's usual chain).
    endpoint: str | None
    region: str
    access_key_id: str | None = None
    secret_access_key: str | None = None

    def transport(self, timeout_seconds: float = 30.0) -> JsonTransport:
        """A signed keep-alive connection to the store's data operations."""
        session = boto3.session.Session(aws_access_key_id=self.access_key_id,
                                        aws_secret_access_key=self.secret_access_key, region_name=self.region)
        credentials = session.get_credentials()
        if credentials is None:
            raise SyncSetupError("no credentials for the store: set PGS3V_ACCESS_KEY_ID and PGS3V_SECRET_ACCESS_KEY, "
                                 "or AWS's usual variables or profile")
        endpoint = session.client("s3vectors", endpoint_url=self.endpoint).meta.endpoint_url
        return JsonTransport(endpoint, credentials, self.region, min(timeout_seconds, 10.0), timeout_seconds)


def resolve_target(data_dir: Path, dsn: str | None, endpoint: str | None, region: str | None,
                   access_key_id: str | None, secret_access_key: str | None) -> SyncTarget:
    """The options given, completed from DATA_DIR/connection.json (written by ``pgs3v up``) when it exists."""
    saved: dict[str, Any] = {}
    connection_file = data_dir / "connection.json"
    if connection_file.is_file():
        saved = json.loads(connection_file.read_text())
    dsn = dsn or saved.get("postgres_dsn")
    if not dsn:
        raise SyncSetupError(f"no database: pass --dsn, or run `pgs3v up` (no {connection_file})")
    from_stack = endpoint is None and "store_endpoint" in saved
    return SyncTarget(
        dsn=dsn,
        endpoint=endpoint or saved.get("store_endpoint"),
        region=region or saved.get("region") or "us-east-1",
        access_key_id=access_key_id or (saved.get("access_key_id") if from_stack else None),
        secret_access_key=secret_access_key or (saved.get("secret_access_key") if from_stack else None),
    )
