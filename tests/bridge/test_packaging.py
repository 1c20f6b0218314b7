"""The handler deploys alone: the Lambda zip runs in an interpreter that has nothing else."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from pgs3v.bridge.packaging import LAMBDA_MODULES, build_zip
from tests.bridge.conftest import unique
from tests.support import ACCESS_KEY_ID, SECRET_ACCESS_KEY, StoreProcess

HEAVY = ("numpy", "starlette", "uvicorn", "anyio", "orjson", "click", "rich")


def test_importing_the_handler_loads_only_the_zipped_modules() -> None:
    script = (
        "import sys, json; import pgs3v.bridge.handler; "
        "print(json.dumps(sorted(m for m in sys.modules)))"
    )
    loaded = json.loads(subprocess.run([sys.executable, "-c", script], check=True, capture_output=True,
                                       text=True).stdout)
    ours = sorted(name for name in loaded if name == "pgs3v" or name.startswith("pgs3v."))
    expected = sorted(path.removesuffix(".py").removesuffix("/__init__").replace("/", ".") for path in LAMBDA_MODULES)
    assert ours == expected
    assert not [name for name in loaded if name.split(".")[0] in HEAVY or name.startswith("pgs3v.store")]


def test_the_zip_without_boto3_holds_exactly_the_handlers_modules(tmp_path: Path) -> None:
    build_zip(tmp_path / "bridge.zip", with_boto3=False)
    with zipfile.ZipFile(tmp_path / "bridge.zip") as archive:
        assert sorted(archive.namelist()) == sorted(LAMBDA_MODULES)


def test_the_zip_is_reproducible(tmp_path: Path) -> None:
    build_zip(tmp_path / "a.zip", with_boto3=False)
    build_zip(tmp_path / "b.zip", with_boto3=False)
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


def test_the_zip_runs_the_handler_with_only_the_standard_library_besides(tmp_path: Path,
                                                                        store_server: StoreProcess) -> None:
    build_zip(tmp_path / "bridge.zip")
    task = tmp_path / "task"  # what Lambda unpacks to /var/task
    with zipfile.ZipFile(tmp_path / "bridge.zip") as archive:
        archive.extractall(task)
    bucket = unique("zipped")
    script = (
        f"import sys; sys.path.insert(0, {str(task)!r}); import json\n"
        "from pgs3v.bridge.handler import handler\n"
        f"made = handler({{'operation': 'CreateVectorBucket', 'request': {{'vectorBucketName': {bucket!r}}}}}, None)\n"
        f"got = handler({{'operation': 'GetVectorBucket', 'request': {{'vectorBucketName': {bucket!r}}}}}, None)\n"
        # PutVectors and QueryVectors go through the JSON transport, on the standard library's json here.
        f"index = {{'vectorBucketName': {bucket!r}, 'indexName': 'idx'}}\n"
        "handler({'operation': 'CreateIndex', 'request': {**index, 'dataType': 'float32', 'dimension': 2, "
        "'distanceMetric': 'euclidean'}}, None)\n"
        "handler({'operation': 'PutVectors', 'request': {**index, 'vectors': [{'key': 'k', "
        "'data': {'float32': [0.5, 1.0]}}]}}, None)\n"
        "found = handler({'operation': 'QueryVectors', 'request': {**index, 'topK': 1, "
        "'queryVector': {'float32': [0.5, 1.0]}}}, None)\n"
        "print(json.dumps({'made': made, 'got': got, 'found': found, 'modules': sorted(sys.modules)}))\n"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PGS3V_STORE_ENDPOINT": store_server.endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_REGION": "us-east-1",
    }
    # -I -S: no site-packages, no PYTHONPATH, no user site: the zip and the standard library only.
    done = subprocess.run([sys.executable, "-I", "-S", "-c", script], env=env, capture_output=True, text=True,
                          cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert "vectorBucketArn" in answer["made"]["response"]
    assert answer["got"]["response"]["vectorBucket"]["vectorBucketName"] == bucket
    assert [v["key"] for v in answer["found"]["response"]["vectors"]] == ["k"]
    assert not [name for name in answer["modules"] if name.split(".")[0] in HEAVY]
