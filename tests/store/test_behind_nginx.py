"""Two stores on one SeaweedFS bucket prefix behind nginx, the one address clients see.

Writers put batches through nginx while readers check, through nginx too, that every
acknowledged batch reads back at once, whichever store answers; then one store is killed with
SIGKILL mid-stream, and everything acknowledged must still be there, served by the other.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from pgs3v.stack.nginx import NGINX, Nginx, nginx_config
from pgs3v.stack.seaweedfs import SeaweedFS
from tests.support import client, seaweedfs_store

INDEX = {"vectorBucketName": "balanced", "indexName": "items"}


def _writer(endpoint: str, number: int, acknowledged: dict[str, list[float]], stale: list[str],
            stop: threading.Event) -> None:
    s3v = client(endpoint)
    step = 0
    while not stop.is_set():
        step += 1
        batch = {f"w{number}-{step}-{i}": [float(number), float(step), float(i), 1.0] for i in range(5)}
        try:
            s3v.put_vectors(**INDEX, vectors=[{"key": k, "data": {"float32": v}} for k, v in batch.items()])
        except (BotoCoreError, ClientError):
            continue  # not acknowledged (a store died under it): it may or may not have landed
        acknowledged.update(batch)
        found = {v["key"] for v in s3v.get_vectors(**INDEX, keys=list(batch))["vectors"]}
        if found != set(batch):
            stale.append(f"{sorted(set(batch) - found)} missing right after the acknowledgement")


@pytest.mark.skipif(shutil.which(NGINX) is None, reason="nginx is not installed (apt-get install nginx)")
def test_writes_through_nginx_read_back_at_once_and_survive_a_killed_store(seaweedfs: SeaweedFS,
                                                                           tmp_path: Path) -> None:
    first, environ = seaweedfs_store(seaweedfs, tmp_path / "first")
    prefix = first.extra_args[1].rsplit("/", 1)[1]
    second, _ = seaweedfs_store(seaweedfs, tmp_path / "second", prefix=prefix)
    first.start(environ)
    second.start(environ)
    proxy = Nginx(tmp_path / "nginx", [f"127.0.0.1:{first.port}", f"127.0.0.1:{second.port}"]).start()
    try:
        s3v: Any = client(proxy.endpoint)
        s3v.create_vector_bucket(vectorBucketName=INDEX["vectorBucketName"])
        s3v.create_index(**INDEX, dataType="float32", dimension=4, distanceMetric="euclidean")
        acknowledged: dict[str, list[float]] = {}
        stale: list[str] = []
        stop = threading.Event()
        writers = [threading.Thread(target=_writer, args=(proxy.endpoint, n, acknowledged, stale, stop))
                   for n in range(3)]
        for writer in writers:
            writer.start()
        while len(acknowledged) < 300:
            threading.Event().wait(0.01)
        first.kill()
        count = len(acknowledged)
        while len(acknowledged) < count + 300:  # the writers carry on through the survivor
            threading.Event().wait(0.01)
        stop.set()
        for writer in writers:
            writer.join()
        assert not stale
        keys = list(acknowledged)
        found: dict[str, list[float]] = {}
        for start in range(0, len(keys), 100):
            got = s3v.get_vectors(**INDEX, keys=keys[start:start + 100], returnData=True)["vectors"]
            found.update({v["key"]: v["data"]["float32"] for v in got})
        assert found == acknowledged
    finally:
        proxy.stop()
        second.stop()
        first.stop()


def test_the_documented_configuration_is_the_one_the_tests_run() -> None:
    documented = (Path(__file__).parents[2] / "docs" / "object-storage.md").read_text()
    assert nginx_config("0.0.0.0:8750", ["10.0.0.11:8750", "10.0.0.12:8750"]) in documented
