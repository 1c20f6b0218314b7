"""Sync from tables to indexes in SQL: capture by triggers, drain by s3vectors.sync_run, status.

The table is owned by ada (pgs3v_admin), who enables sync; walter (pgs3v_writer) drains; alice
(pgs3v_reader) reads the status. Every drain goes through the shim, the function host and the
bridge to the real store, and the index is then compared with the table.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from pgs3v.sql_schema.installer import install_schema, uninstall_schema
from tests.sql.conftest import Connection, SqlStack, scalar, sql_error, unique
from tests.support import ACCESS_KEY_ID, SECRET_ACCESS_KEY


@pytest.fixture
def products(db: Connection, index: tuple[str, str]) -> Iterator[str]:
    """A table owned by ada: id (primary key), embedding real[], price, title, notes (not synced)."""
    table = unique("products").replace("-", "_")
    db.execute(f"CREATE TABLE {table} (id integer PRIMARY KEY, embedding real[], price numeric, title text, "
               f"notes text)")
    db.execute(f"ALTER TABLE {table} OWNER TO ada")
    db.execute(f"GRANT SELECT ON {table} TO walter")
    yield table
    db.execute(f"DROP TABLE IF EXISTS {table}")


def enable(admin: Connection, table: str, index: tuple[str, str], *extra: str) -> int:
    arguments = ", ".join(("%s::regclass", "'id'", "'embedding'", "%s", "%s", *extra))
    mapping = scalar(admin, f"SELECT s3vectors.enable_sync({arguments})", (table, *index))
    assert isinstance(mapping, int)
    return mapping


def pending(db: Connection, mapping: int) -> list[str]:
    return [r[0] for r in db.execute(
        "SELECT key FROM s3vectors._sync_outbox WHERE mapping_id = %s ORDER BY change_id", (mapping,))]


def index_contents(db: Connection, index: tuple[str, str]) -> dict[str, tuple[list[float], Any]]:
    rows = db.execute("SELECT key, data, metadata FROM s3vectors.list_vectors(%s, %s, return_data => true, "
                      "return_metadata => true)", index).fetchall()
    return {key: (data, metadata) for key, data, metadata in rows}


def test_changes_are_recorded_in_the_changing_transaction(db: Connection, admin: Connection, products: str,
                                                         index: tuple[str, str]) -> None:
    mapping = enable(admin, products, index, "metadata_columns => '{price,title}'")
    db.execute(f"INSERT INTO {products} VALUES (1, '{{1,0,0}}', 10, 'a', 'x'), (2, '{{0,1,0}}', 20, 'b', 'y')")
    assert pending(db, mapping) == ["1", "2"]
    with db.transaction(force_rollback=True):
        db.execute(f"INSERT INTO {products} VALUES (3, '{{0,0,1}}', 30, 'c', 'z')")
        db.execute(f"UPDATE {products} SET price = 11 WHERE id = 1")
    assert pending(db, mapping) == ["1", "2"]  # the rolled-back transaction left nothing
    db.execute(f"UPDATE {products} SET notes = 'not synced'")
    assert pending(db, mapping) == ["1", "2"]
    db.execute(f"UPDATE {products} SET price = 21 WHERE id = 2")
    db.execute(f"UPDATE {products} SET embedding = '{{1,1,0}}' WHERE id = 1")
    db.execute(f"UPDATE {products} SET title = NULL WHERE id = 1")
    assert pending(db, mapping) == ["1", "2", "2", "1", "1"]
    db.execute(f"UPDATE {products} SET id = 7 WHERE id = 2")  # the old key goes, the new one comes
    db.execute(f"DELETE FROM {products} WHERE id = 1")
    assert pending(db, mapping)[5:] == ["2", "7", "1"]
    assert scalar(db, "SELECT reconcile_needed_since FROM s3vectors.sync_status() WHERE mapping_id = %s",
                  (mapping,)) is None
    db.execute(f"TRUNCATE {products}")
    assert scalar(db, "SELECT reconcile_needed_since IS NOT NULL FROM s3vectors.sync_status() WHERE mapping_id = %s",
                  (mapping,))


def test_sync_run_makes_the_index_equal_to_the_table(db: Connection, admin: Connection, writer: Connection,
                                                     products: str, index: tuple[str, str]) -> None:
    mapping = enable(admin, products, index, "metadata_columns => '{price,title}'")
    db.execute(f"INSERT INTO {products} SELECT n, ARRAY[n, 1, 0]::real[], n * 10, 'item ' || n "
               f"FROM generate_series(1, 1200) n")
    db.execute(f"UPDATE {products} SET price = 5 WHERE id <= 3")
    db.execute(f"UPDATE {products} SET embedding = NULL WHERE id = 4")  # absent from the index, counted
    db.execute(f"UPDATE {products} SET embedding = '{{1,2}}' WHERE id = 5")  # the index cannot take it
    db.execute(f"DELETE FROM {products} WHERE id = 6")
    assert scalar(db, "SELECT pending FROM s3vectors.sync_status() WHERE mapping_id = %s", (mapping,)) == 1200 + 6
    drained = scalar(writer, "SELECT s3vectors.sync_run()")
    assert drained == 1206
    contents = index_contents(db, index)
    assert len(contents) == 1200 - 3
    assert contents["1"] == ([1.0, 1.0, 0.0], {"price": 5, "title": "item 1"})
    assert contents["100"] == ([100.0, 1.0, 0.0], {"price": 1000, "title": "item 100"})
    assert "4" not in contents and "5" not in contents and "6" not in contents
    status = db.execute("SELECT pending, vectors_put, rows_without_embedding, rows_skipped, last_skip, "
                        "last_success IS NOT NULL, last_error FROM s3vectors.sync_status() WHERE mapping_id = %s",
                        (mapping,)).fetchone()
    assert status == (0, 1197, 1, 1, "key 5: dimension 2, the index has 3", True, None)
    # Nothing pending: a second run sends nothing.
    assert scalar(writer, "SELECT s3vectors.sync_run()") == 0


def test_sync_run_stops_at_max_rows(db: Connection, admin: Connection, writer: Connection, products: str,
                                    index: tuple[str, str]) -> None:
    mapping = enable(admin, products, index)
    db.execute(f"INSERT INTO {products} SELECT n, ARRAY[n, 1, 0]::real[] FROM generate_series(1, 30) n")
    assert scalar(writer, "SELECT s3vectors.sync_run(max_rows => 10)") == 10
    assert scalar(db, "SELECT pending FROM s3vectors.sync_status() WHERE mapping_id = %s", (mapping,)) == 20
    assert scalar(writer, "SELECT s3vectors.sync_run(mapping => %s)", (mapping,)) == 20


def test_a_failed_drain_keeps_its_changes_and_reports_the_error(db: Connection, admin: Connection,
                                                                writer: Connection, products: str,
                                                                index: tuple[str, str]) -> None:
    mapping = enable(admin, products, index)
    db.execute(f"INSERT INTO {products} VALUES (1, '{{1,0,0}}')")
    db.execute("SELECT s3vectors.delete_index(%s, %s)", index)
    assert scalar(writer, "SELECT s3vectors.sync_run()") == 0
    status = db.execute("SELECT pending, last_error FROM s3vectors.sync_status() WHERE mapping_id = %s",
                        (mapping,)).fetchone()
    assert status is not None and status[0] == 1 and status[1].startswith("NotFoundException")


def test_pending_keys_flag_stale_query_results(db: Connection, admin: Connection, writer: Connection,
                                               reader: Connection, products: str, index: tuple[str, str]) -> None:
    enable(admin, products, index)
    db.execute(f"INSERT INTO {products} VALUES (1, '{{1,0,0}}'), (2, '{{0.9,0.1,0}}'), (3, '{{0,1,0}}')")
    writer.execute("SELECT s3vectors.sync_run()")
    db.execute(f"UPDATE {products} SET embedding = '{{0,0,1}}' WHERE id = 2")
    rows = reader.execute(
        "SELECT q.key, p.key IS NOT NULL AS stale "
        "FROM s3vectors.query_vectors(%s, %s, '{1,0,0}', 2) AS q "
        "LEFT JOIN s3vectors.sync_pending(%s, %s) AS p ON p.key = q.key ORDER BY q.distance",
        (*index, *index)).fetchall()
    assert rows == [("1", False), ("2", True)]
    assert [r[0] for r in reader.execute("SELECT key FROM s3vectors.sync_pending(%s, %s, '{1,2}')", index)] == ["2"]


def test_keys_of_any_type_become_text(db: Connection, admin: Connection, writer: Connection,
                                      index: tuple[str, str]) -> None:
    table = unique("events").replace("-", "_")
    db.execute(f"CREATE TABLE {table} (at timestamptz PRIMARY KEY, embedding double precision[])")
    db.execute(f"ALTER TABLE {table} OWNER TO ada")
    db.execute(f"GRANT SELECT ON {table} TO walter")
    try:
        scalar(admin, "SELECT s3vectors.enable_sync(%s::regclass, 'at', 'embedding', %s, %s)", (table, *index))
        db.execute("SET timezone = 'America/New_York'")  # the session's settings do not change the key
        db.execute(f"INSERT INTO {table} VALUES ('2026-01-02 03:04:05.5+00', '{{1,0,0}}')")
        db.execute("RESET timezone")
        writer.execute("SELECT s3vectors.sync_run()")
        assert list(index_contents(db, index)) == ["2026-01-02 03:04:05.5+00"]
        db.execute(f"DELETE FROM {table}")
        writer.execute("SELECT s3vectors.sync_run()")
        assert index_contents(db, index) == {}
    finally:
        db.execute(f"DROP TABLE {table}")


def test_disable_sync_removes_triggers_outbox_and_state(db: Connection, admin: Connection, products: str,
                                                        index: tuple[str, str]) -> None:
    mapping = enable(admin, products, index)
    db.execute(f"INSERT INTO {products} VALUES (1, '{{1,0,0}}')")
    assert scalar(db, "SELECT count(*) FROM s3vectors.sync_mappings WHERE mapping_id = %s", (mapping,)) == 1
    assert scalar(admin, "SELECT s3vectors.disable_sync(%s)", (products,)) == 1
    assert scalar(db, "SELECT count(*) FROM s3vectors.sync_mappings WHERE mapping_id = %s", (mapping,)) == 0
    assert scalar(db, "SELECT count(*) FROM s3vectors._sync_outbox WHERE mapping_id = %s", (mapping,)) == 0
    assert scalar(db, "SELECT count(*) FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
                  (products,)) == 0
    db.execute(f"INSERT INTO {products} VALUES (2, '{{1,0,0}}')")  # no trigger left to fail


@pytest.mark.parametrize(("ddl", "arguments", "sqlstate", "message"), [
    ("id integer PRIMARY KEY, embedding real[]", "'nope', 'embedding'", "42703", "has no column nope"),
    ("id integer PRIMARY KEY, embedding text", "'id', 'embedding'", "42804",
     "not real[], double precision[] or vector"),
    ("a integer, b integer, embedding real[], PRIMARY KEY (a, b)", "'a', 'embedding'", "42P16", "composite key"),
    ("id integer NOT NULL, embedding real[]", "'id', 'embedding'", "42P16", "no primary key or unique index"),
    ("id integer UNIQUE, embedding real[]", "'id', 'embedding'", "42P16", "may be NULL"),
])
def test_bad_mappings_are_refused_at_enable_time(db: Connection, admin: Connection, index: tuple[str, str],
                                                 ddl: str, arguments: str, sqlstate: str, message: str) -> None:
    table = unique("bad").replace("-", "_")
    db.execute(f"CREATE TABLE {table} ({ddl})")
    db.execute(f"ALTER TABLE {table} OWNER TO ada")
    try:
        error = sql_error(admin, f"SELECT s3vectors.enable_sync(%s::regclass, {arguments}, %s, %s)", (table, *index))
        assert error.sqlstate == sqlstate, error
        assert message in str(error)
        assert scalar(db, "SELECT count(*) FROM s3vectors.sync_mappings WHERE source = %s::regclass", (table,)) == 0
    finally:
        db.execute(f"DROP TABLE {table}")


def test_an_embedding_unlike_the_index_is_refused_at_enable_time(db: Connection, admin: Connection,
                                                                 products: str, index: tuple[str, str]) -> None:
    db.execute(f"INSERT INTO {products} VALUES (1, '{{1,0}}')")
    error = sql_error(admin, "SELECT s3vectors.enable_sync(%s::regclass, 'id', 'embedding', %s, %s)",
                      (products, *index))
    assert error.sqlstate == "42804" and "does not have the dimension" in str(error)
    assert scalar(db, "SELECT count(*) FROM s3vectors.sync_mappings WHERE source = %s::regclass", (products,)) == 0


def test_only_the_owner_enables_and_the_reader_never_sees_the_outbox(
    db: Connection, admin: Connection, writer: Connection, reader: Connection, index: tuple[str, str],
) -> None:
    table = unique("theirs").replace("-", "_")
    db.execute(f"CREATE TABLE {table} (id integer PRIMARY KEY, embedding real[])")  # owned by postgres
    try:
        error = sql_error(admin, "SELECT s3vectors.enable_sync(%s::regclass, 'id', 'embedding', %s, %s)",
                          (table, *index))
        assert error.sqlstate == "42501"
        for statement in ("SELECT * FROM s3vectors._sync_outbox", "DELETE FROM s3vectors._sync_outbox",
                          "SELECT s3vectors.sync_run()", "SELECT * FROM s3vectors._sync_claim(1, 10)"):
            assert sql_error(reader, statement).sqlstate == "42501", statement
        assert sql_error(writer, "SELECT * FROM s3vectors._sync_outbox").sqlstate == "42501"
        assert sql_error(writer, "SELECT s3vectors.enable_sync(%s::regclass, 'id', 'embedding', %s, %s)",
                         (table, *index)).sqlstate == "42501"
        reader.execute("SELECT * FROM s3vectors.sync_status()")
        reader.execute("SELECT * FROM s3vectors.sync_mappings")
    finally:
        db.execute(f"DROP TABLE {table}")


def test_a_key_changed_by_another_drain_is_not_claimed_twice(db: Connection, admin: Connection, products: str,
                                                             index: tuple[str, str], sql_stack: SqlStack) -> None:
    mapping = enable(admin, products, index)
    db.execute(f"INSERT INTO {products} VALUES (1, '{{1,0,0}}'), (2, '{{0,1,0}}')")
    walter = sql_stack.dsn(user="walter")
    with psycopg.connect(walter) as first, psycopg.connect(walter) as second:
        claimed = first.execute("SELECT key FROM s3vectors._sync_claim(%s, 1)", (mapping,)).fetchall()
        assert claimed == [("1",)]
        # A new change of key 1 while the first drain holds its older one: not claimable, or its
        # newer state could be put before the older one lands.
        db.execute(f"UPDATE {products} SET embedding = '{{1,1,0}}' WHERE id = 1")
        assert second.execute("SELECT key FROM s3vectors._sync_claim(%s, 10)", (mapping,)).fetchall() == [("2",)]
        first.rollback()
        second.rollback()
        again = second.execute("SELECT key, cardinality(change_ids) FROM s3vectors._sync_claim(%s, 10) ORDER BY key",
                               (mapping,)).fetchall()
        assert again == [("1", 2), ("2", 1)]


def test_uninstalling_pgs3v_leaves_synced_tables_without_triggers(sql_stack: SqlStack) -> None:
    dsn = sql_stack.create_database("pgs3v_sync_uninstall")
    install_schema(dsn, function_endpoint=sql_stack.host.endpoint, access_key_id=ACCESS_KEY_ID,
                   secret_access_key=SECRET_ACCESS_KEY, timeout_seconds=30)
    bucket = unique("sql-uninstall")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT s3vectors.create_vector_bucket(%s)", (bucket,))
        conn.execute("SELECT s3vectors.create_index(%s, 'items', 3, 'cosine')", (bucket,))
        conn.execute("CREATE TABLE items (id integer PRIMARY KEY, embedding real[])")
        conn.execute("SELECT s3vectors.enable_sync('items', 'id', 'embedding', %s, 'items')", (bucket,))
        conn.execute("INSERT INTO items VALUES (1, '{1,0,0}')")
    uninstall_schema(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert scalar(conn, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'items'::regclass") == 0
        conn.execute("INSERT INTO items VALUES (2, '{0,1,0}')")
        assert scalar(conn, "SELECT count(*) FROM items") == 2


def test_a_dropped_table_ends_its_sync_and_its_name_can_be_synced_again(
    db: Connection, admin: Connection, writer: Connection, products: str, index: tuple[str, str],
) -> None:
    first = enable(admin, products, index)
    db.execute(f"INSERT INTO {products} VALUES (1, '{{1,0,0}}')")
    db.execute(f"DROP TABLE {products}")
    assert scalar(db, "SELECT count(*) FROM s3vectors.sync_mappings WHERE mapping_id = %s", (first,)) == 0
    assert scalar(writer, "SELECT s3vectors.sync_run()") == 0  # nothing to read from a dropped table
    db.execute(f"CREATE TABLE {products} (id integer PRIMARY KEY, embedding real[])")
    db.execute(f"ALTER TABLE {products} OWNER TO ada")
    db.execute(f"GRANT SELECT ON {products} TO walter")
    second = enable(admin, products, index)
    assert second != first
    assert scalar(db, "SELECT count(*) FROM s3vectors._sync_mapping WHERE mapping_id = %s", (first,)) == 0
    db.execute(f"INSERT INTO {products} VALUES (2, '{{0,1,0}}')")
    assert scalar(writer, "SELECT s3vectors.sync_run()") == 1
    assert list(index_contents(db, index)) == ["2"]
