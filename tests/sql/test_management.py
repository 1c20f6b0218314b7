"""Bucket policies, tags, index modes and metadata configuration (0.4.0), called by pgs3v_admin.

Each through the shim, the function host and the bridge to the real store, round trip and errors.
"""

from __future__ import annotations

import json
from typing import Any

from tests.sql.conftest import Connection, scalar, sql_error

ACCOUNT_ARN = "arn:aws:s3vectors:us-east-1:000000000000"
TITLE = {"metadataKey": "title", "language": "fr"}
BODY = {"metadataKey": "body"}


def policy(sid: str) -> dict[str, Any]:
    """A bucket policy with one statement."""
    return {"Version": "2012-10-17",
            "Statement": [{"Sid": sid, "Effect": "Deny", "Principal": "*", "Action": "s3vectors:DeleteIndex",
                           "Resource": f"{ACCOUNT_ARN}:bucket/catalog/index/*"}]}


def text_search(conn: Connection, index: tuple[str, str]) -> object:
    """The index's text_search_configurations, as get_index returns them."""
    return scalar(conn, "SELECT text_search_configurations FROM s3vectors.get_index(%s, %s)", index)


def configurations(*items: dict[str, str]) -> str:
    """A MetadataConfigurationAdd or MetadataConfigurationDelete document, as JSON text."""
    return json.dumps({"textSearchConfigurations": list(items)})


def test_bucket_policy_round_trip(admin: Connection, bucket: str) -> None:
    assert scalar(admin, "SELECT s3vectors.get_vector_bucket_policy(%s)", (bucket,)) is None
    first, second = policy("NoIndexDeletes"), policy("Other")
    admin.execute("SELECT s3vectors.put_vector_bucket_policy(%s, %s::jsonb)", (bucket, json.dumps(first)))
    assert scalar(admin, "SELECT s3vectors.get_vector_bucket_policy(%s)", (bucket,)) == first
    # By ARN too, and a second policy replaces the first.
    arn = scalar(admin, "SELECT vector_bucket_arn FROM s3vectors.get_vector_bucket(%s)", (bucket,))
    admin.execute("SELECT s3vectors.put_vector_bucket_policy(vector_bucket_arn => %s, policy => %s::jsonb)",
                  (arn, json.dumps(second)))
    assert scalar(admin, "SELECT s3vectors.get_vector_bucket_policy(vector_bucket_arn => %s)", (arn,)) == second
    admin.execute("SELECT s3vectors.delete_vector_bucket_policy(%s)", (bucket,))
    assert scalar(admin, "SELECT s3vectors.get_vector_bucket_policy(%s)", (bucket,)) is None
    admin.execute("SELECT s3vectors.delete_vector_bucket_policy(vector_bucket_arn => %s)", (arn,))  # harmless


def test_bucket_policy_errors(admin: Connection, bucket: str) -> None:
    for policy in ("[1, 2]", '"allow everything"', None):
        error = sql_error(admin, "SELECT s3vectors.put_vector_bucket_policy(%s, %s::jsonb)", (bucket, policy))
        assert error.sqlstate == "22023" and str(error).startswith("ValidationException: "), (policy, str(error))
    missing = "sql-no-such-bucket"
    for query in ("SELECT s3vectors.put_vector_bucket_policy(%s, '{\"Version\": \"2012-10-17\"}')",
                  "SELECT s3vectors.get_vector_bucket_policy(%s)",
                  "SELECT s3vectors.delete_vector_bucket_policy(%s)"):
        error = sql_error(admin, query, (missing,))
        assert error.sqlstate == "42704", (query, str(error))
        assert str(error).startswith("NotFoundException: The specified vector bucket could not be found"), query


def test_tags_of_a_bucket_and_an_index(admin: Connection, index: tuple[str, str]) -> None:
    bucket_arn = scalar(admin, "SELECT vector_bucket_arn FROM s3vectors.get_vector_bucket(%s)", (index[0],))
    index_arn = scalar(admin, "SELECT index_arn FROM s3vectors.get_index(%s, %s)", index)
    tags = "SELECT key, value FROM s3vectors.list_tags_for_resource(%s)"
    for arn in (bucket_arn, index_arn):
        assert admin.execute(tags, (arn,)).fetchall() == []
        admin.execute("SELECT s3vectors.tag_resource(%s, '{\"team\": \"search\", \"env\": \"test\"}')", (arn,))
        assert admin.execute(tags, (arn,)).fetchall() == [("env", "test"), ("team", "search")]
        # New values replace old ones; other keys stay. Untagging ignores keys that are not there.
        admin.execute("SELECT s3vectors.tag_resource(resource_arn => %s, tags => '{\"team\": \"ranking\"}')", (arn,))
        admin.execute("SELECT s3vectors.untag_resource(%s, ARRAY['env', 'absent'])", (arn,))
        assert admin.execute(tags, (arn,)).fetchall() == [("team", "ranking")]
    # The bucket's tags are its own, not its index's.
    admin.execute("SELECT s3vectors.untag_resource(resource_arn => %s, tag_keys => ARRAY['team'])", (index_arn,))
    assert admin.execute(tags, (index_arn,)).fetchall() == []
    assert admin.execute(tags, (bucket_arn,)).fetchall() == [("team", "ranking")]


def test_tag_errors(admin: Connection, bucket: str) -> None:
    missing = f"{ACCOUNT_ARN}:bucket/sql-no-such-bucket"
    for query, arguments in (("SELECT s3vectors.tag_resource(%s, '{\"a\": \"b\"}')", (missing,)),
                             ("SELECT s3vectors.untag_resource(%s, ARRAY['a'])", (missing,)),
                             ("SELECT * FROM s3vectors.list_tags_for_resource(%s)", (missing,)),
                             ("SELECT * FROM s3vectors.list_tags_for_resource(%s || '/index/none')", (missing,))):
        error = sql_error(admin, query, arguments)
        assert error.sqlstate == "42704" and str(error).startswith("NotFoundException: "), (query, str(error))
    arn = f"{ACCOUNT_ARN}:bucket/{bucket}"
    for query in ("SELECT s3vectors.tag_resource(%s, '[\"not\", \"a\", \"map\"]')",
                  "SELECT s3vectors.tag_resource(%s, NULL)",
                  "SELECT s3vectors.untag_resource(%s, NULL)"):
        error = sql_error(admin, query, (arn,))
        assert error.sqlstate == "22023" and str(error).startswith("ValidationException: "), (query, str(error))


def test_default_and_per_index_modes(admin: Connection, bucket: str) -> None:
    mode = "SELECT default_index_mode FROM s3vectors.get_vector_bucket(%s)"
    # A bucket made on or after 2026-09-30 defaults to ENHANCED (AWS's user guide).
    assert scalar(admin, mode, (bucket,)) == "ENHANCED"
    admin.execute("SELECT s3vectors.create_index(%s, 'before', 3, 'cosine')", (bucket,))
    admin.execute("SELECT s3vectors.put_vector_bucket_default_index_mode(%s, 'CLASSIC')", (bucket,))
    assert scalar(admin, mode, (bucket,)) == "CLASSIC"
    # Indexes created from now on get it; those already there keep theirs.
    arn = scalar(admin, "SELECT s3vectors.create_index(%s, 'after', 3, 'cosine')", (bucket,))
    index_mode = "SELECT index_mode FROM s3vectors.get_index(%s, %s)"
    assert [scalar(admin, index_mode, (bucket, name)) for name in ("before", "after")] == ["ENHANCED", "CLASSIC"]
    admin.execute("SELECT s3vectors.update_index_mode(index_arn => %s, index_mode => 'ENHANCED')", (arn,))
    assert [scalar(admin, index_mode, (bucket, name)) for name in ("before", "after")] == ["ENHANCED", "ENHANCED"]
    # Back to CLASSIC only for an index of a bucket made before 2026-09-30.
    error = sql_error(admin, "SELECT s3vectors.update_index_mode(%s, 'before', 'CLASSIC')", (bucket,))
    assert error.sqlstate == "22023" and str(error).startswith("ValidationException: "), str(error)
    bucket_arn = scalar(admin, "SELECT vector_bucket_arn FROM s3vectors.get_vector_bucket(%s)", (bucket,))
    admin.execute("SELECT s3vectors.put_vector_bucket_default_index_mode(vector_bucket_arn => %s, "
                  "default_index_mode => 'ENHANCED')", (bucket_arn,))
    assert scalar(admin, mode, (bucket,)) == "ENHANCED"


def test_mode_errors(admin: Connection, bucket: str) -> None:
    admin.execute("SELECT s3vectors.create_index(%s, 'idx', 3, 'cosine')", (bucket,))
    for query in ("SELECT s3vectors.put_vector_bucket_default_index_mode(%s, 'FAST')",
                  "SELECT s3vectors.update_index_mode(%s, 'idx', 'FAST')",
                  "SELECT s3vectors.update_index_mode(%s, 'idx', NULL)"):
        error = sql_error(admin, query, (bucket,))
        assert error.sqlstate == "22023" and str(error).startswith("ValidationException: "), (query, str(error))
    error = sql_error(admin, "SELECT s3vectors.update_index_mode(%s, 'no-such-index', 'ENHANCED')", (bucket,))
    assert error.sqlstate == "42704" and str(error).startswith("NotFoundException: The specified index could not")
    error = sql_error(admin, "SELECT s3vectors.put_vector_bucket_default_index_mode('sql-no-such-bucket', 'ENHANCED')")
    assert error.sqlstate == "42704" and str(error).startswith("NotFoundException: The specified vector bucket")


def test_metadata_configuration_add_and_delete_show_in_get_index(admin: Connection, index: tuple[str, str]) -> None:
    admin.execute("SELECT s3vectors.update_index_mode(%s, %s, 'ENHANCED')", index)  # as AWS requires
    assert text_search(admin, index) == []
    arn = scalar(admin, "SELECT s3vectors.update_metadata_configuration(%s, %s, add => %s::jsonb)",
                 (*index, configurations(TITLE, BODY)))
    assert arn == scalar(admin, "SELECT index_arn FROM s3vectors.get_index(%s, %s)", index)
    # A configuration given without a language keeps none (AWS's standard analyzer).
    assert text_search(admin, index) == [{**TITLE, "status": "ACTIVE"}, {**BODY, "status": "ACTIVE"}]
    # The index's other metadata configuration stays.
    assert scalar(admin, "SELECT non_filterable_metadata_keys FROM s3vectors.get_index(%s, %s)", index) == ["text"]
    admin.execute("SELECT s3vectors.update_metadata_configuration(index_arn => %s, delete => %s::jsonb)",
                  (arn, configurations({"metadataKey": "title"})))
    assert text_search(admin, index) == [{**BODY, "status": "ACTIVE"}]


def test_metadata_configuration_errors(admin: Connection, index: tuple[str, str]) -> None:
    admin.execute("SELECT s3vectors.update_index_mode(%s, %s, 'ENHANCED')", index)
    admin.execute("SELECT s3vectors.update_metadata_configuration(%s, %s, add => %s::jsonb)",
                  (*index, configurations(TITLE)))
    error = sql_error(admin, "SELECT s3vectors.update_metadata_configuration(%s, %s, add => %s::jsonb)",
                      (*index, configurations(TITLE)))
    assert error.sqlstate == "42710" and str(error).startswith("ConflictException: "), str(error)
    for member, document in (("delete", configurations({"metadataKey": "absent"})),
                             ("add", configurations({"metadataKey": "x", "language": "xx"})),
                             ("add", '["not an object"]')):
        error = sql_error(admin, f"SELECT s3vectors.update_metadata_configuration(%s, %s, {member} => %s::jsonb)",
                          (*index, document))
        assert error.sqlstate == "22023" and str(error).startswith("ValidationException: "), (document, str(error))
    error = sql_error(admin, "SELECT s3vectors.update_metadata_configuration(%s, 'no-such-index', add => %s::jsonb)",
                      (index[0], configurations(BODY)))
    assert error.sqlstate == "42704", str(error)
    assert text_search(admin, index) == [{**TITLE, "status": "ACTIVE"}]
