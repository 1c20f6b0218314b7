"""Where the store's credentials come from, and how the generated pair is kept."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest

from pgs3v.auth.credentials import (
    ACCESS_KEY_ENV,
    CREDENTIALS_FILE,
    SECRET_KEY_ENV,
    Credentials,
    load_or_create_credentials,
)

ENV_PAIR = {ACCESS_KEY_ENV: "PGS3VFROMENVIRONMENT", SECRET_KEY_ENV: "secret-from-environment"}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_environment_pair_wins_over_the_saved_file(tmp_path: Path) -> None:
    load_or_create_credentials(tmp_path, environ={})
    credentials = load_or_create_credentials(tmp_path, environ=ENV_PAIR)
    assert credentials == Credentials("PGS3VFROMENVIRONMENT", "secret-from-environment")


def test_environment_pair_needs_no_file(tmp_path: Path) -> None:
    load_or_create_credentials(tmp_path / "data", environ=ENV_PAIR)
    assert not (tmp_path / "data").exists()


def test_os_environ_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV_PAIR.items():
        monkeypatch.setenv(name, value)
    assert load_or_create_credentials(tmp_path).access_key_id == "PGS3VFROMENVIRONMENT"


@pytest.mark.parametrize(("present", "missing"), [(ACCESS_KEY_ENV, SECRET_KEY_ENV), (SECRET_KEY_ENV, ACCESS_KEY_ENV)])
def test_only_one_environment_variable_is_an_error(tmp_path: Path, present: str, missing: str) -> None:
    with pytest.raises(ValueError, match=f"{present} is set but {missing} is not"):
        load_or_create_credentials(tmp_path, environ={present: "value"})
    assert not (tmp_path / CREDENTIALS_FILE).exists()


def test_empty_environment_variables_count_as_unset(tmp_path: Path) -> None:
    credentials = load_or_create_credentials(tmp_path, environ={ACCESS_KEY_ENV: "", SECRET_KEY_ENV: ""})
    assert credentials.access_key_id.startswith("PGS3V")


def test_generated_once_then_reused(tmp_path: Path) -> None:
    first = load_or_create_credentials(tmp_path, environ={})
    assert re.fullmatch(r"PGS3V[A-Z0-9]{15}", first.access_key_id)
    assert re.fullmatch(r"[A-Za-z0-9]{40}", first.secret_access_key)
    assert load_or_create_credentials(tmp_path, environ={}) == first
    saved = json.loads((tmp_path / CREDENTIALS_FILE).read_text())
    assert saved == {"access_key_id": first.access_key_id, "secret_access_key": first.secret_access_key}
    # Nothing but the file itself is left behind (no temporary files).
    assert [p.name for p in tmp_path.iterdir()] == [CREDENTIALS_FILE]


def test_each_data_directory_gets_its_own_pair(tmp_path: Path) -> None:
    a = load_or_create_credentials(tmp_path / "a", environ={})
    b = load_or_create_credentials(tmp_path / "b", environ={})
    assert a.access_key_id != b.access_key_id
    assert a.secret_access_key != b.secret_access_key


def test_saved_file_is_mode_0600(tmp_path: Path) -> None:
    load_or_create_credentials(tmp_path, environ={})
    assert _mode(tmp_path / CREDENTIALS_FILE) == 0o600


def test_saved_file_is_mode_0600_even_with_a_permissive_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        load_or_create_credentials(tmp_path / "nested" / "data", environ={})
    finally:
        os.umask(previous)
    assert _mode(tmp_path / "nested" / "data" / CREDENTIALS_FILE) == 0o600


def test_a_hand_written_file_is_used(tmp_path: Path) -> None:
    (tmp_path / CREDENTIALS_FILE).write_text(json.dumps({"access_key_id": "MINE", "secret_access_key": "s"}))
    assert load_or_create_credentials(tmp_path, environ={}) == Credentials("MINE", "s")


@pytest.mark.parametrize(
    "content", ["not json", "[]", '{"access_key_id": "A"}', '{"access_key_id": "A", "secret_access_key": 1}']
)
def test_a_broken_file_is_an_error_not_silently_replaced(tmp_path: Path, content: str) -> None:
    path = tmp_path / CREDENTIALS_FILE
    path.write_text(content)
    with pytest.raises(ValueError, match=re.escape(str(path))):
        load_or_create_credentials(tmp_path, environ={})
    assert path.read_text() == content


def test_repr_hides_the_secret() -> None:
    assert "hunter2" not in repr(Credentials("AKID", "hunter2"))


def test_a_pair_saved_concurrently_by_another_process_wins(tmp_path: Path) -> None:
    # Two first starts racing on one data directory must agree on one pair.
    from pgs3v.auth.credentials import _save_new, generate_credentials

    theirs = load_or_create_credentials(tmp_path, environ={})
    ours = _save_new(tmp_path / CREDENTIALS_FILE, generate_credentials())
    assert ours == theirs
    assert [p.name for p in tmp_path.iterdir()] == [CREDENTIALS_FILE]
