"""Run the function host: credentials, the pgs3v-bridge function, SigV4 and the ASGI server."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from pgs3v.auth.credentials import ACCESS_KEY_ENV, CREDENTIALS_FILE, SECRET_KEY_ENV, Credentials
from pgs3v.auth.credentials import load_or_create_credentials as _load_store_credentials
from pgs3v.auth.key_registry import KeyRegistry, KeyRegistryError
from pgs3v.auth.sigv4 import SigV4Verifier
from pgs3v.bridge.function_host import build_app
from pgs3v.bridge.functions import (
    BRIDGE_FUNCTION,
    BRIDGE_HANDLER,
    DEFAULT_ACCOUNT_ID,
    FunctionRegistry,
    FunctionSpec,
    load_handler,
)
from pgs3v.bridge.invoke_access import InvokeAccess
from pgs3v.bridge.settings import STORE_ENDPOINT
from pgs3v.http_protocol import ConnectionGuards, guarded_protocol, raise_file_handle_limit
from pgs3v.tls import CA_BUNDLE_ENV, ServerTls, client_context, server_context

log = logging.getLogger("pgs3v.functions")

DEFAULT_PORT = 8760
DEFAULT_STORE_ENDPOINT = "http://127.0.0.1:8750"


@dataclass(frozen=True)
class HostOptions:
    """How to run the function host."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    store_endpoint: str = DEFAULT_STORE_ENDPOINT
    region: str = "us-east-1"
    account_id: str = DEFAULT_ACCOUNT_ID
    timeout_seconds: float = 60.0
    concurrency: int = 64
    verify_signatures: bool = True
    extra_functions: tuple[tuple[str, str], ...] = ()  # (name, "module.function")
    # HTTPS only, with this certificate and key; None serves plain HTTP.
    tls: ServerTls | None = None
    # The CA file the bridge trusts when the store's endpoint is https (AWS_CA_BUNDLE of the
    # function); None leaves the environment's.
    ca_file: Path | None = None
    # (name, key): the bridge again as another function, signing with a key of the store's registry
    # in data_dir, as each Lambda function has a role of its own (least privilege, docs/access-control.md).
    bridge_functions: tuple[tuple[str, str], ...] = ()

    @property
    def scheme(self) -> str:
        """``https`` with a certificate, else ``http``."""
        return "http" if self.tls is None else "https"


def host_credentials(data_dir: Path, environ: Mapping[str, str] | None = None) -> Credentials:
    """The store's credentials: from PGS3V_ACCESS_KEY_ID/PGS3V_SECRET_ACCESS_KEY, else the store's data dir."""
    env = os.environ if environ is None else environ
    if not (env.get(ACCESS_KEY_ENV) or env.get(SECRET_KEY_ENV)) and not (data_dir / CREDENTIALS_FILE).exists():
        # Never invent a pair here: the host must accept, and sign with, the keys the store accepts.
        raise ValueError(
            f"no credentials: set {ACCESS_KEY_ENV} and {SECRET_KEY_ENV} to the store's keys, or point "
            f"--data-dir at the store's data directory (the one holding {CREDENTIALS_FILE}); "
            f"`pgs3v store credentials --data-dir DIR` prints them"
        )
    return _load_store_credentials(data_dir, env)


def bridge_environment(options: HostOptions, credentials: Credentials, name: str = BRIDGE_FUNCTION) -> dict[str, str]:
    """The environment a bridge function sees, as its Lambda configuration would set it."""
    ca = {CA_BUNDLE_ENV: str(options.ca_file.resolve())} if options.ca_file is not None else {}
    return {
        **ca,
        STORE_ENDPOINT: options.store_endpoint,
        "AWS_ACCESS_KEY_ID": credentials.access_key_id,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_access_key,
        "AWS_REGION": options.region,
        "AWS_DEFAULT_REGION": options.region,
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    }


def build_registry(options: HostOptions, credentials: Credentials) -> FunctionRegistry:
    """pgs3v-bridge, the bridge under each key of ``bridge_functions``, and any extra functions."""
    specs = [
        FunctionSpec(BRIDGE_FUNCTION, load_handler(BRIDGE_HANDLER), BRIDGE_HANDLER, options.timeout_seconds,
                     environment=bridge_environment(options, credentials))
    ]
    registry = KeyRegistry(options.data_dir)
    for name, key in options.bridge_functions:
        try:
            _, own = registry.credentials(key)
        except KeyRegistryError as problem:
            raise ValueError(f"bridge function {name}: {problem} in {registry.path}") from None
        specs.append(FunctionSpec(name, load_handler(BRIDGE_HANDLER), BRIDGE_HANDLER, options.timeout_seconds,
                                  environment=bridge_environment(options, own, name)))
    specs += [
        FunctionSpec(name, load_handler(path), path, options.timeout_seconds)
        for name, path in options.extra_functions
    ]
    return FunctionRegistry(specs, region=options.region, account_id=options.account_id)


def apply_environment(specs: list[FunctionSpec], environ: MutableMapping[str, str]) -> None:
    """Give the functions their environment (one process, so they share it, like one Lambda container)."""
    # A developer's temporary AWS session token would be sent alongside the store's keys.
    for name in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        environ.pop(name, None)
    # The owner's pgs3v-bridge last, so that what the process environment keeps (for extra
    # functions) is its keys; each bridge function still signs with its own (function_environment).
    for spec in sorted(specs, key=lambda spec: spec.name == BRIDGE_FUNCTION):
        environ.update(spec.environment)


def serve(options: HostOptions, environ: Mapping[str, str] | None = None) -> None:
    """Serve the function host in the foreground until SIGINT or SIGTERM."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pgs3v.functions").setLevel(logging.INFO)
    # First: an unusable certificate or CA file is one line, before anything starts.
    tls_context = None if options.tls is None else server_context(options.tls)
    if options.ca_file is not None:
        client_context(options.ca_file)
    credentials = host_credentials(options.data_dir, environ)
    registry = build_registry(options, credentials)
    apply_environment(registry.specs(), os.environ)
    # The owner's key and the registry's (seen within a second of `pgs3v store keys` changing
    # them), each allowed what it may invoke: the store's own rule, for lambda:InvokeFunction.
    access = InvokeAccess(credentials, KeyRegistry(options.data_dir), options.account_id)
    verifier = SigV4Verifier(access.secret, service="lambda") if options.verify_signatures else None
    app = build_app(registry, verifier, concurrency=options.concurrency, access=access)
    # uvloop sets TCP_NODELAY on accepted sockets: a small response never waits ~40 ms for the
    # client's delayed ACK (Nagle). The protocol writes each response's head and body at once.
    guards = ConnectionGuards(max_connections=min(ConnectionGuards.max_connections, raise_file_handle_limit() // 2))
    config = uvicorn.Config(
        app, host=options.host, port=options.port, loop="uvloop", http=guarded_protocol(guards),
        log_level="warning", access_log=False, timeout_keep_alive=75,
        ssl_context_factory=None if tls_context is None else lambda config, default: tls_context,
    )
    print(
        f"pgs3v function host on {options.scheme}://{options.host}:{options.port} "
        f"serving {', '.join(registry.names())} "
        f"(store {options.store_endpoint}, region {options.region}, access key {credentials.access_key_id}"
        f"{'' if options.verify_signatures else ', signatures NOT verified'})",
        flush=True,
    )
    uvicorn.Server(config).run()
