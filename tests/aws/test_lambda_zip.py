"""The Lambda zip works where Lambda runs it: a bare interpreter with nothing installed but the zip.

`pgs3v functions package` builds the zip, which is unpacked as Lambda unpacks it to /var/task; a
fresh virtual environment without pip, without the project and without site packages imports the
handler from there alone and calls a real store with it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from pgs3v.cli import main
from tests.bridge.conftest import unique
from tests.support import ACCESS_KEY_ID, SECRET_ACCESS_KEY, StoreProcess

# Runs inside the fresh environment: every operation the SQL functions send, as Lambda would
# call the handler (with a context that counts the time left), printing the answers as JSON.
SCRIPT = r"""
import json, sys, time

import pgs3v.bridge.handler
from pgs3v.bridge.handler import handler


class Context:
    function_name = "pgs3v-query"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:pgs3v-query"
    aws_request_id = "test"
    deadline = time.monotonic() + 60

    def get_remaining_time_in_millis(self):
        return int((self.deadline - time.monotonic()) * 1000)


bucket = sys.argv[1]
index = {"vectorBucketName": bucket, "indexName": "idx"}
events = [
    ("CreateVectorBucket", {"vectorBucketName": bucket}),
    ("CreateIndex", {**index, "dataType": "float32", "dimension": 3, "distanceMetric": "cosine"}),
    ("PutVectors", {**index, "vectors": [
        {"key": "red", "data": {"float32": [1, 0, 0]}, "metadata": {"colour": "red", "price": 3}},
        {"key": "green", "data": {"float32": [0, 1, 0]}, "metadata": {"colour": "green", "price": 5}},
        {"key": "reddish", "data": {"float32": [0.9, 0.1, 0]}, "metadata": {"colour": "red", "price": 9}}]}),
    ("QueryVectors", {**index, "topK": 2, "queryVector": {"float32": [1, 0, 0]}, "returnDistance": True,
                      "returnMetadata": True}),
    ("QueryVectors", {**index, "topK": 5, "queryVector": {"float32": [1, 0, 0]}, "filter": {"price": {"$gt": 4}}}),
    ("GetVectors", {**index, "keys": ["green", "missing"], "returnData": True, "returnMetadata": True}),
    ("ListVectors", {**index}),
    ("DeleteVectors", {**index, "keys": ["red"]}),
    ("QueryVectors", {**index, "topK": 3, "queryVector": {"float32": [1, 0, 0]}}),
    ("DeleteIndex", index),
    ("QueryVectors", {**index, "topK": 1, "queryVector": {"float32": [1, 0, 0]}}),
    ("DeleteVectorBucket", {"vectorBucketName": bucket}),
]
answers = [handler({"operation": operation, "request": request}, Context()) for operation, request in events]
loaded = {name: getattr(module, "__file__", None) for name, module in sys.modules.items()
          if name.split(".")[0] in ("pgs3v", "boto3", "botocore")}
print(json.dumps({"answers": answers, "prefix": sys.prefix, "base_prefix": sys.base_prefix, "path": sys.path,
                  "loaded": loaded, "handler": pgs3v.bridge.handler.__file__}))
"""


def keys(answer: dict[str, Any]) -> list[str]:
    return [vector["key"] for vector in answer["response"]["vectors"]]


def test_the_packaged_zip_runs_in_a_fresh_virtualenv(tmp_path: Path, store_server: StoreProcess) -> None:
    built = CliRunner().invoke(main, ["functions", "package", "--output", str(tmp_path / "bridge.zip")])
    assert built.exit_code == 0, built.output
    task = tmp_path / "task"  # what Lambda unpacks the zip to (/var/task)
    with zipfile.ZipFile(tmp_path / "bridge.zip") as archive:
        archive.extractall(task)
    venv = tmp_path / "venv"
    # Nothing installed, not even pip: Lambda's runtime is the standard library (its own boto3 is
    # shadowed by the zip's, which comes first on the path).
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    bare = subprocess.run([str(python), "-c", "import boto3"], capture_output=True, text=True, check=False)
    assert bare.returncode != 0 and "No module named 'boto3'" in bare.stderr

    environment = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(task),  # as Lambda's runtime puts /var/task on the path
        "PYTHONNOUSERSITE": "1",
        "PGS3V_STORE_ENDPOINT": store_server.endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_REGION": "us-east-1",
    }
    bucket = unique("fresh-venv")
    done = subprocess.run([str(python), "-c", SCRIPT, bucket], env=environment, cwd=tmp_path, capture_output=True,
                          text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)

    # The interpreter was the fresh environment's, and everything of ours came from the zip.
    assert Path(result["prefix"]) == venv and Path(result["handler"]).is_relative_to(task)
    files = result["loaded"].values()
    assert files and all(file is None or Path(file).is_relative_to(task) for file in files)
    assert not [entry for entry in result["path"] if "site-packages" in entry and not entry.startswith(str(venv))]

    made, indexed, put, nearest, filtered, got, listed, deleted, after, dropped, missing, removed = result["answers"]
    assert made["response"]["vectorBucketArn"].endswith(f":bucket/{bucket}")
    assert indexed["response"]["indexArn"].endswith(f":bucket/{bucket}/index/idx")
    assert put == {"response": {}}
    assert keys(nearest) == ["red", "reddish"]
    assert nearest["response"]["vectors"][0]["distance"] < 1e-6
    assert nearest["response"]["vectors"][1]["metadata"] == {"colour": "red", "price": 9}
    assert nearest["response"]["distanceMetric"] == "cosine"
    assert keys(filtered) == ["reddish", "green"]
    assert got["response"]["vectors"] == [
        {"key": "green", "data": {"float32": [0.0, 1.0, 0.0]}, "metadata": {"colour": "green", "price": 5}}]
    assert sorted(keys(listed)) == ["green", "red", "reddish"]
    assert deleted == {"response": {}}
    assert keys(after) == ["reddish", "green"]
    assert dropped == {"response": {}} and removed == {"response": {}}
    assert missing["error"]["code"] == "NotFoundException" and missing["error"]["httpStatus"] == 404
