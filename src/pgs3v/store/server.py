"""Run the store: credentials, engine, SigV4 and the ASGI server, wired together."""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from pgs3v.auth.credentials import Credentials, load_or_create_credentials
from pgs3v.auth.key_registry import KeyRegistry
from pgs3v.auth.sigv4 import SigV4Verifier
from pgs3v.http_protocol import ConnectionGuards, guarded_protocol, raise_file_handle_limit
from pgs3v.store.api.arns import ArnScope
from pgs3v.store.api.http_app import build_app
from pgs3v.store.api.identities import Identities
from pgs3v.store.api.limits import Limits
from pgs3v.store.api.service import VectorStore
from pgs3v.store.engine.native_memory import limit_arenas
from pgs3v.store.engine.warm_start import read_libraries_ahead
from pgs3v.store.storage.location import StorageOptions, open_storage
from pgs3v.store.storage.store_storage import StoreStorage
from pgs3v.tls import ServerTls, server_context

log = logging.getLogger("pgs3v.store")
# Two arenas keep allocation from contending on the 2-core machines this targets, while freed
# request buffers stay pooled (glibc's default is 8 per core).
_MALLOC_ARENAS = 2


@dataclass(frozen=True)
class ServeOptions:
    """How to run the store."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8750
    region: str = "us-east-1"
    account_id: str = "000000000000"
    storage: StorageOptions = field(default_factory=StorageOptions)
    # HTTPS only, with this certificate and key; None serves plain HTTP.
    tls: ServerTls | None = None

    @property
    def scheme(self) -> str:
        """``https`` with a certificate, else ``http``."""
        return "http" if self.tls is None else "https"


def open_store(data_dir: Path, limits: Limits, scope: ArnScope, credentials: Credentials,
               storage: StoreStorage | None = None) -> VectorStore:
    """Open (and recover) the store in ``data_dir``, or on ``storage`` with ``data_dir`` as its cache."""
    # Pagination tokens are signed with a key derived from the store's secret, so they stay
    # valid across restarts (and across servers sharing a bucket) without another file to keep.
    token_secret = hashlib.sha256(b"pgs3v-next-token\0" + credentials.secret_access_key.encode()).digest()
    identities = Identities(credentials, KeyRegistry(data_dir), scope)
    return VectorStore(data_dir, limits=limits, scope=scope, token_secret=token_secret, storage=storage,
                       identities=identities)


def serve(options: ServeOptions, limits: Limits, environ: Mapping[str, str] | None = None,
          handoff: Callable[[uvicorn.Config], uvicorn.Server] | None = None) -> None:
    """Serve the store in the foreground until SIGINT or SIGTERM.

    ``handoff`` makes the HTTP server of a worker that takes its connections from a parent
    (:mod:`pgs3v.store.workers`) instead of listening on ``options``' address.
    """
    # First: a certificate that cannot be used is one line, before any store file is opened.
    tls_context = None if options.tls is None else server_context(options.tls)
    # Before any worker thread exists: request threads then share arenas (see native_memory).
    limit_arenas(_MALLOC_ARENAS)
    file_handles = raise_file_handle_limit()
    guards = ConnectionGuards(
        head_seconds=limits.http_head_seconds, body_idle_seconds=limits.http_body_idle_seconds,
        # The other half is for the store's own files (logs, segments, indexes).
        max_connections=max(1, min(limits.http_max_connections, file_handles // 2)),
    )
    credentials = load_or_create_credentials(options.data_dir, environ)
    scope = ArnScope(region=options.region, account_id=options.account_id)
    storage = open_storage(options.storage, options.data_dir, os.environ if environ is None else environ)
    store = open_store(options.data_dir, limits, scope, credentials, storage)
    # The HTTP stack's native parts are imported by uvicorn only when it starts: map them now,
    # so that they are read ahead with the rest.
    importlib.import_module("uvloop")
    importlib.import_module("httptools")
    read_libraries_ahead()
    assert store.identities is not None, "open_store gives the store its identities"
    verifier = SigV4Verifier(store.identities.secret)
    app = build_app(store, verifier)
    # uvloop + httptools on asyncio transports, which set TCP_NODELAY on accepted sockets, so
    # a response never waits for a delayed ACK (Nagle), see the README's latency note; each
    # response in one write, so the caller is woken once per answer (see http_protocol).
    config = uvicorn.Config(
        app, host=options.host, port=options.port, loop="uvloop", http=guarded_protocol(guards),
        log_level="warning", access_log=False, timeout_keep_alive=75,
        # Our context, not one uvicorn builds from file names: it was checked above, and TCP_NODELAY
        # stays on (it is a socket option, set on the TCP socket under the TLS layer).
        ssl_context_factory=None if tls_context is None else lambda config, default: tls_context,
    )
    where = ("connections handed over by the parent" if handoff
             else f"{options.scheme}://{options.host}:{options.port}")
    print(
        f"pgs3v store{' worker' if handoff else ''} serving {storage.describe()} on {where} "
        f"(region {options.region}, access key {credentials.access_key_id}, "
        f"at most {guards.max_connections} connections of {file_handles} file handles)",
        flush=True,
    )
    # uvicorn shuts down gracefully on SIGTERM and then re-raises it to the handler that was in
    # place before; making that handler a clean exit lets the store close its logs below.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        (handoff or uvicorn.Server)(config).run()
    finally:
        store.close()


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)
