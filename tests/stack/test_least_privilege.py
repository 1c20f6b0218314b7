"""``pgs3v up``'s least privilege: three bridge functions, each signing with a key that can do only its part."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import psycopg
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from cfnlint.decode import cfn_yaml

from pgs3v.auth.key_registry import KeyRegistry
from pgs3v.auth.policies import Decision, Principal, evaluate
from pgs3v.aws import template
from pgs3v.stack.least_privilege import (
    INVOKE_KEY,
    MANAGE_FUNCTION,
    QUERY_FUNCTION,
    ROLE_FUNCTIONS,
    ROLES,
    WRITE_FUNCTION,
    ensure_bridge_keys,
    invoke_credentials,
    invoke_policy,
)
from pgs3v.store.api.access import parse_identity_policy
from tests.stack.conftest import Stack, pgs3v

VECTOR = [0.1, 0.2, 0.3, 0.4]
TEMPLATE_ROLES = {QUERY_FUNCTION: "QueryRole", WRITE_FUNCTION: "WriteRole", MANAGE_FUNCTION: "ManageRole"}


def _template_actions(role: str) -> set[str]:
    """Every s3vectors operation the AWS template's role allows, on whatever resource."""
    resources = cfn_yaml.load(str(template.template_path()))["Resources"]
    actions = set()
    for policy in resources[role]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            listed = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            actions |= {action.removeprefix("s3vectors:") for action in listed if action.startswith("s3vectors:")}
    return actions


def test_each_local_key_allows_what_the_aws_templates_role_allows() -> None:
    operations = botocore.session.get_session().get_service_model("s3vectors").operation_names
    user = Principal("arn:aws:iam::000000000000:user/x", "000000000000")
    for role in ROLES:
        policy = parse_identity_policy(role.policy)
        allowed = {operation for operation in operations
                   if evaluate([policy], user, f"s3vectors:{operation}", "arn:aws:s3vectors:us-east-1:000000000000:"
                               "bucket/b/index/i", {}) is Decision.ALLOW}
        assert allowed == _template_actions(TEMPLATE_ROLES[role.function_name]), role.function_name


def test_the_invoke_key_allows_what_the_aurora_role_allows() -> None:
    resources = cfn_yaml.load(str(template.template_path()))["Resources"]
    statements = [statement for policy in resources["AuroraLambdaRole"]["Properties"]["Policies"]
                  for statement in policy["PolicyDocument"]["Statement"]]
    local = json.loads(invoke_policy("eu-west-1"))["Statement"]
    assert [(s["Effect"], s["Action"]) for s in local] == [(s["Effect"], s["Action"]) for s in statements]
    assert local[0]["Resource"] == [f"arn:aws:lambda:eu-west-1:000000000000:function:{name}"
                                    for name in ROLE_FUNCTIONS]
    user = Principal(f"arn:aws:iam::000000000000:user/{INVOKE_KEY}", "000000000000")
    policy = parse_identity_policy(invoke_policy("us-east-1"))
    operations = botocore.session.get_session().get_service_model("s3vectors").operation_names
    assert all(evaluate([policy], user, f"s3vectors:{operation}", "*", {}) is Decision.IMPLICIT_DENY
               for operation in operations)


def test_keys_are_made_once_and_their_policies_kept(tmp_path: Path) -> None:
    ensure_bridge_keys(tmp_path, "us-east-1")
    registry = KeyRegistry(tmp_path)
    first = {key.user_name: key.access_key_id for key in registry.list_keys()}
    assert sorted(first) == sorted([*ROLE_FUNCTIONS, INVOKE_KEY])
    registry.set_policies(QUERY_FUNCTION, [ROLES[1].policy])  # widened by hand
    registry.set_policies(INVOKE_KEY, [ROLES[2].policy])
    ensure_bridge_keys(tmp_path, "us-east-1")
    again = {key.user_name: key for key in registry.list_keys()}
    assert {name: key.access_key_id for name, key in again.items()} == first
    assert again[QUERY_FUNCTION].policies == (ROLES[0].policy,)
    assert again[INVOKE_KEY].policies == (invoke_policy("us-east-1"),)
    assert invoke_credentials(tmp_path).access_key_id == first[INVOKE_KEY]


def _invoke(stack: Stack, function: str, operation: str, request: dict[str, Any]) -> dict[str, Any]:
    """The bridge's answer to one event, invoked straight on the function host as SQL invokes it."""
    answer = stack.client("lambda", "function_endpoint").invoke(
        FunctionName=function, Payload=json.dumps({"operation": operation, "request": request}).encode())
    assert "FunctionError" not in answer
    result: dict[str, Any] = json.loads(answer["Payload"].read())
    return result


@pytest.fixture
def index(healthy_stack: Stack) -> dict[str, str]:
    """A new bucket and 4-dimensional index, made through SQL (the manage function)."""
    bucket = f"lp-{uuid.uuid4().hex[:12]}"
    with healthy_stack.sql() as connection:
        connection.execute("SELECT s3vectors.create_vector_bucket(vector_bucket_name => %s)", (bucket,))
        connection.execute("SELECT s3vectors.create_index(%s, 'vectors', 4, 'cosine')", (bucket,))
    return {"vectorBucketName": bucket, "indexName": "vectors"}


def test_up_routes_sql_to_the_three_functions_each_with_its_own_key(healthy_stack: Stack) -> None:
    with healthy_stack.sql() as connection:
        row = connection.execute("SELECT function_name, query_function_name, write_function_name "
                                 "FROM s3vectors.settings").fetchone()
    assert row == (MANAGE_FUNCTION, QUERY_FUNCTION, WRITE_FUNCTION)
    assert healthy_stack.connection()["functions"] == {"query": QUERY_FUNCTION, "write": WRITE_FUNCTION,
                                                       "manage": MANAGE_FUNCTION}
    keys = _keys(healthy_stack)
    assert sorted(keys) == sorted([*ROLE_FUNCTIONS, INVOKE_KEY])
    healthy_stack.up()  # a second `up` reuses the keys rather than making new ones
    assert _keys(healthy_stack) == keys


def _keys(stack: Stack) -> dict[str, str]:
    listed = pgs3v("store", "keys", "list", "--json", "--data-dir", str(stack.data_dir / "store"))
    return {key["name"]: key["access_key_id"] for key in json.loads(listed.stdout)}


def test_the_reader_function_cannot_write_even_when_invoked_directly(healthy_stack: Stack,
                                                                     index: dict[str, str]) -> None:
    vectors = [{"key": "a", "data": {"float32": VECTOR}}]
    refused = _invoke(healthy_stack, QUERY_FUNCTION, "PutVectors", {**index, "vectors": vectors})
    error = refused["error"]
    assert (error["code"], error["httpStatus"]) == ("AccessDeniedException", 403), refused
    assert error["message"].startswith(f"User: arn:aws:iam::000000000000:user/{QUERY_FUNCTION} is not authorized "
                                       "to perform: s3vectors:PutVectors on resource: ")
    assert _invoke(healthy_stack, MANAGE_FUNCTION, "PutVectors", {**index, "vectors": vectors})["error"]["code"] \
        == "AccessDeniedException"
    assert _invoke(healthy_stack, WRITE_FUNCTION, "PutVectors", {**index, "vectors": vectors}) == {"response": {}}
    found = _invoke(healthy_stack, QUERY_FUNCTION, "QueryVectors", {**index, "queryVector": {"float32": VECTOR},
                                                                    "topK": 1})
    assert [v["key"] for v in found["response"]["vectors"]] == ["a"]
    assert _invoke(healthy_stack, WRITE_FUNCTION, "DeleteIndex", index)["error"]["code"] == "AccessDeniedException"


def test_sql_writes_and_reads_through_the_functions_and_a_denial_is_42501(healthy_stack: Stack,
                                                                          index: dict[str, str]) -> None:
    bucket, name = index["vectorBucketName"], index["indexName"]
    with healthy_stack.sql() as connection:
        written = connection.execute("SELECT s3vectors.put_vectors(%s, %s, ARRAY['a', 'b'], %s::real[])",
                                     (bucket, name, [VECTOR, [0.4, 0.3, 0.2, 0.1]])).fetchone()
        assert written == (2,)
        keys = connection.execute("SELECT key FROM s3vectors.query_vectors(%s, %s, %s::real[], top_k => 2)",
                                  (bucket, name, VECTOR)).fetchall()
        assert [key for (key,) in keys] == ["a", "b"]
        # The bucket's owner denies the write function's user: SQL hears AWS's refusal as 42501.
        writer = f"arn:aws:iam::000000000000:user/{WRITE_FUNCTION}"
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": {"AWS": writer},
                                                          "Action": "s3vectors:PutVectors", "Resource": "*"}]}
        healthy_stack.client("s3vectors", "store_endpoint").put_vector_bucket_policy(
            vectorBucketName=bucket, policy=json.dumps(policy))
        with pytest.raises(psycopg.Error) as denied:
            connection.execute("SELECT s3vectors.put_vectors(%s, %s, ARRAY['c'], %s::real[])",
                               (bucket, name, [VECTOR]))
    assert denied.value.sqlstate == "42501"
    assert f"User: {writer} is not authorized to perform: s3vectors:PutVectors" in str(denied.value)


def _client_with(stack: Stack, service: str, endpoint_key: str, key_name: str) -> Any:
    """A boto3 client for the stack's store or function host, signing with a key of its registry."""
    _, credentials = KeyRegistry(stack.data_dir / "store").credentials(key_name)
    connection = stack.connection()
    return boto3.session.Session().client(
        service, endpoint_url=connection[endpoint_key], region_name=connection["region"],
        aws_access_key_id=credentials.access_key_id, aws_secret_access_key=credentials.secret_access_key,
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30),
    )


def _refused(call: Any, **request: Any) -> dict[str, Any]:
    """The error of a call that must be refused with AccessDeniedException 403."""
    with pytest.raises(ClientError) as caught:
        call(**request)
    error: dict[str, Any] = dict(caught.value.response["Error"])
    assert (error["Code"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]) == \
        ("AccessDeniedException", 403), caught.value.response
    return error


def test_postgresql_signs_with_the_invoke_key_not_the_owners(healthy_stack: Stack) -> None:
    with healthy_stack.sql() as connection:
        row = connection.execute("SELECT access_key_id FROM aws_lambda_shim.configuration()").fetchone()
    invoke_key = invoke_credentials(healthy_stack.data_dir / "store").access_key_id
    assert row == (invoke_key,)
    # connection.json keeps the owner's key, for the CLI and boto3: not the one PostgreSQL holds.
    assert healthy_stack.connection()["access_key_id"] == healthy_stack.local.credentials().access_key_id
    assert healthy_stack.connection()["access_key_id"] != invoke_key


def test_the_invoke_key_is_refused_by_the_store(healthy_stack: Stack, index: dict[str, str]) -> None:
    s3vectors = _client_with(healthy_stack, "s3vectors", "store_endpoint", INVOKE_KEY)
    user = f"User: arn:aws:iam::000000000000:user/{INVOKE_KEY} is not authorized to perform: "
    assert _refused(s3vectors.list_vector_buckets)["Message"].startswith(f"{user}s3vectors:ListVectorBuckets")
    assert _refused(s3vectors.query_vectors, **index, queryVector={"float32": VECTOR}, topK=1)["Message"] \
        .startswith(f"{user}s3vectors:QueryVectors")
    assert _refused(s3vectors.put_vectors, **index, vectors=[{"key": "a", "data": {"float32": VECTOR}}])["Message"] \
        .startswith(f"{user}s3vectors:PutVectors")


def test_the_invoke_key_invokes_the_three_functions_and_no_other(healthy_stack: Stack,
                                                                 index: dict[str, str]) -> None:
    functions = _client_with(healthy_stack, "lambda", "function_endpoint", INVOKE_KEY)
    region = healthy_stack.connection()["region"]
    bridge = f"arn:aws:lambda:{region}:000000000000:function:pgs3v-bridge"
    # pgs3v-bridge signs with the owner's key: PostgreSQL's key must not reach it.
    error = _refused(functions.invoke, FunctionName="pgs3v-bridge", Payload=b"{}")
    assert error["Message"] == (f"User: arn:aws:iam::000000000000:user/{INVOKE_KEY} is not authorized to perform: "
                                f"lambda:InvokeFunction on resource: {bridge} because no identity-based policy "
                                "allows the lambda:InvokeFunction action")
    event = {"operation": "QueryVectors", "request": {**index, "queryVector": {"float32": VECTOR}, "topK": 1}}
    answer = functions.invoke(FunctionName=QUERY_FUNCTION, Payload=json.dumps(event).encode())
    assert json.loads(answer["Payload"].read())["response"]["vectors"] == []
    for name in (WRITE_FUNCTION, MANAGE_FUNCTION):
        assert functions.invoke(FunctionName=name, InvocationType="DryRun")["StatusCode"] == 204
