"""One boto3 s3vectors client per container, built on first use from the environment.

A Lambda container handles many invocations; building a client costs tens of milliseconds and
its connection pool keeps connections to the store alive between them, so the client is a
module-level singleton. The local function host runs several invocations at once in threads,
hence the lock (boto3 clients are thread-safe once built; building one is not).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from pgs3v.bridge.json_transport import JsonTransport
from pgs3v.bridge.settings import BridgeSettings, load_settings

log = logging.getLogger("pgs3v.bridge")

# The function host runs up to this many invocations at once in one process; each may hold a
# pooled connection, and botocore warns (and blocks) when its pool is exhausted.
MAX_POOL_CONNECTIONS = 64


@dataclass(frozen=True)
class StoreClient:
    """The client, the settings it was built from, and the API-name -> method-name map."""

    client: Any
    settings: BridgeSettings
    methods: dict[str, str]
    transport: JsonTransport

    @property
    def endpoint(self) -> str:
        """The base URL calls go to."""
        return str(self.client.meta.endpoint_url)


_lock = threading.Lock()
_current: StoreClient | None = None


def store_client() -> StoreClient:
    """The container's client, built from the environment the first time it is asked for."""
    global _current
    current = _current
    if current is not None:
        return current
    with _lock:
        if _current is None:
            _current = _build(load_settings())
        return _current


def reset_store_client() -> None:
    """Forget the client, so the next call rebuilds it from the (changed) environment."""
    global _current
    with _lock:
        _current = None


def _build(settings: BridgeSettings) -> StoreClient:
    logging.getLogger("pgs3v.bridge").setLevel(settings.log_level)
    config = Config(
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        # Our retry loop (pgs3v.bridge.retry) is the only one, so its schedule is the one that runs.
        retries={"total_max_attempts": 1, "mode": "standard"},
        max_pool_connections=MAX_POOL_CONNECTIONS,
        tcp_keepalive=True,
        # The handler validates each whole request once before splitting it (see handler._run).
        parameter_validation=False,
    )
    # A private session: boto3's default session is shared module state and not thread-safe.
    session = boto3.session.Session()
    # verify: the CA file when one is set, else botocore's default (verification on); never False.
    client = session.client(
        "s3vectors", endpoint_url=settings.endpoint_url, region_name=settings.region, config=config,
        verify=settings.ca_file,
    )
    methods = {api: method for method, api in client.meta.method_to_api_mapping.items()}
    # Same endpoint and credentials (session tokens included, refreshed by botocore) as the client.
    transport = JsonTransport(client.meta.endpoint_url, session.get_credentials(), client.meta.region_name,
                              settings.connect_timeout, settings.read_timeout, settings.ca_file)
    log.debug("s3vectors client for %s (region %s)", client.meta.endpoint_url, settings.region)
    return StoreClient(client, settings, methods, transport)
