"""``pgs3v up``'s least privilege: three bridge functions, each signing with a key that can do only its part."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
import pytest

from pgs3v.stack.least_privilege import MANAGE_FUNCTION, QUERY_FUNCTION, ROLE_FUNCTIONS, WRITE_FUNCTION
from tests.stack.conftest import Stack, pgs3v

VECTOR = [0.1, 0.2, 0.3, 0.4]


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
    assert sorted(keys) == sorted(ROLE_FUNCTIONS)
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
