"""One boto3 s3vectors client per container, built on first use from the environment.

A Lambda container handles many invocations; building a client costs tens of milliseconds and
its connection pool keeps connections to the store alive between them, so the client is a
module-level singleton. The local function host runs several invocations at once in threads,
hence the lock (boto3 clients are thread-safe once built; building one is not), and several
functions, each with its own environment (see function_environment): one client per environment,
signing with that function's own key.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from pgs3v.bridge.function_environment import current_environment, function_overlay
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
# None: the process's own environment (Lambda); else one function's variables on a local host.
_clients: dict[tuple[tuple[str, str], ...] | None, StoreClient] = {}


def store_client() -> StoreClient:
    """The running function's client, built from its environment the first time it is asked for."""
    overlay = function_overlay()
    key = None if overlay is None else tuple(sorted(overlay.items()))
    current = _clients.get(key)
    if current is not None:
        return current
    with _lock:
        if key not in _clients:
            environment = current_environment()
            _clients[key] = _build(load_settings(environment), environment if overlay is not None else None)
        return _clients[key]


def reset_store_client() -> None:
    """Forget the clients, so the next call rebuilds them from the (changed) environment."""
    with _lock:
        _clients.clear()


def _build(settings: BridgeSettings, environment: Mapping[str, str] | None = None) -> StoreClient:
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
    # A private session: boto3's default session is shared module state and not thread-safe. A
    # function of a local host signs with the keys of its own environment, not the process's.
    keys = {} if environment is None or not environment.get("AWS_ACCESS_KEY_ID") else {
        "aws_access_key_id": environment["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": environment.get("AWS_SECRET_ACCESS_KEY"),
        "aws_session_token": environment.get("AWS_SESSION_TOKEN"),
    }
    session = boto3.session.Session(**keys)
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
