"""The README, --help and docs say the same thing as the code."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from pgs3v.cli import main
from pgs3v.store.api.limits import limit_help

ROOT = Path(__file__).resolve().parent.parent


def test_every_limit_is_documented_with_its_default() -> None:
    text = (ROOT / "docs" / "limits.md").read_text()
    for name, default, _ in limit_help():
        assert f"| `{name}` | {default} |" in text, name


def test_readme_opens_with_the_two_commands() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    commands = [line.split("#")[0].strip() for line in lines[:6] if line.startswith("bash ")]
    assert commands == ["bash scripts/demo.sh", "bash scripts/test.sh"]
    for command in commands:
        assert (ROOT / command.split()[1]).exists()


def test_help_names_every_command_the_readme_uses() -> None:
    runner = CliRunner()
    top = runner.invoke(main, ["--help"]).output
    assert "store" in top and "demo" in top
    serve = runner.invoke(main, ["store", "serve", "--help"]).output
    for option in ("--data-dir", "--host", "--port", "--limit"):
        assert option in serve
    assert "PGS3V_ACCESS_KEY_ID" in serve
    keys = runner.invoke(main, ["store", "keys", "--help"]).output
    for command in ("create", "list", "delete"):
        assert command in keys and f"pgs3v store keys {command}" in (ROOT / "README.md").read_text(), command
    assert "--policy" in runner.invoke(main, ["store", "keys", "create", "--help"]).output


def test_the_readme_names_hybrid_query_sections_that_exist() -> None:
    readme = " ".join((ROOT / "README.md").read_text().split())
    headings = {line.lstrip("#").strip() for line in (ROOT / "docs" / "hybrid-queries.md").read_text().splitlines()
                if line.startswith("#")}
    named = re.findall(r'"(\([a-z]\) [^"]+)"', readme)
    assert len(named) == 2, named
    for name in named:
        assert name in headings, name

