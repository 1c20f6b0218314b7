"""Measure boto3's S3 client against obstore on a SeaweedFS server started here.

The requests the store makes of a bucket: small create-only puts (write-ahead log commits),
small whole and ranged gets (re-rank reads), and 8 MiB transfers (segment files). Prints p50
and p99 per client; docs/benchmarks.md has the figures that chose obstore.

    .venv/bin/python scripts/measure_object_clients.py
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import obstore
from botocore.config import Config
from obstore.store import S3Store

from pgs3v.stack.seaweedfs import SeaweedFS

BUCKET = "pgs3v-measure"


def _timed(name: str, call: Callable[[int], object], count: int) -> None:
    times = []
    for i in range(count):
        started = time.perf_counter()
        call(i)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    print(f"{name:28s} p50 {times[count // 2]:7.2f} ms   p99 {times[min(count - 1, int(count * 0.99))]:7.2f} ms")


def main() -> None:
    """Start SeaweedFS, time both clients, stop it."""
    with tempfile.TemporaryDirectory() as directory:
        server = SeaweedFS(Path(directory)).start()
        try:
            server.create_bucket(BUCKET)
            keys = server.credentials
            s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name=server.region,
                              aws_access_key_id=keys.access_key_id, aws_secret_access_key=keys.secret_access_key,
                              config=Config(s3={"addressing_style": "path"}))
            store = S3Store(BUCKET, endpoint=server.endpoint, region=server.region, access_key_id=keys.access_key_id,
                            secret_access_key=keys.secret_access_key, virtual_hosted_style_request=False,
                            client_options={"allow_http": True})
            small, large = os.urandom(4096), os.urandom(8 << 20)
            _timed("boto3 put 4 KiB create", lambda i: s3.put_object(Bucket=BUCKET, Key=f"b/{i}", Body=small,
                                                                     IfNoneMatch="*"), 300)
            _timed("obstore put 4 KiB create", lambda i: obstore.put(store, f"o/{i}", small, mode="create"), 300)
            _timed("boto3 get 4 KiB", lambda i: s3.get_object(Bucket=BUCKET, Key=f"b/{i}")["Body"].read(), 300)
            _timed("obstore get 4 KiB", lambda i: bytes(obstore.get(store, f"o/{i}").bytes()), 300)
            _timed("boto3 ranged get 3 KiB", lambda i: s3.get_object(Bucket=BUCKET, Key=f"b/{i}",
                                                                     Range="bytes=100-3171")["Body"].read(), 300)
            _timed("obstore ranged get 3 KiB", lambda i: bytes(obstore.get_range(store, f"o/{i}", start=100,
                                                                                 end=3172)), 300)
            _timed("boto3 put 8 MiB", lambda i: s3.put_object(Bucket=BUCKET, Key=f"B/{i}", Body=large), 10)
            _timed("obstore put 8 MiB", lambda i: obstore.put(store, f"O/{i}", large), 10)
            _timed("boto3 get 8 MiB", lambda i: s3.get_object(Bucket=BUCKET, Key=f"B/{i}")["Body"].read(), 10)
            _timed("obstore get 8 MiB", lambda i: bytes(obstore.get(store, f"O/{i}").bytes()), 10)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
