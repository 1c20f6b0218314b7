"""Which SQL scripts run, in which order (no database needed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pgs3v.sql_schema.scripts import SCHEMA_SCRIPTS, SHIM_SCRIPTS, ScriptError, ScriptSet, parse_version, sql_directory


def scripts(tmp_path: Path, *names: str) -> ScriptSet:
    for name in names:
        (tmp_path / name).write_text("-- test\n")
    return ScriptSet("pgs3v", tmp_path)


def names(paths: list[Path]) -> list[str]:
    return [path.name for path in paths]


def test_the_shipped_scripts_are_found() -> None:
    directory = sql_directory()
    assert ScriptSet(SCHEMA_SCRIPTS, directory).latest() == "0.5.0"
    assert ScriptSet(SHIM_SCRIPTS, directory).latest() == "1.2"
    assert names(ScriptSet(SHIM_SCRIPTS, directory).plan(None)) == ["aws_lambda_shim--1.0.sql",
                                                                      "aws_lambda_shim--1.0--1.1.sql",
                                                                      "aws_lambda_shim--1.1--1.2.sql"]
    # No full script after 0.1.0: a fresh install is 0.1.0 and its upgrades, the very path of an upgrade.
    assert names(ScriptSet(SCHEMA_SCRIPTS, directory).plan(None)) == [
        "pgs3v--0.1.0.sql", "pgs3v--0.1.0--0.2.0.sql", "pgs3v--0.2.0--0.3.0.sql", "pgs3v--0.3.0--0.4.0.sql",
        "pgs3v--0.4.0--0.5.0.sql"]
    assert names(ScriptSet(SCHEMA_SCRIPTS, directory).plan("0.1.0")) == [
        "pgs3v--0.1.0--0.2.0.sql", "pgs3v--0.2.0--0.3.0.sql", "pgs3v--0.3.0--0.4.0.sql", "pgs3v--0.4.0--0.5.0.sql"]
    assert names(ScriptSet(SCHEMA_SCRIPTS, directory).plan("0.2.0")) == [
        "pgs3v--0.2.0--0.3.0.sql", "pgs3v--0.3.0--0.4.0.sql", "pgs3v--0.4.0--0.5.0.sql"]
    assert names(ScriptSet(SCHEMA_SCRIPTS, directory).plan("0.3.0")) == [
        "pgs3v--0.3.0--0.4.0.sql", "pgs3v--0.4.0--0.5.0.sql"]
    assert names(ScriptSet(SCHEMA_SCRIPTS, directory).plan("0.4.0")) == ["pgs3v--0.4.0--0.5.0.sql"]


def test_fresh_install_starts_from_the_newest_full_script(tmp_path: Path) -> None:
    found = scripts(tmp_path, "pgs3v--0.1.0.sql", "pgs3v--0.1.0--0.2.0.sql", "pgs3v--0.2.0--0.10.0.sql",
                    "pgs3v--0.2.0.sql", "aws_lambda_shim--1.0.sql")
    assert found.latest() == "0.10.0"
    assert names(found.plan(None)) == ["pgs3v--0.2.0.sql", "pgs3v--0.2.0--0.10.0.sql"]
    assert names(found.plan(None, "0.1.0")) == ["pgs3v--0.1.0.sql"]


def test_upgrades_run_in_order_taking_the_shortest_path(tmp_path: Path) -> None:
    found = scripts(tmp_path, "pgs3v--0.1.0.sql", "pgs3v--0.1.0--0.2.0.sql", "pgs3v--0.2.0--0.3.0.sql",
                    "pgs3v--0.1.0--0.3.0.sql", "pgs3v--0.3.0--0.4.0.sql")
    assert names(found.plan("0.1.0")) == ["pgs3v--0.1.0--0.3.0.sql", "pgs3v--0.3.0--0.4.0.sql"]
    assert names(found.plan("0.2.0")) == ["pgs3v--0.2.0--0.3.0.sql", "pgs3v--0.3.0--0.4.0.sql"]
    assert found.plan("0.4.0") == []


def test_impossible_plans_say_why(tmp_path: Path) -> None:
    found = scripts(tmp_path, "pgs3v--0.2.0.sql", "pgs3v--0.3.0--0.4.0.sql")
    with pytest.raises(ScriptError, match=re.escape("no upgrade path from pgs3v 0.2.0 to 0.4.0")):
        found.plan("0.2.0")
    with pytest.raises(ScriptError, match=re.escape("newer than 0.4.0")):
        found.plan("1.0.0")
    with pytest.raises(ScriptError, match=re.escape("no pgs3v install script for 0.1.0 or older")):
        found.plan(None, "0.1.0")
    with pytest.raises(ScriptError, match="does not exist"):
        ScriptSet("pgs3v", tmp_path / "missing").latest()


def test_versions_compare_numerically() -> None:
    assert parse_version("0.10.0") > parse_version("0.9.1")
    with pytest.raises(ScriptError):
        parse_version("1.0-beta")
