"""Access keys with identity policies: the registry on disk, the CLI, and a running store using them."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from pgs3v.auth.key_registry import KEYS_FILE, MASTER_KEY_FILE, KeyRegistry, KeyRegistryError
from pgs3v.auth.secret_box import SealError
from pgs3v.cli import main
from tests.support import StoreProcess, client, error_of

ARN = "arn:aws:s3vectors:us-east-1:000000000000"
VECTOR = {"float32": [0.1, 0.2, 0.3, 0.4]}


def policy(*statements: dict[str, Any]) -> str:
    """An identity policy document with these statements."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


READ_ONLY = policy({"Effect": "Allow", "Action": ["s3vectors:Get*", "s3vectors:List*", "s3vectors:QueryVectors"],
                    "Resource": "*"})


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keys_are_kept_0600_with_their_secrets_sealed(tmp_path: Path) -> None:
    registry = KeyRegistry(tmp_path)
    key, credentials = registry.create("reader", [READ_ONLY])
    assert _mode(tmp_path / KEYS_FILE) == 0o600 and _mode(tmp_path / MASTER_KEY_FILE) == 0o600
    assert credentials.secret_access_key not in (tmp_path / KEYS_FILE).read_text()
    assert [k.user_name for k in registry.list_keys()] == ["reader"]
    assert KeyRegistry(tmp_path).find(key.access_key_id) == (key, credentials.secret_access_key)
    assert key.user_arn("aws", "000000000000") == "arn:aws:iam::000000000000:user/reader"


def test_a_registry_without_its_master_key_opens_no_secret(tmp_path: Path) -> None:
    key, _ = KeyRegistry(tmp_path).create("reader", [READ_ONLY])
    (tmp_path / MASTER_KEY_FILE).unlink()  # a copy of keys.json alone, as in a leaked backup
    with pytest.raises(SealError):
        KeyRegistry(tmp_path).find(key.access_key_id)


def test_a_sealed_secret_moved_to_another_record_does_not_open(tmp_path: Path) -> None:
    registry = KeyRegistry(tmp_path)
    registry.create("a", [READ_ONLY])
    registry.create("b", [READ_ONLY])
    document = json.loads((tmp_path / KEYS_FILE).read_text())
    document["keys"][1]["secret"] = document["keys"][0]["secret"]
    (tmp_path / KEYS_FILE).write_text(json.dumps(document))
    with pytest.raises(SealError):
        KeyRegistry(tmp_path).find(document["keys"][1]["access_key_id"])


def test_names_are_unique_and_iam_shaped(tmp_path: Path) -> None:
    registry = KeyRegistry(tmp_path)
    registry.create("reader", [READ_ONLY])
    with pytest.raises(KeyRegistryError, match="exists"):
        registry.create("reader", [READ_ONLY])
    with pytest.raises(KeyRegistryError, match="invalid name"):
        registry.create("no spaces", [READ_ONLY])


def test_a_reader_sees_creations_at_once_and_deletions_within_its_refresh(tmp_path: Path) -> None:
    now = [0.0]
    reader = KeyRegistry(tmp_path, clock=lambda: now[0])
    writer = KeyRegistry(tmp_path)
    key, credentials = writer.create("reader", [READ_ONLY])
    assert reader.secret(key.access_key_id) == credentials.secret_access_key  # unknown ids are looked up at once
    writer.delete("reader")
    assert reader.secret(key.access_key_id) == credentials.secret_access_key  # not re-read within the second
    now[0] = 1.0
    assert reader.secret(key.access_key_id) is None


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, ["store", "keys", *args])


@pytest.mark.parametrize(("text", "problem"), [
    ("not json", "Policies must be valid JSON"),
    (policy({"Effect": "Allow", "Action": "s3vectors:PutVector", "Resource": "*"}),
     "Policy has invalid action: s3vectors:PutVector"),
    (policy({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}), "should not specify a principal"),
    # Its own service's ARNs and keys are still checked.
    (policy({"Effect": "Allow", "Action": "s3vectors:GetIndex", "Resource": f"{ARN}:table/t"}),
     "Policy has invalid resource"),
    (policy({"Effect": "Allow", "Action": "*", "Resource": "*",
             "Condition": {"StringEquals": {"s3vectors:colour": "x"}}}), "Policy has an invalid condition key"),
])
def test_the_cli_refuses_a_malformed_policy_saying_why(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "policy.json").write_text(text)
    result = _cli("create", "bad", "--policy", str(tmp_path / "policy.json"), "--data-dir", str(tmp_path / "d"))
    assert result.exit_code == 1 and problem in result.output, result.output
    assert not (tmp_path / "d" / KEYS_FILE).exists()


@pytest.mark.parametrize("text", [
    # Another service's ARNs and condition keys are that service's to check, as in IAM: one key may
    # both invoke Lambda functions and read vectors.
    policy({"Effect": "Allow", "Action": "lambda:InvokeFunction",
            "Resource": "arn:aws:lambda:us-east-1:000000000000:function:pgs3v-query"}),
    policy({"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "arn:aws:lambda:*:*:function:*",
            "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}}}),
])
def test_the_cli_accepts_other_services_statements(tmp_path: Path, text: str) -> None:
    (tmp_path / "policy.json").write_text(text)
    result = _cli("create", "other", "--policy", str(tmp_path / "policy.json"), "--data-dir", str(tmp_path / "d"))
    assert result.exit_code == 0, result.output


def test_the_cli_creates_lists_and_deletes_keys(tmp_path: Path) -> None:
    (tmp_path / "policy.json").write_text(READ_ONLY)
    data = str(tmp_path / "d")
    created = _cli("create", "reader", "--policy", str(tmp_path / "policy.json"), "--json", "--data-dir", data)
    assert created.exit_code == 0, created.output
    key = json.loads(created.output)
    listed = _cli("list", "--json", "--data-dir", data)
    assert key["secret_access_key"] not in listed.output
    assert json.loads(listed.output)[0]["access_key_id"] == key["access_key_id"]
    assert _cli("delete", "reader", "--data-dir", data).exit_code == 0
    assert _cli("list", "--json", "--data-dir", data).output.strip() == "[]"
    missing = _cli("delete", "reader", "--data-dir", data)
    assert missing.exit_code == 1 and "no access key 'reader'" in missing.output


def _eventually(check: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_a_running_store_honours_keys_created_and_deleted_by_the_cli(tmp_path: Path) -> None:
    data = tmp_path / "store"
    (tmp_path / "reader.json").write_text(READ_ONLY)
    server = StoreProcess(data, log_file=tmp_path / "store.log").start()
    try:
        owner = client(server.endpoint)
        owner.create_vector_bucket(vectorBucketName="bk1")
        owner.create_index(vectorBucketName="bk1", indexName="ix1", dataType="float32", dimension=4,
                           distanceMetric="cosine")
        owner.put_vectors(vectorBucketName="bk1", indexName="ix1", vectors=[{"key": "a", "data": VECTOR}])
        created = _cli("create", "reader", "--policy", str(tmp_path / "reader.json"), "--json",
                       "--data-dir", str(data))
        key = json.loads(created.output)
        reader = client(server.endpoint, access_key=key["access_key_id"], secret=key["secret_access_key"])
        sts = boto3.client("sts", endpoint_url=server.endpoint, region_name="us-east-1",
                           aws_access_key_id=key["access_key_id"], aws_secret_access_key=key["secret_access_key"])
        assert sts.get_caller_identity()["Arn"] == "arn:aws:iam::000000000000:user/reader"
        found = reader.query_vectors(vectorBucketName="bk1", indexName="ix1", queryVector=VECTOR, topK=1)
        assert [v["key"] for v in found["vectors"]] == ["a"]
        code, status, response = error_of(reader.put_vectors, vectorBucketName="bk1", indexName="ix1",
                                          vectors=[{"key": "b", "data": VECTOR}])
        assert (code, status) == ("AccessDeniedException", 403)
        assert response["Error"]["Message"] == (
            "User: arn:aws:iam::000000000000:user/reader is not authorized to perform: s3vectors:PutVectors "
            f"on resource: {ARN}:bucket/bk1/index/ix1 because no identity-based policy allows the "
            "s3vectors:PutVectors action")
        # A bucket policy's explicit deny reaches the user; its allow adds to the user's own.
        named = {"AWS": "arn:aws:iam::000000000000:user/reader"}
        owner.put_vector_bucket_policy(vectorBucketName="bk1", policy=policy(
            {"Effect": "Deny", "Principal": named, "Action": "s3vectors:QueryVectors", "Resource": "*"},
            {"Effect": "Allow", "Principal": named, "Action": "s3vectors:PutVectors", "Resource": "*"}))
        assert error_of(reader.query_vectors, vectorBucketName="bk1", indexName="ix1", queryVector=VECTOR,
                        topK=1)[0] == "AccessDeniedException"
        reader.put_vectors(vectorBucketName="bk1", indexName="ix1", vectors=[{"key": "b", "data": VECTOR}])
        assert _cli("delete", key["access_key_id"], "--data-dir", str(data)).exit_code == 0
        _eventually(lambda: _assert_refused(reader))
    finally:
        server.stop()


def _assert_refused(reader: Any) -> None:
    code, status, _ = error_of(reader.list_vector_buckets)
    assert (code, status) == ("UnrecognizedClientException", 403)


def test_every_worker_sees_a_key_created_and_deleted_while_it_runs(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (tmp_path / "reader.json").write_text(READ_ONLY)
    server = StoreProcess(data, extra_args=("--storage", (tmp_path / "objects").as_uri(), "--workers", "2")).start()
    try:
        key = json.loads(_cli("create", "reader", "--policy", str(tmp_path / "reader.json"), "--json",
                              "--data-dir", str(data)).output)
        # Each client opens its own connection, which the parent hands to the workers in turn.
        readers = [client(server.endpoint, access_key=key["access_key_id"], secret=key["secret_access_key"])
                   for _ in range(4)]
        for reader in readers:
            reader.list_vector_buckets()
            assert error_of(reader.create_vector_bucket, vectorBucketName="nope")[0] == "AccessDeniedException"
        _cli("delete", "reader", "--data-dir", str(data))
        time.sleep(1.2)
        for reader in readers:
            _assert_refused(reader)
    finally:
        server.stop()
