"""``pgs3v up`` on a fresh directory: PostgreSQL 15, the store, the function host, the schema, connection.json."""

from __future__ import annotations

import json
import stat
import uuid

import pytest
from botocore.exceptions import ClientError

from pgs3v.auth.credentials import CREDENTIALS_FILE
from tests.stack.conftest import Stack

REQUIRED_KEYS = ("postgres_dsn", "store_endpoint", "function_endpoint", "access_key_id", "secret_access_key",
                 "region")


def test_first_up_creates_the_cluster_and_starts_every_part(stack: Stack) -> None:
    output = stack.first_up_output
    assert "Creating the PostgreSQL cluster" in output
    for line in ("PostgreSQL 15", "store", "function host", "schema s3vectors   installed", "connection.json"):
        assert line in output


def test_connection_json_has_the_documented_keys_and_mode_0600(healthy_stack: Stack) -> None:
    path = healthy_stack.data_dir / "connection.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    connection = healthy_stack.connection()
    for key in REQUIRED_KEYS:
        assert isinstance(connection[key], str) and connection[key], key
    ports = healthy_stack.ports()
    assert connection["store_endpoint"] == f"http://127.0.0.1:{ports['store']}"
    assert connection["function_endpoint"] == f"http://127.0.0.1:{ports['function host']}"
    assert f"@127.0.0.1:{ports['PostgreSQL']}/" in connection["postgres_dsn"]
    # The keys handed to applications are the ones the store keeps.
    saved = json.loads((healthy_stack.data_dir / "store" / CREDENTIALS_FILE).read_text())
    assert (connection["access_key_id"], connection["secret_access_key"]) == (
        saved["access_key_id"], saved["secret_access_key"])


def test_the_dsn_reaches_a_private_postgresql_15_with_the_schema(healthy_stack: Stack) -> None:
    with healthy_stack.sql() as connection:
        row = connection.execute(
            "SELECT current_setting('server_version_num')::int / 10000, current_setting('data_directory'), "
            "s3vectors.schema_version()").fetchone()
    assert row is not None
    major, data_directory, schema_version = row
    assert major == 15
    assert data_directory == str(healthy_stack.data_dir / "postgres" / "pgdata")
    assert schema_version


def test_sql_creates_a_bucket_the_store_then_serves_to_boto3(healthy_stack: Stack) -> None:
    name = f"up-{uuid.uuid4().hex[:12]}"
    with healthy_stack.sql() as connection:
        row = connection.execute("SELECT s3vectors.create_vector_bucket(vector_bucket_name => %s)", (name,)).fetchone()
    assert row is not None and row[0].endswith(f":bucket/{name}")
    bucket = healthy_stack.client("s3vectors", "store_endpoint").get_vector_bucket(vectorBucketName=name)
    assert bucket["vectorBucket"]["vectorBucketArn"] == row[0]


def test_the_store_and_function_host_accept_only_the_saved_credentials(healthy_stack: Stack) -> None:
    lambda_client = healthy_stack.client("lambda", "function_endpoint")
    assert lambda_client.invoke(FunctionName="pgs3v-bridge", InvocationType="DryRun")["StatusCode"] == 204
    healthy_stack.client("s3vectors", "store_endpoint").list_vector_buckets()
    # Another secret is refused: authentication is on, and the saved keys are the ones it checks.
    for service, endpoint in (("s3vectors", "store_endpoint"), ("lambda", "function_endpoint")):
        client = healthy_stack.client(service, endpoint, secret_access_key="x" * 40)
        with pytest.raises(ClientError) as refused:
            if service == "lambda":
                client.invoke(FunctionName="pgs3v-bridge", InvocationType="DryRun")
            else:
                client.list_vector_buckets()
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403, service
