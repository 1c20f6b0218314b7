"""Roles, privileges and injection: what each role may do, and that input stays data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.sql.conftest import Connection, scalar, sql_error, unique

QUERY = "SELECT * FROM s3vectors.query_vectors(%s, %s, '{1,0,0}'::real[], 3)"
GET = "SELECT * FROM s3vectors.get_vectors(%s, %s, '{a}')"
PUT = "SELECT s3vectors.put_vector(%s, %s, 'x', '{1,1,1}')"
PUT_MANY = "SELECT s3vectors.put_vectors(%s, %s, '{x}'::text[], '{{1,1,1}}'::real[])"
PUT_JSON = "SELECT s3vectors.put_vectors(%s, %s, vectors => '[{\"key\": \"x\", \"data\": [1, 1, 1]}]')"
DELETE = "SELECT s3vectors.delete_vectors(%s, %s, '{a}')"
LIST = "SELECT * FROM s3vectors.list_vectors(%s, %s)"
MANAGE = [
    "SELECT s3vectors.create_index(%s, %s || '-new', 3, 'cosine')",
    "SELECT * FROM s3vectors.get_index(%s, %s)",
    "SELECT * FROM s3vectors.list_indexes(%s) WHERE %s::text IS NOT NULL",
    "SELECT s3vectors.delete_index(%s, %s)",
    "SELECT * FROM s3vectors.get_vector_bucket(%s) WHERE %s::text IS NOT NULL",
    "SELECT * FROM s3vectors.list_vector_buckets(%s) WHERE %s::text IS NOT NULL",
    "SELECT s3vectors.create_vector_bucket(%s || '-' || %s)",
    "SELECT s3vectors.delete_vector_bucket(%s) WHERE %s::text IS NOT NULL",
    # 0.4.0
    "SELECT s3vectors.put_vector_bucket_policy(%s, '{}') WHERE %s::text IS NOT NULL",
    "SELECT s3vectors.get_vector_bucket_policy(%s) WHERE %s::text IS NOT NULL",
    "SELECT s3vectors.delete_vector_bucket_policy(%s) WHERE %s::text IS NOT NULL",
    "SELECT s3vectors.put_vector_bucket_default_index_mode(%s, 'ENHANCED') WHERE %s::text IS NOT NULL",
    "SELECT s3vectors.update_index_mode(%s, %s, 'ENHANCED')",
    "SELECT s3vectors.update_metadata_configuration(%s, %s, add => '{}')",
    "SELECT s3vectors.tag_resource(%s || %s, '{\"team\": \"x\"}')",
    "SELECT s3vectors.untag_resource(%s || %s, ARRAY['team'])",
    "SELECT * FROM s3vectors.list_tags_for_resource(%s || %s)",
]
# The group roles, each with the privileges of those before it.
GROUPS = ("pgs3v_reader", "pgs3v_writer", "pgs3v_admin")
DOCS = (Path(__file__).resolve().parent.parent.parent / "docs" / "sql.md").read_text()
SECRETS = [
    "SELECT * FROM aws_lambda_shim.settings",
    "SELECT * FROM aws_lambda_shim.configuration()",
    "SELECT aws_lambda_shim.configure('http://evil.example')",
    "SELECT * FROM aws_lambda.invoke('pgs3v-bridge', '{\"operation\": \"DeleteIndex\", \"request\": {}}'::jsonb)",
    "SELECT * FROM aws_lambda_shim.invoke_text('pgs3v-bridge', '{}', NULL, NULL, NULL, NULL, NULL)",
    "SELECT * FROM s3vectors.settings",
    "UPDATE s3vectors.settings SET function_name = 'elsewhere'",
    "SELECT s3vectors._invoke('DeleteIndex', '{}'::jsonb)",
    "SELECT s3vectors._call('{}'::json)",
    "SELECT s3vectors.enable_pgvector()",
]


@pytest.fixture
def stocked(db: Connection, index: tuple[str, str]) -> tuple[str, str]:
    """The index with vector "a" in it."""
    db.execute("SELECT s3vectors.put_vector(%s, %s, 'a', '{1,0,0}', '{\"tenant\": \"t1\"}')", index)
    return index


def denied(conn: Connection, query: str, params: tuple[str, ...] | None = None) -> None:
    error = sql_error(conn, query, params)
    assert error.sqlstate == "42501", (query, str(error))
    assert "permission denied" in str(error)


def test_reader_can_query_and_get_only(reader: Connection, stocked: tuple[str, str]) -> None:
    assert [r[0] for r in reader.execute(QUERY, stocked)] == ["a"]
    assert [r[0] for r in reader.execute(GET, stocked)] == ["a"]
    for query in (PUT, PUT_MANY, PUT_JSON, DELETE, LIST, *MANAGE):
        denied(reader, query, stocked)


def test_writer_can_also_put_delete_and_list_but_not_manage(writer: Connection, stocked: tuple[str, str]) -> None:
    writer.execute(PUT, stocked)
    writer.execute(PUT_MANY, stocked)
    writer.execute(PUT_JSON, stocked)
    assert sorted(r[0] for r in writer.execute(LIST, stocked)) == ["a", "x"]
    writer.execute(DELETE, stocked)
    assert [r[0] for r in writer.execute(QUERY, stocked)] == ["x"]
    for query in MANAGE:
        denied(writer, query, stocked)


def test_admin_manages_buckets_and_indexes(admin: Connection) -> None:
    bucket = unique("sql-admin")
    admin.execute("SELECT s3vectors.create_vector_bucket(%s)", (bucket,))
    admin.execute("SELECT s3vectors.create_index(%s, 'idx', 3, 'cosine')", (bucket,))
    admin.execute("SELECT s3vectors.put_vector(%s, 'idx', 'k', '{1,2,3}')", (bucket,))
    assert scalar(admin, "SELECT count(*) FROM s3vectors.query_vectors(%s, 'idx', '{1,2,3}'::real[])", (bucket,)) == 1
    admin.execute("SELECT s3vectors.delete_index(%s, 'idx')", (bucket,))
    admin.execute("SELECT s3vectors.delete_vector_bucket(%s)", (bucket,))


def test_docs_name_the_roles_that_may_call_each_function(db: Connection) -> None:
    documented = dict(re.findall(r"^\| `s3vectors\.(\w+)` \| `(pgs3v_\w+)` \|", DOCS, re.MULTILINE))
    rows = db.execute("""
        SELECT p.oid::regprocedure::text, p.proname::text,
               ARRAY[has_function_privilege('pgs3v_reader', p.oid, 'EXECUTE'),
                     has_function_privilege('pgs3v_writer', p.oid, 'EXECUTE'),
                     has_function_privilege('pgs3v_admin', p.oid, 'EXECUTE')]
        FROM pg_proc AS p
        WHERE p.pronamespace = 's3vectors'::regnamespace AND p.proname !~ '^_'""").fetchall()
    assert {name for _, name, _ in rows} == set(documented)
    for signature, name, granted in rows:
        role = documented[name]
        # A group may call what its own role and the roles below it may; pgs3v_owner is none of them.
        wanted = [role in GROUPS and GROUPS.index(group) >= GROUPS.index(role) for group in GROUPS]
        assert granted == wanted, (signature, role)


@pytest.mark.parametrize("query", SECRETS)
def test_no_role_reaches_credentials_or_the_raw_bridge(
    reader: Connection, writer: Connection, admin: Connection, query: str
) -> None:
    for conn in (reader, writer, admin):
        denied(conn, query)


INVOKER_FUNCTIONS = {
    "s3vectors.schema_version()", "s3vectors.error_sqlstate(text)",
    "s3vectors._sync_unfit(real[],integer)", "s3vectors._sync_embedding_type(oid)",
    "s3vectors._sync_column(regclass,name,text)",  # reads only the catalog
    # Create or drop triggers on the caller's table: only its owner may.
    "s3vectors.enable_sync(regclass,name,name,text,text,name[],regprocedure)",
    "s3vectors.disable_sync(regclass,text,text)",
    # Read the synced tables (and run their metadata functions) with the caller's privileges.
    "s3vectors.sync_run(integer,integer)", "s3vectors._sync_rows(integer,text[])",
    "s3vectors._sync_batch(integer,text[])", "s3vectors._sync_keys_after(integer,text,integer)",
    "s3vectors._sync_key_operator(s3vectors._sync_mapping,integer)",  # reads only the catalog
}


def test_every_function_is_locked_down(db: Connection) -> None:
    rows = db.execute("""
        SELECT p.oid::regprocedure::text, p.prosecdef, p.proconfig, has_function_privilege('public', p.oid, 'EXECUTE'),
               ARRAY(SELECT pg_get_userbyid(a.grantee) FROM aclexplode(p.proacl) AS a WHERE a.grantee <> p.proowner)
        FROM pg_proc AS p
        WHERE p.pronamespace IN ('s3vectors'::regnamespace, 'aws_lambda'::regnamespace,
                                 'aws_lambda_shim'::regnamespace)""").fetchall()
    assert len(rows) > 30
    for name, definer, config, public, grantees in rows:
        assert "search_path=pg_catalog, pg_temp" in (config or []), name
        assert not public, name
        # What a role may call runs as the owner (the helpers run only inside those), except pure
        # functions that read nothing and the sync functions that must act as the caller.
        if grantees and name not in INVOKER_FUNCTIONS:
            assert definer, name
        if name in INVOKER_FUNCTIONS:
            assert not definer, name
    owners = {r[0] for r in db.execute(
        "SELECT DISTINCT pg_get_userbyid(proowner) FROM pg_proc WHERE pronamespace = 's3vectors'::regnamespace")}
    assert owners == {"pgs3v_owner"}


INJECTIONS = [
    "'); DROP TABLE victims; --",
    "x\"}, \"operation\": \"DeleteIndex",
    "a'||(SELECT 1)||'",
    "$$; DROP TABLE victims; $$",
    "\\\"; DROP TABLE victims;",
]


@pytest.fixture
def victims(db: Connection) -> str:
    db.execute("DROP TABLE IF EXISTS victims")
    db.execute("CREATE TABLE victims (id int)")
    return "victims"


@pytest.mark.parametrize("payload", INJECTIONS)
def test_keys_filters_and_names_stay_data(db: Connection, writer: Connection, reader: Connection,
                                          stocked: tuple[str, str], victims: str, payload: str) -> None:
    # As a key: stored and returned verbatim.
    writer.execute("SELECT s3vectors.put_vector(%s, %s, %s, '{0,1,0}', jsonb_build_object('note', %s::text))",
                   (*stocked, payload, payload))
    rows = reader.execute("SELECT key, metadata FROM s3vectors.get_vectors(%s, %s, ARRAY[%s])",
                          (*stocked, payload)).fetchall()
    assert rows == [(payload, {"note": payload})]
    writer.execute("SELECT s3vectors.put_vectors(%s, %s, ARRAY[%s || '-2'], '{{0,1,1}}'::real[])", (*stocked, payload))
    # As a filter value: matches nothing, as any other string would.
    assert reader.execute("SELECT key FROM s3vectors.query_vectors(%s, %s, '{0,1,0}'::real[], 5, "
                          "jsonb_build_object('tenant', %s::text))", (*stocked, payload)).fetchall() == []
    # As bucket or index names: the store refuses them as invalid names.
    for arguments in ((payload, stocked[1]), (stocked[0], payload)):
        error = sql_error(reader, QUERY, arguments)
        assert error.sqlstate in ("22023", "42704"), str(error)
    error = sql_error(db, "SELECT s3vectors.create_vector_bucket(%s)", (payload,))
    assert error.sqlstate == "22023" and str(error).startswith("ValidationException")
    writer.execute("SELECT s3vectors.delete_vectors(%s, %s, ARRAY[%s, %s || '-2'])", (*stocked, payload, payload))
    assert [r[0] for r in reader.execute(QUERY, stocked)] == ["a"]
    assert scalar(db, "SELECT to_regclass('victims') IS NOT NULL") is True
