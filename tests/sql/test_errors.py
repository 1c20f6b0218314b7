"""Errors in SQL: the store's code and message, a fitting SQLSTATE, fieldList in DETAIL; bad vectors refused."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.sql.conftest import Connection, scalar, sql_error

ROOT = Path(__file__).resolve().parent.parent.parent


def test_not_found_carries_the_code_and_message(db: Connection, bucket: str) -> None:
    error = sql_error(db, "SELECT * FROM s3vectors.query_vectors(%s, 'no-such-index', '{1,0,0}'::real[])", (bucket,))
    assert error.sqlstate == "42704"
    assert str(error).startswith("NotFoundException: The specified index could not be found")
    assert error.diag.message_detail == "S3 Vectors error NotFoundException, HTTP status 404"


def test_conflict(db: Connection, bucket: str) -> None:
    error = sql_error(db, "SELECT s3vectors.create_vector_bucket(%s)", (bucket,))
    assert error.sqlstate == "42710" and str(error).startswith("ConflictException: ")
    db.execute("SELECT s3vectors.create_index(%s, 'kept', 2, 'cosine')", (bucket,))
    error = sql_error(db, "SELECT s3vectors.delete_vector_bucket(%s)", (bucket,))
    assert error.sqlstate == "42710" and str(error).startswith("ConflictException: ")


def test_validation_error_has_its_field_list_in_detail(db: Connection, index: tuple[str, str]) -> None:
    error = sql_error(db, "SELECT s3vectors.put_vector(%s, %s, 'short', '{1,2}')", index)
    assert error.sqlstate == "22023"
    assert str(error).startswith("ValidationException: ")
    assert "Invalid record for key 'short': vector must have length 3, but has length 2" in str(error)
    detail = error.diag.message_detail or ""
    assert detail.startswith("S3 Vectors error ValidationException, HTTP status 400; fieldList: ")
    field_list = json.loads(detail.split("fieldList: ", 1)[1])
    assert field_list[0]["path"] == "/vectors/0"


def test_wrong_query_dimension(db: Connection, index: tuple[str, str]) -> None:
    error = sql_error(db, "SELECT * FROM s3vectors.query_vectors(%s, %s, '{1,2,3,4}'::real[])", index)
    assert error.sqlstate == "22023" and "Query vector must have length 3, but has length 4" in str(error)


def test_invalid_index_settings(db: Connection, bucket: str) -> None:
    error = sql_error(db, "SELECT s3vectors.create_index(%s, 'too-wide', 5000, 'cosine')", (bucket,))
    assert error.sqlstate == "22023" and "4096" in str(error)
    error = sql_error(db, "SELECT s3vectors.create_index(%s, 'bad-metric', 3, 'manhattan')", (bucket,))
    assert error.sqlstate == "22023" and str(error).startswith("ValidationException: ")


@pytest.mark.parametrize(
    ("vector", "message"),
    [
        ("'{1,NaN,0}'", "has NaN at position 2: vectors must be finite numbers"),
        ("'{Infinity,0,0}'", "has Infinity at position 1"),
        ("'{0,0,-Infinity}'", "has -Infinity at position 3"),
        ("'{1,NULL,0}'", "has a NULL at position 2"),
        ("NULL", "must not be NULL"),
        ("'{}'", "must be a non-empty one-dimensional real[]"),
        ("'{{1,0,0}}'", "must be a non-empty one-dimensional real[], got 2 dimensions"),
    ],
)
def test_bad_vectors_are_refused_everywhere(db: Connection, index: tuple[str, str], vector: str, message: str) -> None:
    error = sql_error(db, f"SELECT * FROM s3vectors.query_vectors(%s, %s, {vector}::real[])", index)
    assert error.sqlstate == "22023"
    assert (error.diag.message_primary or "").startswith(f"ValidationException: query_vector {message}")
    error = sql_error(db, f"SELECT s3vectors.put_vector(%s, %s, 'k1', {vector}::real[])", index)
    assert error.sqlstate == "22023"
    assert (error.diag.message_primary or "").startswith(f"ValidationException: the vector of key 'k1' {message}")


def test_bad_vectors_in_a_batch_name_their_key(db: Connection, index: tuple[str, str]) -> None:
    for row in ("{0,NaN,1}", "{0,NULL,1}", "{Infinity,1,1}"):
        error = sql_error(db, "SELECT s3vectors.put_vectors(%s, %s, ARRAY['good', 'bad'], "
                              f"'{{{{1,0,0}},{row}}}'::real[])", index)
        assert error.sqlstate == "22023" and str(error).startswith("ValidationException: the vector of key 'bad' has")
    # Nothing of a refused batch was written.
    assert scalar(db, "SELECT count(*) FROM s3vectors.list_vectors(%s, %s)", index) == 0


def test_every_code_has_a_documented_sqlstate(db: Connection) -> None:
    docs = (ROOT / "docs" / "sql.md").read_text()
    codes = re.findall(r"WHEN '(\w+)' THEN '(\w{5})'", (ROOT / "sql" / "pgs3v--0.1.0.sql").read_text())
    assert len(codes) >= 13
    for code, state in codes:
        assert scalar(db, "SELECT s3vectors.error_sqlstate(%s)", (code,)) == state
        assert re.search(rf"\| `{code}`[^|]*\| `{state}`", docs), code
    assert scalar(db, "SELECT s3vectors.error_sqlstate('SomethingNew')") == "58000"
