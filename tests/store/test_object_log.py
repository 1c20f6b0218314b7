"""The write-ahead log on object storage: group commit as objects, fencing, lost answers.

Run on a local directory (LocalObjects) and on SeaweedFS. Faults are injected by wrapping the
real storage: a put that stores its object and then reports an error (the answer was lost), a
put that fails before storing anything.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgs3v.store.storage.errors import WalCorruptionError, WalFencedError, WriteRefused
from pgs3v.store.storage.local_objects import LocalObjects
from pgs3v.store.storage.object_log import ObjectLog
from pgs3v.store.storage.objects import ObjectInfo, ObjectStorage, PutMode
from tests.support import seaweedfs_objects


@pytest.fixture(params=["local", "s3"])
def objects(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStorage:
    if request.param == "local":
        return LocalObjects(tmp_path / "wal")
    return seaweedfs_objects(request.getfixturevalue("seaweedfs"))


class _Faulty:
    """Real storage whose next put stores and then fails (``lost``) or fails without storing (``refused``)."""

    def __init__(self, inner: ObjectStorage) -> None:
        self.inner = inner
        self.next_fault: str | None = None

    def put(self, key: str, data: bytes, *, mode: PutMode = "overwrite") -> str:
        fault, self.next_fault = self.next_fault, None
        if fault == "refused":
            raise ConnectionError("connection reset before the request was sent")
        etag = self.inner.put(key, data, mode=mode)
        if fault == "lost":
            raise TimeoutError("the answer never came")
        return etag

    def get(self, key: str, *, start: int = 0, end: int | None = None) -> bytes:
        return self.inner.get(key, start=start, end=end)

    def put_file(self, key: str, source: Path) -> None:
        self.inner.put_file(key, source)

    def get_file(self, key: str, destination: Path) -> None:
        self.inner.get_file(key, destination)

    def head(self, key: str) -> ObjectInfo:
        return self.inner.head(key)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        return self.inner.list(prefix)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def describe(self) -> str:
        return self.inner.describe()


def test_appends_survive_a_reopen_and_replay_in_order(objects: ObjectStorage) -> None:
    log = ObjectLog(objects)
    assert [log.append(f"r{i}".encode()) for i in range(5)] == [1, 2, 3, 4, 5]
    reopened = ObjectLog(objects)
    assert reopened.last_lsn == 5
    assert list(reopened.replay(after_lsn=2)) == [(3, b"r2"), (4, b"r3"), (5, b"r4")]
    assert reopened.append(b"r5") == 6


def test_concurrent_appends_share_objects(objects: ObjectStorage) -> None:
    log = ObjectLog(objects)
    lsns: list[int] = []
    threads = [threading.Thread(target=lambda n=n: lsns.append(log.append(f"{n}".encode()))) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(lsns) == list(range(1, 41))
    stored = sorted(payload for _, payload in ObjectLog(objects).replay())
    assert stored == sorted(f"{n}".encode() for n in range(40))
    assert log.fsync_count <= 40 and len(list(objects.list())) == log.fsync_count


def test_truncate_keeps_the_newest_object_and_the_log_contiguous(objects: ObjectStorage) -> None:
    log = ObjectLog(objects)
    for i in range(6):
        log.append(f"r{i}".encode())
    log.truncate_before(4)
    assert [info.key for info in objects.list()] == ["00000000000000000004.log", "00000000000000000005.log",
                                                     "00000000000000000006.log"]
    assert [lsn for lsn, _ in ObjectLog(objects).replay(after_lsn=3)] == [4, 5, 6]
    log.truncate_before(100)
    assert [info.key for info in objects.list()] == ["00000000000000000006.log"]


def test_a_second_writer_is_fenced(objects: ObjectStorage) -> None:
    first, second = ObjectLog(objects), ObjectLog(objects)
    assert first.append(b"from the first") == 1
    with pytest.raises(WalFencedError):
        second.append(b"from the second")  # its view ends before lsn 1, which is taken
    assert [payload for _, payload in ObjectLog(objects).replay()] == [b"from the first"]


def test_a_lost_answer_to_a_stored_put_is_a_success(objects: ObjectStorage) -> None:
    faulty = _Faulty(objects)
    log = ObjectLog(faulty)
    faulty.next_fault = "lost"
    assert log.append(b"stored, answer lost") == 1
    assert log.append(b"next") == 2
    assert [payload for _, payload in ObjectLog(objects).replay()] == [b"stored, answer lost", b"next"]


def test_a_put_that_stored_nothing_is_refused_and_its_lsn_reused(objects: ObjectStorage) -> None:
    faulty = _Faulty(objects)
    log = ObjectLog(faulty)
    faulty.next_fault = "refused"
    with pytest.raises(WriteRefused):
        log.append(b"never stored")
    assert log.append(b"stored") == 1
    assert [payload for _, payload in ObjectLog(objects).replay()] == [b"stored"]


def test_a_damaged_object_is_an_error_never_skipped(objects: ObjectStorage) -> None:
    log = ObjectLog(objects)
    log.append(b"one")
    log.append(b"two")
    objects.put("00000000000000000001.log", b"\xa1garbage")
    with pytest.raises(WalCorruptionError):
        list(ObjectLog(objects).replay())
