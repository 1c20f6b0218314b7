"""Each operation goes to the bridge function its privilege needs: query, write, or the one for the rest.

The function host serves the bridge as ``pgs3v-bridge`` and, logging each call, as
``pgs3v-test-query`` and ``pgs3v-test-write`` (tests/sql/conftest.py), as AWS runs it as three
functions with three roles (src/pgs3v/aws/pgs3v.yaml).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import psycopg
import pytest

from pgs3v.sql_schema.installer import install_schema, uninstall_schema
from tests.sql.conftest import CREDENTIALS, SqlStack, scalar, sql_error, unique

QUERY, WRITE = "pgs3v-test-query", "pgs3v-test-write"
OPERATIONS = ("QueryVectors", "GetVectors", "ListVectors", "PutVectors", "DeleteVectors", "CreateVectorBucket",
              "GetVectorBucket", "ListVectorBuckets", "DeleteVectorBucket", "CreateIndex", "GetIndex",
              "ListIndexes", "DeleteIndex", "PutVectorBucketPolicy", "GetVectorBucketPolicy",
              "DeleteVectorBucketPolicy", "PutVectorBucketDefaultIndexMode", "UpdateIndexMode",
              "UpdateMetadataConfiguration", "TagResource", "UntagResource", "ListTagsForResource")


@pytest.fixture(scope="module")
def routed_dsn(sql_stack: SqlStack) -> Iterator[str]:
    """A database whose pgs3v sends reads to QUERY and writes to WRITE (the rest to pgs3v-bridge)."""
    dsn = sql_stack.create_database("pgs3v_sql_routing")
    install_schema(dsn, function_endpoint=sql_stack.host.endpoint, access_key_id=CREDENTIALS.access_key_id,
                   secret_access_key=CREDENTIALS.secret_access_key, query_function_name=QUERY,
                   write_function_name=WRITE)
    try:
        yield dsn
    finally:
        uninstall_schema(dsn)


def routes(log: str) -> list[tuple[str, str]]:
    """(function, operation) of every routed call in a piece of the host's log."""
    return re.findall(r"routed: (\S+) ran (\w+)", log)


def test_one_function_serves_everything_by_default(db: psycopg.Connection[tuple[object, ...]]) -> None:
    # The local stack installs no routes: pgs3v-bridge, as before 0.3.0.
    for operation in OPERATIONS:
        assert scalar(db, "SELECT s3vectors.function_name(%s)", (operation,)) == "pgs3v-bridge"


def test_reads_go_to_the_query_function_and_writes_to_the_write_function(sql_stack: SqlStack,
                                                                          routed_dsn: str) -> None:
    bucket, index = unique("routed"), "idx"
    with psycopg.connect(routed_dsn, autocommit=True) as conn:
        wanted = {op: QUERY for op in OPERATIONS[:3]} | {op: WRITE for op in OPERATIONS[3:5]}
        for operation in OPERATIONS:
            assert scalar(conn, "SELECT s3vectors.function_name(%s)", (operation,)) == wanted.get(
                operation, "pgs3v-bridge")
        start = len(sql_stack.host.log_text())
        conn.execute("SELECT s3vectors.create_vector_bucket(%s)", (bucket,))
        conn.execute("SELECT s3vectors.create_index(%s, %s, 2, 'euclidean')", (bucket, index))
        # The management operations of 0.4.0, which go where the others go.
        # A policy the store accepts (it now checks the document as IAM does: a Statement is required).
        policy = {"Version": "2012-10-17", "Statement": []}
        conn.execute("SELECT s3vectors.put_vector_bucket_policy(%s, %s::jsonb)", (bucket, json.dumps(policy)))
        assert scalar(conn, "SELECT s3vectors.get_vector_bucket_policy(%s)", (bucket,)) == policy
        conn.execute("SELECT s3vectors.delete_vector_bucket_policy(%s)", (bucket,))
        conn.execute("SELECT s3vectors.put_vector_bucket_default_index_mode(%s, 'ENHANCED')", (bucket,))
        conn.execute("SELECT s3vectors.update_index_mode(%s, %s, 'ENHANCED')", (bucket, index))
        conn.execute("SELECT s3vectors.update_metadata_configuration(%s, %s, "
                     "add => '{\"textSearchConfigurations\": [{\"metadataKey\": \"t\"}]}')", (bucket, index))
        arn = scalar(conn, "SELECT index_arn FROM s3vectors.get_index(%s, %s)", (bucket, index))
        conn.execute("SELECT s3vectors.tag_resource(%s, '{\"team\": \"search\"}')", (arn,))
        conn.execute("SELECT s3vectors.untag_resource(%s, ARRAY['team'])", (arn,))
        assert conn.execute("SELECT * FROM s3vectors.list_tags_for_resource(%s)", (arn,)).fetchall() == []
        assert scalar(conn, "SELECT s3vectors.put_vectors(%s, %s, ARRAY['a', 'b'], '{{1,0},{0,1}}'::real[])",
                      (bucket, index)) == 2
        nearest = conn.execute("SELECT key FROM s3vectors.query_vectors(%s, %s, '{1,0.1}'::real[], 1)",
                               (bucket, index)).fetchall()
        assert nearest == [("a",)]
        got = conn.execute("SELECT key, data FROM s3vectors.get_vectors(%s, %s, ARRAY['b'])", (bucket, index))
        assert got.fetchall() == [("b", [0.0, 1.0])]
        listed = conn.execute("SELECT key FROM s3vectors.list_vectors(%s, %s) ORDER BY key", (bucket, index))
        assert listed.fetchall() == [("a",), ("b",)]
        assert scalar(conn, "SELECT s3vectors.delete_vectors(%s, %s, ARRAY['a'])", (bucket, index)) == 1
        conn.execute("SELECT s3vectors.delete_index(%s, %s)", (bucket, index))
        conn.execute("SELECT s3vectors.delete_vector_bucket(%s)", (bucket,))
    # Management went to pgs3v-bridge, which does not log routes; nothing went anywhere else.
    assert routes(sql_stack.host.log_text()[start:]) == [
        (WRITE, "PutVectors"), (QUERY, "QueryVectors"), (QUERY, "GetVectors"), (QUERY, "ListVectors"),
        (WRITE, "DeleteVectors")]


def test_a_route_to_a_missing_function_fails_only_its_operations(routed_dsn: str) -> None:
    bucket = unique("misrouted")
    with psycopg.connect(routed_dsn, autocommit=True) as conn:
        conn.execute("SELECT s3vectors.create_vector_bucket(%s)", (bucket,))
        conn.execute("SELECT s3vectors.create_index(%s, 'idx', 2, 'cosine')", (bucket,))
        conn.execute("UPDATE s3vectors.settings SET query_function_name = 'pgs3v-test-missing'")
        try:
            conn.execute("SELECT s3vectors.put_vector(%s, 'idx', 'k', '{1,2}'::real[])", (bucket,))
            error = sql_error(conn, "SELECT * FROM s3vectors.query_vectors(%s, 'idx', '{1,2}'::real[])", (bucket,))
            assert error.sqlstate == "42883" and "pgs3v-test-missing" in str(error)
        finally:
            conn.execute("UPDATE s3vectors.settings SET query_function_name = %s", (QUERY,))
        conn.execute("SELECT s3vectors.delete_index(%s, 'idx')", (bucket,))
        conn.execute("SELECT s3vectors.delete_vector_bucket(%s)", (bucket,))
