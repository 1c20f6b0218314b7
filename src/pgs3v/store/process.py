"""The store as a child process (see :mod:`pgs3v.child_server`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pgs3v.auth.credentials import Credentials
from pgs3v.child_server import PGS3V_COMMAND, ChildServer, free_port, tail, wait_until_healthy
from pgs3v.tls import ServerTls

__all__ = ["StoreProcess", "free_port", "tail", "wait_until_healthy"]


class StoreProcess(ChildServer):
    """``pgs3v store serve`` on ``data_dir`` in a child process."""

    def __init__(
        self,
        data_dir: Path,
        credentials: Credentials,
        *,
        port: int | None = None,
        extra_args: tuple[str, ...] = (),
        region: str = "us-east-1",
        log_file: Path | None = None,
        tls: ServerTls | None = None,
        ca_file: Path | None = None,
    ) -> None:
        super().__init__(credentials, port=port, extra_args=extra_args, region=region,
                         log_file=log_file or data_dir.parent / f"{data_dir.name}.log", tls=tls, ca_file=ca_file)
        self.data_dir = data_dir

    def command(self) -> list[str]:
        """``pgs3v store serve`` with this server's directory, port and region."""
        return [*PGS3V_COMMAND, "store", "serve", "--data-dir", str(self.data_dir), "--port", str(self.port),
                "--region", self.region, *self.tls_args(), *self.extra_args]

    def start(self, environ: Mapping[str, str] | None = None) -> StoreProcess:
        """Start the store and wait until it answers."""
        super().start(environ)
        return self

    def client(self, **config: Any) -> Any:
        """boto3's own s3vectors client for this server (one per thread: clients hold connections)."""
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3vectors", endpoint_url=self.endpoint, region_name=self.region,
            aws_access_key_id=self.credentials.access_key_id,
            aws_secret_access_key=self.credentials.secret_access_key,
            config=Config(**config) if config else None, verify=self.verify(),
        )
