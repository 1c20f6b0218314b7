"""Test support: a real store server in a subprocess on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ACCESS_KEY_ID = "PGS3VTESTACCESSKEY01"
SECRET_ACCESS_KEY = "test-secret-access-key-0123456789abcdefgh"
REGION = "us-east-1"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class StoreProcess:
    """``pgs3v store serve`` as a child process that can be stopped, killed and restarted."""

    def __init__(self, data_dir: Path, extra_args: tuple[str, ...] = ()) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.extra_args = extra_args
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """The store's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> StoreProcess:
        """Start the server and wait until it answers."""
        env = dict(os.environ, PGS3V_ACCESS_KEY_ID=ACCESS_KEY_ID, PGS3V_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY)
        command = [
            sys.executable, "-c", "from pgs3v.cli import main; main()",
            "store", "serve", "--data-dir", str(self.data_dir), "--port", str(self.port), *self.extra_args,
        ]
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                stderr = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"store exited with {self.process.returncode}: {stderr}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/_pgs3v/health", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("store did not become ready within 60 s")

    def stop(self) -> None:
        """Graceful shutdown (SIGTERM)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """Crash the server: SIGKILL, no chance to flush anything."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
        self.process = None


def client(endpoint: str, *, validate: bool = True, secret: str = SECRET_ACCESS_KEY,
           access_key: str = ACCESS_KEY_ID) -> Any:
    """boto3's own s3vectors client for the store; ``validate=False`` lets bad input reach the server."""
    config = Config(parameter_validation=validate, retries={"max_attempts": 1}, max_pool_connections=32)
    return boto3.client(
        "s3vectors", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=access_key,
        aws_secret_access_key=secret, config=config,
    )


def error_of(call: Any, *args: Any, **kwargs: Any) -> tuple[str, int, dict[str, Any]]:
    """(code, HTTP status, whole response) of a call that must fail."""
    from botocore.exceptions import ClientError

    try:
        call(*args, **kwargs)
    except ClientError as error:
        response: dict[str, Any] = error.response
        return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response
    raise AssertionError("the call succeeded but should have failed")
