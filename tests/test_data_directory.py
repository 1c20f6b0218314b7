"""Every command's default data directory: --data-dir, else $PGS3V_DATA_DIR, else ./.pgs3v."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgs3v.data_directory import data_dir_help, default_data_dir, resolve_data_dir


def test_the_option_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGS3V_DATA_DIR", "/from/environment")
    assert resolve_data_dir(Path("/from/option")) == Path("/from/option")
    assert resolve_data_dir(None) == Path("/from/environment")


def test_without_either_it_is_dot_pgs3v_in_the_working_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PGS3V_DATA_DIR", raising=False)
    assert default_data_dir() == Path(".pgs3v")
    assert resolve_data_dir(None) == Path(".pgs3v")


def test_the_help_names_the_default() -> None:
    assert data_dir_help("Where it lives") == "Where it lives [default: $PGS3V_DATA_DIR or ./.pgs3v]."
