"""The bridge's configuration, read from environment variables as AWS Lambda provides them.

One table (name, default, help) drives parsing and docs/bridge.md; a test fails when a setting
is undocumented. Credentials are not here: boto3 reads ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY`` and ``AWS_SESSION_TOKEN`` itself, which is how Lambda hands them over.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from pgs3v.bridge.retry import RetryPolicy

STORE_ENDPOINT = "PGS3V_STORE_ENDPOINT"
AWS_ENDPOINT = "AWS_ENDPOINT_URL_S3VECTORS"

# (name, default, help); an empty default means "unset".
SETTINGS: tuple[tuple[str, str, str], ...] = (
    (STORE_ENDPOINT, "", "Base URL of the S3 Vectors API to call, e.g. http://127.0.0.1:8750 (wins over the next)."),
    (AWS_ENDPOINT, "", "boto3's own endpoint override for s3vectors; used when PGS3V_STORE_ENDPOINT is unset."),
    ("AWS_CA_BUNDLE", "", "CA certificates (PEM file) trusted for an https store endpoint; unset: the system's."),
    ("AWS_REGION", "", "Region to sign for (set by Lambda); else AWS_DEFAULT_REGION; us-east-1 for a custom endpoint."),
    ("PGS3V_BRIDGE_CONNECT_TIMEOUT", "3", "Seconds to wait for a TCP connection to the store."),
    ("PGS3V_BRIDGE_READ_TIMEOUT", "30", "Seconds to wait for the store's answer to one call."),
    ("PGS3V_BRIDGE_MAX_ATTEMPTS", "6", "Attempts per store call when it answers 429 or 503 (1 = no retries)."),
    ("PGS3V_BRIDGE_RETRY_BASE_DELAY", "0.1", "Seconds; retry n sleeps uniform(0, min(cap, base * 2**(n-1)))."),
    ("PGS3V_BRIDGE_RETRY_MAX_DELAY", "2", "Seconds; the cap on one backoff sleep."),
    ("PGS3V_BRIDGE_RETRY_MAX_TOTAL", "10", "Seconds; the most one store call may spend sleeping between retries."),
    ("PGS3V_BRIDGE_LOG_LEVEL", "WARNING", "Level of the pgs3v.bridge logger; INFO logs one line per invocation."),
)

_DEFAULTS = {name: default for name, default, _ in SETTINGS}


@dataclass(frozen=True)
class BridgeSettings:
    """Everything the handler needs to reach the store, as read from the environment."""

    endpoint_url: str | None
    region: str | None
    ca_file: str | None
    connect_timeout: float
    read_timeout: float
    retry: RetryPolicy
    log_level: str


def load_settings(environ: Mapping[str, str] | None = None) -> BridgeSettings:
    """Read the bridge's settings from ``environ`` (default: the process environment)."""
    env = os.environ if environ is None else environ
    endpoint = env.get(STORE_ENDPOINT) or env.get(AWS_ENDPOINT) or None
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None
    if region is None and endpoint is not None:
        # A self-hosted store accepts any region; boto3 refuses to sign without one.
        region = "us-east-1"
    retry = RetryPolicy(
        max_attempts=int(_number(env, "PGS3V_BRIDGE_MAX_ATTEMPTS", minimum=1)),
        base_delay=_number(env, "PGS3V_BRIDGE_RETRY_BASE_DELAY"),
        max_delay=_number(env, "PGS3V_BRIDGE_RETRY_MAX_DELAY"),
        max_total_delay=_number(env, "PGS3V_BRIDGE_RETRY_MAX_TOTAL"),
    )
    level = (env.get("PGS3V_BRIDGE_LOG_LEVEL") or _DEFAULTS["PGS3V_BRIDGE_LOG_LEVEL"]).upper()
    return BridgeSettings(
        endpoint_url=endpoint,
        region=region,
        ca_file=env.get("AWS_CA_BUNDLE") or None,
        connect_timeout=_number(env, "PGS3V_BRIDGE_CONNECT_TIMEOUT", minimum=0.001),
        read_timeout=_number(env, "PGS3V_BRIDGE_READ_TIMEOUT", minimum=0.001),
        retry=retry,
        log_level=level,
    )


def _number(env: Mapping[str, str], name: str, minimum: float = 0.0) -> float:
    raw = env.get(name) or _DEFAULTS[name]
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None
    if not value >= minimum:  # also refuses NaN
        raise ValueError(f"{name} must be at least {minimum:g}, got {raw!r}")
    return value
