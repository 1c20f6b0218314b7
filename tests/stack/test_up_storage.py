"""``pgs3v up --storage s3://...``: the whole local stack with the store's data in a bucket (SeaweedFS)."""

from __future__ import annotations

import secrets
import shutil
import subprocess

import pytest

from pgs3v.stack.local_stack import CLI
from pgs3v.stack.postgres import missing_packages
from pgs3v.stack.seaweedfs import SeaweedFS
from tests.stack.conftest import Stack, new_directory, stack_environment


def test_up_keeps_the_stores_data_in_the_bucket_and_sql_reaches_it(seaweedfs: SeaweedFS) -> None:
    if missing_packages():
        pytest.skip(f"Debian packages missing: {', '.join(missing_packages())}")
    prefix = f"stack-{secrets.token_hex(4)}"
    storage = f"s3://pgs3v-tests/{prefix}"
    environ = {**stack_environment(), "AWS_ACCESS_KEY_ID": seaweedfs.credentials.access_key_id,
               "AWS_SECRET_ACCESS_KEY": seaweedfs.credentials.secret_access_key}
    stack = Stack(new_directory("pgs3v-stack-s3-"))

    def up(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, "up", "--data-dir", str(stack.data_dir), *args], env=environ, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300, check=False)

    try:
        first = up("--storage", storage, "--s3-endpoint", seaweedfs.endpoint)
        assert first.returncode == 0, first.stdout
        with stack.sql() as conn:
            conn.execute("SELECT s3vectors.create_vector_bucket('sql-bucket')")
            conn.execute("SELECT s3vectors.create_index('sql-bucket', 'items', 3, 'cosine')")
            conn.execute("SELECT s3vectors.put_vectors('sql-bucket', 'items', "
                         "'[{\"key\": \"a\", \"data\": {\"float32\": [1, 0, 0]}}]'::jsonb)")
            rows = conn.execute("SELECT key FROM s3vectors.query_vectors('sql-bucket', 'items', "
                                "ARRAY[1, 0.1, 0]::real[], 1)").fetchall()
        assert rows == [("a",)]
        stored = [item["Key"] for item in seaweedfs.client().list_objects_v2(
            Bucket="pgs3v-tests", Prefix=f"{prefix}/")["Contents"]]
        assert f"{prefix}/catalog/indexes/sql-bucket/items.json" in stored
        assert any(key.startswith(f"{prefix}/indexes/") and "/wal/" in key for key in stored)

        again = up()  # the storage chosen first is kept
        assert again.returncode == 0, again.stdout
        other = up("--storage", f"s3://pgs3v-tests/{prefix}-other", "--s3-endpoint", seaweedfs.endpoint)
        assert other.returncode != 0 and f"keeps its data in {storage}" in other.stdout
    finally:
        subprocess.run([*CLI, "down", "--data-dir", str(stack.data_dir)], env=environ, capture_output=True,
                       timeout=120, check=False)
        shutil.rmtree(stack.data_dir, ignore_errors=True)
