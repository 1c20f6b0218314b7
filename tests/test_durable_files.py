"""Durable file operations: a shared file is one file on one filesystem, a copy across two."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from pgs3v.durable_files import share_file_atomically, write_file_atomically


def test_a_shared_file_is_a_hard_link_on_one_filesystem(tmp_path: Path) -> None:
    source = tmp_path / "source"
    write_file_atomically(source, b"segment bytes")
    share_file_atomically(source, tmp_path / "copy")
    assert (tmp_path / "copy").read_bytes() == b"segment bytes"
    assert os.stat(tmp_path / "copy").st_ino == os.stat(source).st_ino
    # Replacing the source by a rename (as every put does) leaves the shared name on the old bytes.
    write_file_atomically(source, b"a new version")
    assert (tmp_path / "copy").read_bytes() == b"segment bytes"


def test_create_only_refuses_an_existing_name(tmp_path: Path) -> None:
    write_file_atomically(tmp_path / "source", b"one")
    write_file_atomically(tmp_path / "taken", b"two")
    with pytest.raises(FileExistsError):
        share_file_atomically(tmp_path / "source", tmp_path / "taken", create_only=True)
    assert (tmp_path / "taken").read_bytes() == b"two"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["source", "taken"]  # no temporary left


def _shm_is_another_filesystem() -> bool:
    return Path("/dev/shm").is_dir() and os.stat("/dev/shm").st_dev != os.stat(tempfile.gettempdir()).st_dev


@pytest.mark.skipif(not _shm_is_another_filesystem(),
                    reason="needs /dev/shm on another filesystem than the temporary directory")
def test_across_filesystems_the_file_is_copied(tmp_path: Path) -> None:
    source = tmp_path / "source"
    write_file_atomically(source, b"x" * 100_000)
    with tempfile.TemporaryDirectory(dir="/dev/shm") as other:
        target = Path(other) / "copy"
        share_file_atomically(source, target)
        assert target.read_bytes() == b"x" * 100_000
        assert os.stat(target).st_dev != os.stat(source).st_dev
