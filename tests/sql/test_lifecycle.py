"""Installing, upgrading and removing pgs3v, on a cluster of its own (roles are cluster-wide)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from pgs3v.sql_schema import register
from pgs3v.sql_schema.installer import (
    SchemaError,
    install_schema,
    installed_version,
    shim_endpoint,
    uninstall_schema,
)
from pgs3v.sql_schema.scripts import sql_directory
from pgs3v.stack.postgres import BIN_DIR, PostgresCluster
from pgs3v.stack.startup import new_database, running_cluster
from tests.support import require_postgres

PGS3V_ROLES = {"pgs3v_admin", "pgs3v_writer", "pgs3v_reader", "pgs3v_owner", "pgs3v_shim_owner"}


@pytest.fixture(scope="module")
def cluster() -> Iterator[PostgresCluster]:
    require_postgres()
    with running_cluster("pgs3v-sql-lifecycle-") as cluster:
        yield cluster


def leftovers(dsn: str) -> dict[str, list[str]]:
    """Everything of pgs3v's that a database (and the cluster, for roles) still has."""
    queries = {
        "schemas": "SELECT nspname FROM pg_namespace WHERE nspname IN ('s3vectors', 'aws_lambda', 'aws_commons', "
                   "'aws_lambda_shim')",
        "functions": "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                     "WHERE n.nspname IN ('s3vectors', 'aws_lambda', 'aws_commons', 'aws_lambda_shim') "
                     "OR p.proname LIKE 'plpython3%%'",
        "types": "SELECT t.oid::regtype::text FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                 "WHERE n.nspname IN ('s3vectors', 'aws_commons')",
        "tables": "SELECT c.oid::regclass::text FROM pg_class c WHERE c.relname = 'settings' "
                  "AND c.relnamespace::regnamespace::text <> 'pg_catalog'",
        "extensions": "SELECT extname FROM pg_extension WHERE extname <> 'plpgsql'",
        "languages": "SELECT lanname FROM pg_language WHERE lanname LIKE 'plpython%%'",
        "roles": "SELECT rolname FROM pg_roles WHERE rolname LIKE 'pgs3v%%'",
    }
    with psycopg.connect(dsn, autocommit=True) as conn:
        found = {what: [str(row[0]) for row in conn.execute(query)] for what, query in queries.items()}
    return {what: names for what, names in found.items() if names}


def test_install_twice_upgrade_and_uninstall_everything(cluster: PostgresCluster, tmp_path: Path) -> None:
    first = new_database(cluster, "lifecycle_first")
    second = new_database(cluster, "lifecycle_second")
    assert installed_version(first) is None

    report = install_schema(first, function_endpoint="http://127.0.0.1:9", access_key_id="AKID",
                            secret_access_key="secret")
    assert report.scripts_run == ["aws_lambda_shim--1.0.sql", "aws_lambda_shim--1.0--1.1.sql",
                                  "aws_lambda_shim--1.1--1.2.sql", "pgs3v--0.1.0.sql",
                                  "pgs3v--0.1.0--0.2.0.sql", "pgs3v--0.2.0--0.3.0.sql", "pgs3v--0.3.0--0.4.0.sql",
                                  "pgs3v--0.4.0--0.5.0.sql"]
    assert (report.schema_version, report.lambda_provider, report.shim_configured) == (
        "0.5.0", "aws_lambda_shim 1.2", True)
    again = install_schema(first)
    assert again.scripts_run == [] and again.shim_configured
    with psycopg.connect(first) as conn:
        row = conn.execute("SELECT endpoint_url, access_key_id FROM aws_lambda_shim.configuration()").fetchone()
    assert row == ("http://127.0.0.1:9", "AKID")  # kept when installing again without an endpoint

    # An upgrade script is found and applied in order; going back is refused.
    scripts = tmp_path / "sql"
    shutil.copytree(sql_directory(), scripts)
    (scripts / "pgs3v--0.5.0--0.5.1.sql").write_text(
        "BEGIN;\nSET LOCAL ROLE pgs3v_owner;\n"
        "CREATE OR REPLACE FUNCTION s3vectors.schema_version() RETURNS text LANGUAGE sql IMMUTABLE "
        "SET search_path = pg_catalog, pg_temp AS $$ SELECT '0.5.1'::text $$;\nCOMMIT;\n")
    upgraded = install_schema(first, scripts_directory=scripts, function_name="pgs3v-bridge-prod",
                              write_function_name="pgs3v-bridge-write")
    assert upgraded.scripts_run == ["pgs3v--0.5.0--0.5.1.sql"] and installed_version(first) == "0.5.1"
    with psycopg.connect(first) as conn:
        assert conn.execute("SELECT s3vectors.function_name()").fetchone() == ("pgs3v-bridge-prod",)
        routes = conn.execute("SELECT s3vectors.function_name('QueryVectors'), s3vectors.function_name('PutVectors'), "
                              "s3vectors.function_name('CreateIndex')").fetchone()
        assert routes == ("pgs3v-bridge-prod", "pgs3v-bridge-write", "pgs3v-bridge-prod")
    with pytest.raises(SchemaError, match=re.escape("newer than 0.5.0")):
        install_schema(first)
    fresh = install_schema(second, scripts_directory=scripts)
    assert fresh.scripts_run == ["aws_lambda_shim--1.0.sql", "aws_lambda_shim--1.0--1.1.sql",
                                  "aws_lambda_shim--1.1--1.2.sql", "pgs3v--0.1.0.sql",
                                 "pgs3v--0.1.0--0.2.0.sql", "pgs3v--0.2.0--0.3.0.sql", "pgs3v--0.3.0--0.4.0.sql",
                                 "pgs3v--0.4.0--0.5.0.sql", "pgs3v--0.5.0--0.5.1.sql"]

    # Removing it from one database keeps the roles the other still uses...
    report_second = uninstall_schema(second)
    assert set(report_second.kept_roles) == PGS3V_ROLES
    assert all("lifecycle_first" in reason for reason in report_second.kept_roles.values())
    assert set(leftovers(second)) == {"roles"}
    # ... and from the last one leaves nothing at all.
    report_first = uninstall_schema(first)
    assert report_first.kept_roles == {}
    assert leftovers(first) == {}
    assert leftovers(second) == {}
    assert installed_version(first) is None
    uninstall_schema(first)  # harmless when there is nothing to remove


def catalog(dsn: str) -> dict[str, list[tuple[str | None, ...]]]:
    """What schema s3vectors is: each function's definition, owner, privileges and comment; the columns of its
    tables, views and row types; the grants."""
    queries = {
        "functions": "SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid), pg_get_userbyid(p.proowner), "
                     "p.proacl::text, obj_description(p.oid, 'pg_proc') FROM pg_proc AS p "
                     "WHERE p.pronamespace = 's3vectors'::regnamespace ORDER BY 1",
        "relations": "SELECT c.oid::regclass::text, c.relkind::text, pg_get_userbyid(c.relowner), c.relacl::text "
                     "FROM pg_class AS c WHERE c.relnamespace = 's3vectors'::regnamespace ORDER BY 1",
        "types": "SELECT t.oid::regtype::text, pg_get_userbyid(t.typowner), t.typacl::text FROM pg_type AS t "
                 "WHERE t.typnamespace = 's3vectors'::regnamespace ORDER BY 1",
        "schemas": "SELECT nspname::text, pg_get_userbyid(nspowner), nspacl::text FROM pg_namespace "
                   "WHERE nspname IN ('s3vectors', 'aws_lambda', 'aws_commons') ORDER BY 1",
        "columns": "SELECT a.attrelid::regclass::text, a.attname::text, format_type(a.atttypid, a.atttypmod), "
                   "a.attnotnull::text, pg_get_expr(d.adbin, d.adrelid), col_description(a.attrelid, a.attnum) "
                   "FROM pg_attribute AS a JOIN pg_class AS c ON c.oid = a.attrelid "
                   "LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
                   "WHERE c.relnamespace = 's3vectors'::regnamespace AND c.relkind IN ('r', 'v', 'c') "
                   "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1, a.attnum",
        "memberships": "SELECT r.rolname::text, m.rolname::text FROM pg_auth_members AS a "
                       "JOIN pg_roles AS r ON r.oid = a.roleid JOIN pg_roles AS m ON m.oid = a.member "
                       "WHERE r.rolname LIKE 'pgs3v%%' AND m.rolname LIKE 'pgs3v%%' ORDER BY 1, 2",
    }
    with psycopg.connect(dsn, autocommit=True) as conn:
        return {what: [tuple(row) for row in conn.execute(query)] for what, query in queries.items()}


SYNC_FUNCTIONS = {f"s3vectors.{name}" for name in (
    "enable_sync", "disable_sync", "sync_run", "sync_status", "sync_pending", "_sync_register", "_sync_unregister",
    "_sync_column", "_sync_embedding_type", "_sync_changed", "_sync_capture", "_sync_claim", "_sync_rows",
    "_sync_done", "_sync_failed", "_sync_unfit", "_sync_key_operator", "_sync_batch", "_sync_keys_after",
    "_sync_enqueue", "_sync_mark")}
SYNC_RELATIONS = {f"s3vectors.{name}" for name in (
    "_sync_mapping", "_sync_mapping_pkey", "_sync_mapping_mapping_id_seq",
    "_sync_mapping_source_vector_bucket_name_index_name_key", "_sync_outbox", "_sync_outbox_pkey",
    "_sync_outbox_change_id_seq", "_sync_outbox_order", "_sync_outbox_key", "_sync_state", "_sync_state_pkey",
    "sync_mappings")}


# New in 0.3.0: routing an operation to its function.
ROUTING_FUNCTIONS = {"s3vectors.function_name(text)", "s3vectors._call(text,json)"}
# 0.2.0's functions whose definitions 0.3.0 replaces (and the table's comment).
ROUTED = {"s3vectors.schema_version", "s3vectors._call", "s3vectors._invoke", "s3vectors._send_batches"}


def _is_sync(signature: object) -> bool:
    return "sync" in str(signature).split("(")[0]


RELEASED_0_3_0 = ("aws_lambda_shim--1.0.sql", "aws_lambda_shim--1.0--1.1.sql", "pgs3v--0.1.0.sql",
                  "pgs3v--0.1.0--0.2.0.sql", "pgs3v--0.2.0--0.3.0.sql")
RELEASED_0_4_0 = (*RELEASED_0_3_0, "pgs3v--0.3.0--0.4.0.sql")


def _released(tmp_path: Path, version: str, *scripts: str) -> Path:
    """A scripts directory holding only what a released version shipped."""
    released = tmp_path / version
    released.mkdir()
    for script in scripts:
        shutil.copy(sql_directory() / script, released / script)
    return released


def test_a_fresh_install_and_an_upgrade_from_0_1_0_end_in_the_same_catalog(
        cluster: PostgresCluster, tmp_path: Path) -> None:
    released = _released(tmp_path, "0.1.0", "aws_lambda_shim--1.0.sql", "pgs3v--0.1.0.sql")
    upgraded = new_database(cluster, "lifecycle_upgraded")
    assert install_schema(upgraded, scripts_directory=released).schema_version == "0.1.0"
    before = catalog(upgraded)
    up_to_0_3_0 = _released(tmp_path, "0.3.0", *RELEASED_0_3_0)
    assert install_schema(upgraded, scripts_directory=up_to_0_3_0).scripts_run == [
        "aws_lambda_shim--1.0--1.1.sql", "pgs3v--0.1.0--0.2.0.sql", "pgs3v--0.2.0--0.3.0.sql"]
    fresh = new_database(cluster, "lifecycle_fresh")
    install_schema(fresh, scripts_directory=up_to_0_3_0)
    after = catalog(upgraded)
    assert after == catalog(fresh)
    # 0.1.0's functions keep their owners, privileges and grants; some changed their definitions.
    kept = [f for f in after["functions"] if not _is_sync(f[0]) and f[0] not in ROUTING_FUNCTIONS]
    assert [f[:1] + f[2:4] for f in kept] == [f[:1] + f[2:4] for f in before["functions"]]
    changed = {str(f[0]).split("(")[0] for f, g in zip(kept, before["functions"], strict=True) if f != g}
    assert changed == {
        "s3vectors.schema_version", "s3vectors.query_vectors", "s3vectors._paged_query_request",
        "s3vectors.query_vectors_paged"} | ROUTED  # query_vectors_paged for its comment
    # Sync is new in 0.2.0: its functions, tables and view, owned by pgs3v_owner.
    added = {str(f[0]).split("(")[0]: f[2] for f in after["functions"] if _is_sync(f[0])}
    assert set(added) == SYNC_FUNCTIONS and set(added.values()) == {"pgs3v_owner"}
    new_relations = sorted(set(after["relations"]) - set(before["relations"]))
    assert set(before["relations"]) <= set(after["relations"])
    assert {r[0] for r in new_relations} == SYNC_RELATIONS
    assert {r[2] for r in new_relations} == {"pgs3v_owner"}
    # Each table and view has its row type (and that type's array type).
    assert {str(t[0]).removesuffix("[]") for t in after["types"] if _is_sync(t[0])} == {
        "s3vectors._sync_mapping", "s3vectors._sync_outbox", "s3vectors._sync_state", "s3vectors.sync_mappings"}
    assert [t for t in after["types"] if not _is_sync(t[0])] == before["types"]
    assert {k: v for k, v in after.items() if k not in ("functions", "relations", "types", "columns")} == {
        k: v for k, v in before.items() if k not in ("functions", "relations", "types", "columns")}
    for dsn in (upgraded, fresh):
        uninstall_schema(dsn)


def test_a_fresh_install_and_an_upgrade_from_0_2_0_end_in_the_same_catalog(
        cluster: PostgresCluster, tmp_path: Path) -> None:
    released = _released(tmp_path, "0.2.0", "aws_lambda_shim--1.0.sql", "aws_lambda_shim--1.0--1.1.sql",
                         "pgs3v--0.1.0.sql", "pgs3v--0.1.0--0.2.0.sql")
    upgraded = new_database(cluster, "lifecycle_upgraded_020")
    assert install_schema(upgraded, scripts_directory=released, function_name="pgs3v-bridge-prod").schema_version == (
        "0.2.0")
    before = catalog(upgraded)
    up_to_0_3_0 = _released(tmp_path, "0.3.0", *RELEASED_0_3_0)
    assert install_schema(upgraded, scripts_directory=up_to_0_3_0).scripts_run == ["pgs3v--0.2.0--0.3.0.sql"]
    fresh = new_database(cluster, "lifecycle_fresh_030")
    install_schema(fresh, scripts_directory=up_to_0_3_0)
    after = catalog(upgraded)
    assert after == catalog(fresh)
    # Two functions added, owned by pgs3v_owner; the routed ones replaced in place, keeping owner and grants.
    names = {f[0] for f in after["functions"]}
    assert names - {f[0] for f in before["functions"]} == ROUTING_FUNCTIONS
    assert {f[2] for f in after["functions"] if f[0] in ROUTING_FUNCTIONS} == {"pgs3v_owner"}
    kept = [f for f in after["functions"] if f[0] not in ROUTING_FUNCTIONS]
    assert [f[:1] + f[2:4] for f in kept] == [f[:1] + f[2:4] for f in before["functions"]]
    assert {str(f[0]).split("(")[0] for f, g in zip(kept, before["functions"], strict=True) if f != g} == ROUTED
    # The settings table gains two nullable columns; the rest of the catalog is as it was.
    added = [c for c in after["columns"] if c not in before["columns"]]
    assert [c[:5] for c in added] == [
        ("s3vectors.settings", "function_name", "text", "true", "'pgs3v-bridge'::text"),
        ("s3vectors.settings", "query_function_name", "text", "false", None),
        ("s3vectors.settings", "write_function_name", "text", "false", None)]  # function_name for its comment
    assert {k: v for k, v in after.items() if k not in ("functions", "columns")} == {
        k: v for k, v in before.items() if k not in ("functions", "columns")}
    # The upgrade keeps the settings, and routes nothing elsewhere until told to.
    with psycopg.connect(upgraded) as conn:
        row = conn.execute("SELECT function_name, query_function_name, write_function_name FROM s3vectors.settings")
        assert row.fetchone() == ("pgs3v-bridge-prod", None, None)
        routes = conn.execute("SELECT array_agg(DISTINCT s3vectors.function_name(o)) FROM unnest(ARRAY["
                              "'QueryVectors', 'GetVectors', 'ListVectors', 'PutVectors', 'DeleteVectors', "
                              "'CreateIndex']) AS o").fetchone()
        assert routes == (["pgs3v-bridge-prod"],)
    for dsn in (upgraded, fresh):
        uninstall_schema(dsn)


# New in 0.4.0: a function for each operation that had none (and a helper); all for pgs3v_admin.
MANAGEMENT_FUNCTIONS = {
    "s3vectors.put_vector_bucket_policy(text,jsonb,text)", "s3vectors.get_vector_bucket_policy(text,text)",
    "s3vectors.delete_vector_bucket_policy(text,text)",
    "s3vectors.put_vector_bucket_default_index_mode(text,text,text)",
    "s3vectors.update_index_mode(text,text,text,text)",
    "s3vectors.update_metadata_configuration(text,text,jsonb,jsonb,text)",
    "s3vectors.tag_resource(text,jsonb)", "s3vectors.untag_resource(text,text[])",
    "s3vectors.list_tags_for_resource(text)"}


def test_a_fresh_install_and_an_upgrade_from_0_3_0_end_in_the_same_catalog(
        cluster: PostgresCluster, tmp_path: Path) -> None:
    released = _released(tmp_path, "0.3.0", *RELEASED_0_3_0)
    upgraded = new_database(cluster, "lifecycle_upgraded_030")
    assert install_schema(upgraded, scripts_directory=released, function_name="pgs3v-bridge-prod",
                          write_function_name="pgs3v-bridge-write").schema_version == "0.3.0"
    before = catalog(upgraded)
    up_to_0_4_0 = _released(tmp_path, "0.4.0", *RELEASED_0_4_0)
    assert install_schema(upgraded, scripts_directory=up_to_0_4_0).scripts_run == ["pgs3v--0.3.0--0.4.0.sql"]
    fresh = new_database(cluster, "lifecycle_fresh_040")
    install_schema(fresh, scripts_directory=up_to_0_4_0)
    after = catalog(upgraded)
    assert after == catalog(fresh)
    # The new functions, owned by pgs3v_owner; each management function callable by pgs3v_admin only.
    functions = {str(f[0]): f for f in after["functions"]}
    added = set(functions) - {str(f[0]) for f in before["functions"]}
    assert added == MANAGEMENT_FUNCTIONS | {"s3vectors._bucket_address(text,text)"}
    assert {functions[name][2] for name in added} == {"pgs3v_owner"}
    for name in MANAGEMENT_FUNCTIONS:
        assert functions[name][3] == "{pgs3v_owner=X/pgs3v_owner,pgs3v_admin=X/pgs3v_owner}", name
    assert functions["s3vectors._bucket_address(text,text)"][3] == "{pgs3v_owner=X/pgs3v_owner}"
    # The others keep owners and grants; three get new definitions.
    kept = [f for f in after["functions"] if str(f[0]) not in added]
    assert [f[:1] + f[2:4] for f in kept] == [f[:1] + f[2:4] for f in before["functions"]]
    assert {str(f[0]).split("(")[0] for f, g in zip(kept, before["functions"], strict=True) if f != g} == {
        "s3vectors.schema_version", "s3vectors.get_vector_bucket", "s3vectors.get_index"}
    # The row types of GetVectorBucket and GetIndex gain their newer fields, last.
    assert [c[:3] for c in after["columns"] if c not in before["columns"]] == [
        ("s3vectors.vector_bucket", "default_index_mode", "text"),
        ("s3vectors.vector_index", "index_mode", "text"),
        ("s3vectors.vector_index", "text_search_configurations", "jsonb")]
    assert [c for c in before["columns"] if c not in after["columns"]] == []
    assert {k: v for k, v in after.items() if k not in ("functions", "columns")} == {
        k: v for k, v in before.items() if k not in ("functions", "columns")}
    # The settings stay, and the new operations go where the other management operations go.
    with psycopg.connect(upgraded) as conn:
        row = conn.execute("SELECT function_name, query_function_name, write_function_name FROM s3vectors.settings")
        assert row.fetchone() == ("pgs3v-bridge-prod", None, "pgs3v-bridge-write")
        routes = conn.execute("SELECT array_agg(DISTINCT s3vectors.function_name(o)) FROM unnest(ARRAY["
                              "'PutVectorBucketPolicy', 'TagResource', 'UpdateIndexMode', "
                              "'UpdateMetadataConfiguration', 'CreateIndex']) AS o").fetchone()
        assert routes == (["pgs3v-bridge-prod"],)
    for dsn in (upgraded, fresh):
        uninstall_schema(dsn)

# 0.4.0's query_vectors, replaced in 0.5.0 by one with three more arguments and three more columns.
QUERY_VECTORS_0_4_0 = "s3vectors.query_vectors(text,text,real[],integer,jsonb,boolean,boolean,text)"
QUERY_VECTORS_0_5_0 = "s3vectors.query_vectors(text,text,real[],integer,jsonb,boolean,boolean,text,jsonb,boolean,text)"


def test_a_fresh_install_and_an_upgrade_from_0_4_0_end_in_the_same_catalog(
        cluster: PostgresCluster, tmp_path: Path) -> None:
    released = _released(tmp_path, "0.4.0", *RELEASED_0_4_0)
    upgraded = new_database(cluster, "lifecycle_upgraded_040")
    assert install_schema(upgraded, scripts_directory=released, function_name="pgs3v-bridge-prod").schema_version == (
        "0.4.0")
    with psycopg.connect(upgraded, autocommit=True) as conn:
        # A grant a database owner added to the 0.4.0 function, which the new one must keep.
        conn.execute('DROP ROLE IF EXISTS "lifecycle app, v2"')
        conn.execute('CREATE ROLE "lifecycle app, v2"')
        conn.execute(f'GRANT EXECUTE ON FUNCTION {QUERY_VECTORS_0_4_0} TO "lifecycle app, v2"')
    before = catalog(upgraded)
    assert install_schema(upgraded).scripts_run == ["aws_lambda_shim--1.1--1.2.sql", "pgs3v--0.4.0--0.5.0.sql"]
    fresh = new_database(cluster, "lifecycle_fresh_050")
    install_schema(fresh)
    with psycopg.connect(fresh, autocommit=True) as conn:
        conn.execute(f'GRANT EXECUTE ON FUNCTION {QUERY_VECTORS_0_5_0} TO "lifecycle app, v2"')
    after = catalog(upgraded)
    assert after == catalog(fresh)
    functions = {str(f[0]): f for f in after["functions"]}
    old = {str(f[0]): f for f in before["functions"]}
    # query_vectors: the old signature gone, the new one owned by pgs3v_owner with the old grants.
    assert set(functions) - set(old) == {QUERY_VECTORS_0_5_0, "s3vectors._query_texts(jsonb)"}
    assert set(old) - set(functions) == {QUERY_VECTORS_0_4_0}
    assert functions[QUERY_VECTORS_0_5_0][2:4] == old[QUERY_VECTORS_0_4_0][2:4]
    owner, acl = functions[QUERY_VECTORS_0_5_0][2:4]
    assert owner == "pgs3v_owner" and acl is not None
    assert acl.startswith("{pgs3v_owner=X/pgs3v_owner,pgs3v_reader=X/pgs3v_owner,") and "lifecycle app, v2" in acl
    assert functions["s3vectors._query_texts(jsonb)"][2:4] == ("pgs3v_owner", "{pgs3v_owner=X/pgs3v_owner}")
    # Everything else keeps owner and grants; only the version changes its definition.
    kept = [f for f in after["functions"] if str(f[0]) in old]
    assert [f[:1] + f[2:4] for f in kept] == [f[:1] + f[2:4] for f in before["functions"]
                                              if str(f[0]) != QUERY_VECTORS_0_4_0]
    assert {str(f[0]) for f in kept if f != old[str(f[0])]} == {"s3vectors.schema_version()"}
    assert {k: v for k, v in after.items() if k != "functions"} == {
        k: v for k, v in before.items() if k != "functions"}
    with psycopg.connect(upgraded) as conn:
        assert conn.execute("SELECT function_name FROM s3vectors.settings").fetchone() == ("pgs3v-bridge-prod",)
    for dsn in (upgraded, fresh):
        uninstall_schema(dsn)
    with psycopg.connect(upgraded, autocommit=True) as conn:
        conn.execute('DROP ROLE "lifecycle app, v2"')


def test_the_upgrade_to_0_5_0_stops_at_objects_that_depend_on_query_vectors(
        cluster: PostgresCluster, tmp_path: Path) -> None:
    released = _released(tmp_path, "0.4.0", *RELEASED_0_4_0)
    dsn = new_database(cluster, "lifecycle_dependent_040")
    install_schema(dsn, scripts_directory=released)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE VIEW nearest AS SELECT q.key FROM s3vectors.query_vectors('b', 'i', '{1,0,0}') AS q")
    with pytest.raises(SchemaError, match=re.escape(": view nearest depend on s3vectors.query_vectors")):
        install_schema(dsn)
    assert installed_version(dsn) == "0.4.0"  # the failed script changed nothing
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP VIEW nearest")
    assert install_schema(dsn).scripts_run == ["pgs3v--0.4.0--0.5.0.sql"]
    uninstall_schema(dsn)


def test_roles_stay_while_user_objects_depend_on_them(cluster: PostgresCluster) -> None:
    dsn = new_database(cluster, "lifecycle_grants")
    install_schema(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE products (sku text)")
        conn.execute("GRANT SELECT ON products TO pgs3v_reader")
    report = uninstall_schema(dsn)
    assert set(report.kept_roles) == {"pgs3v_reader"}
    assert "products" in report.kept_roles["pgs3v_reader"]
    assert leftovers(dsn) == {"roles": ["pgs3v_reader"]}
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE products")
    assert uninstall_schema(dsn).kept_roles == {}
    assert leftovers(dsn) == {}


def test_the_scripts_work_with_plain_psql(cluster: PostgresCluster) -> None:
    dsn = new_database(cluster, "lifecycle_psql")
    directory = sql_directory()
    def psql(script: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN_DIR / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f", str(directory / script)],
            capture_output=True, text=True, check=False,
        )

    for script in ("aws_lambda_shim--1.0.sql", "aws_lambda_shim--1.0--1.1.sql", "pgs3v--0.1.0.sql", "pgs3v--0.1.0.sql",
                   "pgs3v--0.1.0--0.2.0.sql", "pgs3v--0.2.0--0.3.0.sql", "aws_lambda_shim--1.0.sql",
                   "aws_lambda_shim--1.0--1.1.sql", "pgs3v--0.2.0--0.3.0.sql",  # running one again is harmless
                   "aws_lambda_shim--1.1--1.2.sql", "aws_lambda_shim--1.1--1.2.sql",
                   "pgs3v--0.3.0--0.4.0.sql", "pgs3v--0.3.0--0.4.0.sql",
                   "pgs3v--0.4.0--0.5.0.sql", "pgs3v--0.4.0--0.5.0.sql"):
        result = psql(script)
        assert result.returncode == 0, result.stderr
    assert installed_version(dsn) == "0.5.0"
    # Older scripts do not go back over 0.5.0.
    result = psql("pgs3v--0.1.0.sql")
    assert result.returncode != 0 and "pgs3v 0.5.0 is installed here; this file installs 0.1.0" in result.stderr
    for script, upgrade in (("pgs3v--0.1.0--0.2.0.sql", "0.1.0 to 0.2.0"),
                            ("pgs3v--0.2.0--0.3.0.sql", "0.2.0 to 0.3.0"),
                            ("pgs3v--0.3.0--0.4.0.sql", "0.3.0 to 0.4.0")):
        result = psql(script)
        assert result.returncode != 0
        assert f"pgs3v 0.5.0 is installed here; this file upgrades {upgrade}" in result.stderr
    assert installed_version(dsn) == "0.5.0"
    assert uninstall_schema(dsn).kept_roles == {}


def test_the_schema_script_refuses_to_run_without_aws_lambda(cluster: PostgresCluster) -> None:
    dsn = new_database(cluster, "lifecycle_alone")
    result = subprocess.run(
        [str(BIN_DIR / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f",
         str(sql_directory() / "pgs3v--0.1.0.sql")],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode != 0 and "aws_lambda.invoke is missing" in result.stderr
    assert leftovers(dsn) == {}


def test_cli_install_and_uninstall(cluster: PostgresCluster) -> None:
    dsn = new_database(cluster, "lifecycle_cli")

    import click

    @click.group()
    def main() -> None:
        """The pgs3v command, for this test."""

    register(main)
    runner = CliRunner()
    installed = runner.invoke(main, ["schema", "install", "--dsn", dsn, "--function-endpoint", "http://127.0.0.1:9",
                                     "--timeout", "2", "--function", "m", "--query-function", "q",
                                     "--write-function", "w"], env={"PGS3V_ACCESS_KEY_ID": "AKID",
                                                             "PGS3V_SECRET_ACCESS_KEY": "secret"})
    assert installed.exit_code == 0, installed.output
    assert ("pgs3v schema 0.5.0 via aws_lambda_shim 1.2; ran aws_lambda_shim--1.0.sql, aws_lambda_shim--1.0--1.1.sql, "
            "aws_lambda_shim--1.1--1.2.sql, pgs3v--0.1.0.sql, pgs3v--0.1.0--0.2.0.sql, pgs3v--0.2.0--0.3.0.sql, "
            "pgs3v--0.3.0--0.4.0.sql, "
            "pgs3v--0.4.0--0.5.0.sql") in installed.output
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT access_key_id, timeout_seconds FROM aws_lambda_shim.configuration()").fetchone()
        assert shim_endpoint(conn) == "http://127.0.0.1:9"
        names = conn.execute("SELECT function_name, query_function_name, write_function_name FROM s3vectors.settings")
        assert names.fetchone() == ("m", "q", "w")
    assert row == ("AKID", 2.0)
    removed = runner.invoke(main, ["schema", "uninstall", "--dsn", dsn])
    assert removed.exit_code == 0 and "removed schema s3vectors" in removed.output
    with psycopg.connect(dsn) as conn:
        assert shim_endpoint(conn) is None
    bad = runner.invoke(main, ["schema", "install", "--dsn", "host=/nonexistent dbname=x"])
    assert bad.exit_code == 1 and "cannot connect to PostgreSQL" in bad.output
