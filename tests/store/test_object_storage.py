"""The storage protocol's contract, run against a local directory and a SeaweedFS bucket.

Both implementations must behave alike: puts in three modes (overwrite, create-only, if-match),
whole and ranged gets, head, list by prefix in key order, idempotent delete, key checks, and
conditional puts that exactly one of several concurrent writers wins.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from pgs3v.store.storage.local_objects import LocalObjects
from pgs3v.store.storage.objects import (
    IfMatch,
    InvalidKey,
    ObjectNotFound,
    ObjectStorage,
    PreconditionFailed,
    PutMode,
)
from pgs3v.store.storage.s3_objects import parse_s3_url
from tests.support import seaweedfs_objects


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStorage:
    if request.param == "local":
        return LocalObjects(tmp_path / "objects")
    return seaweedfs_objects(request.getfixturevalue("seaweedfs"))


def test_put_then_get_head_and_overwrite(storage: ObjectStorage) -> None:
    first = storage.put("a/b/c.bin", b"hello")
    assert storage.get("a/b/c.bin") == b"hello"
    assert storage.head("a/b/c.bin").size == 5 and storage.head("a/b/c.bin").etag == first
    second = storage.put("a/b/c.bin", b"hello, again")
    assert second != first and storage.get("a/b/c.bin") == b"hello, again"


def test_ranged_gets(storage: ObjectStorage) -> None:
    data = bytes(range(256)) * 4
    storage.put("r", data)
    assert storage.get("r", start=10, end=20) == data[10:20]
    assert storage.get("r", start=1000) == data[1000:]
    assert storage.get("r", start=5, end=5) == b""
    with pytest.raises(ValueError, match="byte range"):
        storage.get("r", start=20, end=10)


def test_create_only_refuses_an_existing_object(storage: ObjectStorage) -> None:
    storage.put("m/1", b"first", mode="create")
    with pytest.raises(PreconditionFailed):
        storage.put("m/1", b"second", mode="create")
    assert storage.get("m/1") == b"first"


def test_if_match_puts_only_over_the_version_read(storage: ObjectStorage) -> None:
    etag = storage.put("v", b"one")
    newer = storage.put("v", b"two", mode=IfMatch(etag))
    with pytest.raises(PreconditionFailed):
        storage.put("v", b"three", mode=IfMatch(etag))  # stale: "two" replaced the version read
    assert storage.get("v") == b"two"
    storage.put("v", b"four", mode=IfMatch(newer))
    assert storage.get("v") == b"four"
    with pytest.raises(PreconditionFailed):
        storage.put("absent", b"x", mode=IfMatch(newer))


def _race(storage: ObjectStorage, key: str, mode: PutMode, writers: int = 8) -> int:
    """How many of ``writers`` concurrent puts of ``key`` with ``mode`` succeeded."""
    wins: list[int] = []

    def write(number: int) -> None:
        try:
            storage.put(key, f"{number}".encode(), mode=mode)
            wins.append(number)
        except PreconditionFailed:
            pass

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(wins)


def test_exactly_one_of_many_concurrent_create_only_writers_wins(storage: ObjectStorage) -> None:
    # The store fences writers with create-only puts alone (manifest generations, log objects).
    for attempt in range(5):
        assert _race(storage, f"created-{attempt}", "create") == 1


def test_exactly_one_of_many_concurrent_if_match_writers_wins_on_a_local_directory(tmp_path: Path) -> None:
    # Not asserted on SeaweedFS: measured here (4.48), 10 of 40 races of 8 If-Match puts had more
    # than one winner, while create-only never did. The store therefore never relies on If-Match
    # for correctness (docs/architecture.md).
    storage = LocalObjects(tmp_path / "objects")
    for attempt in range(5):
        base = storage.put(f"fence-{attempt}", b"0")
        assert _race(storage, f"fence-{attempt}", IfMatch(base)) == 1


def test_list_by_prefix_in_key_order(storage: ObjectStorage) -> None:
    for key in ["idx/b/2", "idx/a/1", "idx/a/10", "idy/z", "idx/b/1"]:
        storage.put(key, key.encode())
    assert [info.key for info in storage.list("idx/")] == ["idx/a/1", "idx/a/10", "idx/b/1", "idx/b/2"]
    assert [info.key for info in storage.list("idx/a/1")] == ["idx/a/1", "idx/a/10"]
    assert [info.key for info in storage.list()] == ["idx/a/1", "idx/a/10", "idx/b/1", "idx/b/2", "idy/z"]
    assert {info.size for info in storage.list("idy")} == {5}


def test_missing_objects_and_idempotent_delete(storage: ObjectStorage) -> None:
    with pytest.raises(ObjectNotFound):
        storage.get("nothing/here")
    with pytest.raises(ObjectNotFound):
        storage.head("nothing/here")
    storage.put("gone", b"x")
    storage.delete("gone")
    storage.delete("gone")
    with pytest.raises(ObjectNotFound):
        storage.get("gone")


@pytest.mark.parametrize("key", ["", "/abs", "a//b", "a/../b", "./a", "a/", "a\x00b"])
def test_keys_must_be_plain_relative_paths(storage: ObjectStorage, key: str) -> None:
    with pytest.raises(InvalidKey):
        storage.put(key, b"x")


def test_s3_urls_name_a_bucket_and_a_prefix() -> None:
    assert parse_s3_url("s3://bucket") == ("bucket", "")
    assert parse_s3_url("s3://bucket/some/prefix/") == ("bucket", "some/prefix")
    for bad in ["bucket/prefix", "s3:///prefix", "s3://bucket/a/../b"]:
        with pytest.raises(ValueError):
            parse_s3_url(bad)


def test_files_go_in_and_out_whole(storage: ObjectStorage, tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    data = os.urandom(40 << 20) + b"end"  # several parts of a multipart upload
    source.write_bytes(data)
    storage.put_file("segments/s1/vectors.npy", source)
    assert storage.head("segments/s1/vectors.npy").size == len(data)
    copy = tmp_path / "copy.bin"
    storage.get_file("segments/s1/vectors.npy", copy)
    assert copy.read_bytes() == data
    assert storage.get("segments/s1/vectors.npy", start=len(data) - 3) == b"end"
    with pytest.raises(ObjectNotFound):
        storage.get_file("segments/s1/missing", tmp_path / "never")
    assert not (tmp_path / "never").exists()
