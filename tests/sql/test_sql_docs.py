"""docs/sql.md documents every function the SQL files define."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
DOCS = (ROOT / "docs" / "sql.md").read_text()


def defined(script: str, schema: str) -> set[str]:
    text = (ROOT / "sql" / script).read_text()
    return {name for name in re.findall(rf"CREATE OR REPLACE FUNCTION {schema}\.(\w+)\(", text)
            if not name.startswith("_")}


def test_every_public_function_is_documented() -> None:
    functions = set().union(*(defined(script.name, "s3vectors") for script in (ROOT / "sql").glob("pgs3v--*.sql")))
    assert {"query_vectors", "put_vectors", "create_index", "list_vector_buckets"} <= functions
    for name in functions:
        assert f"s3vectors.{name}(" in DOCS, name
    for schema in ("aws_lambda", "aws_commons", "aws_lambda_shim"):
        for name in defined("aws_lambda_shim--1.0.sql", schema) - {"invoke_text", "invoke_checked", "shim_version"}:
            assert f"{schema}.{name}(" in DOCS, name


def test_every_role_is_documented() -> None:
    text = (ROOT / "sql" / "pgs3v--0.1.0.sql").read_text()
    for role in sorted(set(re.findall(r"pgs3v_\w+", text))):
        assert f"`{role}`" in DOCS, role
