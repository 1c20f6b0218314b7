"""The function host as a child process (see :mod:`pgs3v.child_server`)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pgs3v.auth.credentials import Credentials
from pgs3v.child_server import ChildServer
from pgs3v.tls import ServerTls


class FunctionHostProcess(ChildServer):
    """``pgs3v functions serve`` in a child process, in front of the store at ``store_endpoint``."""

    def __init__(
        self,
        store_endpoint: str,
        credentials: Credentials,
        *,
        port: int | None = None,
        extra_args: tuple[str, ...] = (),
        region: str = "us-east-1",
        cwd: Path | None = None,
        log_file: Path | None = None,
        tls: ServerTls | None = None,
        ca_file: Path | None = None,
    ) -> None:
        """``ca_file`` is trusted by the health check and :meth:`client`, and by the bridge for the store."""
        super().__init__(credentials, port=port, extra_args=extra_args, region=region, cwd=cwd, log_file=log_file,
                         tls=tls, ca_file=ca_file)
        self.store_endpoint = store_endpoint

    def command(self) -> list[str]:
        """The host's command line, through ``standalone`` so it does not depend on cli.py's wiring."""
        return [
            sys.executable, "-c", "from pgs3v.bridge.cli import standalone; standalone()", "functions", "serve",
            "--port", str(self.port), "--store-endpoint", self.store_endpoint, "--region", self.region,
            *self.tls_args(), *(["--tls-ca", str(self.ca_file)] if self.ca_file is not None else []),
            *self.extra_args,
        ]

    def start(self, environ: Mapping[str, str] | None = None) -> FunctionHostProcess:
        """Start the host and wait until its health check answers."""
        super().start(environ)
        return self

    def client(self, **config: Any) -> Any:
        """boto3's own lambda client for this host (no retries, so tests see every answer)."""
        import boto3
        from botocore.config import Config

        settings: dict[str, Any] = {"retries": {"total_max_attempts": 1}, "read_timeout": 120}
        settings.update(config)
        return boto3.client(
            "lambda", endpoint_url=self.endpoint, region_name=self.region,
            aws_access_key_id=self.credentials.access_key_id,
            aws_secret_access_key=self.credentials.secret_access_key,
            config=Config(**settings), verify=self.verify(),
        )
