"""The write-ahead log: round trips, crash recovery, rotation, group commit and a real kill -9."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pgs3v.store.api.errors import from_lower_layer
from pgs3v.store.storage import wal as wal_module
from pgs3v.store.storage.wal import (
    WalClosedError,
    WalCorruptionError,
    WalError,
    WalFailedError,
    WalFullError,
    WriteAheadLog,
)

SRC = Path(__file__).resolve().parents[2] / "src"


def log_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("wal-*.log"))


def test_round_trip_and_reopen(tmp_path: Path) -> None:
    records = [b"", b"a", b"hello world", bytes(range(256)) * 40]
    with WriteAheadLog(tmp_path) as log:
        assert log.last_lsn == 0
        assert [log.append(r) for r in records] == [1, 2, 3, 4]
        assert log.last_lsn == 4
        assert list(log.replay()) == list(enumerate(records, start=1))
        assert list(log.replay(after_lsn=2)) == [(3, records[2]), (4, records[3])]
    with WriteAheadLog(tmp_path) as log:
        assert log.last_lsn == 4
        assert list(log.replay()) == list(enumerate(records, start=1))
        assert log.append(b"more") == 5
    assert log_files(tmp_path) == [tmp_path / "wal-00000000000000000001.log"]


def test_large_record(tmp_path: Path) -> None:
    big = os.urandom(1024) * 25 * 1024  # 25 MiB, the largest PutVectors batch we expect
    with WriteAheadLog(tmp_path) as log:
        assert log.append(big) == 1
    with WriteAheadLog(tmp_path) as log:
        assert list(log.replay()) == [(1, big)]


def test_closed_log_refuses_appends_and_second_opener(tmp_path: Path) -> None:
    log = WriteAheadLog(tmp_path)
    with pytest.raises(WalError, match="open elsewhere"):
        WriteAheadLog(tmp_path)
    log.close()
    log.close()  # idempotent
    with pytest.raises(WalClosedError):
        log.append(b"x")
    assert isinstance(WalClosedError("x"), WalError)


def _log_with_torn_sixth_record(directory: Path) -> tuple[list[bytes], Path, int, int]:
    """Five whole records, then the size before and after a sixth; the caller damages the sixth."""
    records = [f"record {i}".encode() * (i + 1) for i in range(5)]
    with WriteAheadLog(directory) as log:
        for r in records:
            log.append(r)
        path = log_files(directory)[-1]
        whole = path.stat().st_size
        log.append(b"x" * 1000)
    return records, path, whole, path.stat().st_size


@pytest.mark.parametrize(
    "cut", [1, 16, 17, 500, -1], ids=["header-1", "header-16", "header", "half", "all-but-1"]
)
def test_torn_tail_is_truncated(tmp_path: Path, cut: int) -> None:
    records, path, whole, full = _log_with_torn_sixth_record(tmp_path)
    os.truncate(path, whole + cut if cut > 0 else full + cut)
    with WriteAheadLog(tmp_path) as log:
        assert path.stat().st_size == whole
        assert list(log.replay()) == list(enumerate(records, start=1))
        assert log.append(b"after") == 6
    with WriteAheadLog(tmp_path) as log:
        assert [lsn for lsn, _ in log.replay()] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("garbage", [b"\0" * 4096, b"\xde\xad\xbe\xef" * 9, b"\xa1"])
def test_garbage_after_last_record_is_truncated(tmp_path: Path, garbage: bytes) -> None:
    _, path, _, full = _log_with_torn_sixth_record(tmp_path)
    with open(path, "ab") as f:
        f.write(garbage)
    with WriteAheadLog(tmp_path) as log:
        assert path.stat().st_size == full
        assert [lsn for lsn, _ in log.replay()] == [1, 2, 3, 4, 5, 6]


def test_flipped_byte_in_last_record_drops_only_that_record(tmp_path: Path) -> None:
    records, path, whole, _ = _log_with_torn_sixth_record(tmp_path)
    with open(path, "r+b") as f:
        f.seek(whole + 100)
        f.write(b"y")
    with WriteAheadLog(tmp_path) as log:
        assert list(log.replay()) == list(enumerate(records, start=1))


def _rotated_log(directory: Path, count: int = 60) -> list[bytes]:
    records = [f"{i:04d}".encode() * 10 for i in range(count)]
    with WriteAheadLog(directory, file_bytes=300) as log:
        for r in records:
            log.append(r)
    return records


def test_corruption_in_a_non_last_log_file_is_an_error(tmp_path: Path) -> None:
    _rotated_log(tmp_path)
    first = log_files(tmp_path)[0]
    with open(first, "r+b") as f:
        f.seek(first.stat().st_size // 2)
        f.write(b"\xff\xff")
    with pytest.raises(WalCorruptionError, match=first.name):
        WriteAheadLog(tmp_path)
    assert first.stat().st_size > 0  # nothing was truncated on the way to the error


def test_missing_middle_log_file_is_an_error(tmp_path: Path) -> None:
    _rotated_log(tmp_path)
    middle = log_files(tmp_path)[1]
    middle.unlink()
    with pytest.raises(WalCorruptionError, match="expected"):
        WriteAheadLog(tmp_path)


def test_rotation_and_truncate_before(tmp_path: Path) -> None:
    records = _rotated_log(tmp_path)
    files = log_files(tmp_path)
    assert len(files) > 3
    firsts = [int(p.name[4:24]) for p in files]
    assert firsts[0] == 1 and firsts == sorted(firsts)

    with WriteAheadLog(tmp_path, file_bytes=300) as log:
        assert list(log.replay()) == list(enumerate(records, start=1))
        cut = firsts[2] + 1  # inside the third log file: the first two go, the third stays
        log.truncate_before(cut)
        assert log_files(tmp_path) == files[2:]
        assert next(log.replay())[0] == firsts[2]
        assert list(log.replay(after_lsn=cut - 1)) == list(enumerate(records, start=1))[cut - 1 :]
        log.truncate_before(10**9)
        assert log_files(tmp_path) == files[-1:]  # the active log file is never deleted
        assert log.last_lsn == len(records)

    with WriteAheadLog(tmp_path, file_bytes=300) as log:
        assert log.last_lsn == len(records)
        assert [lsn for lsn, _ in log.replay()] == list(range(firsts[-1], len(records) + 1))
        assert log.append(b"next") == len(records) + 1


def test_truncate_to_an_empty_active_log_file_keeps_the_lsn(tmp_path: Path) -> None:
    with WriteAheadLog(tmp_path, file_bytes=10) as log:
        log.append(b"0123456789abc")  # fills log file 1, so the next append rotates
        log.append(b"x")
        log.truncate_before(2)
    assert [p.name for p in log_files(tmp_path)] == ["wal-00000000000000000002.log"]
    with WriteAheadLog(tmp_path) as log:
        assert log.last_lsn == 2
        assert log.append(b"y") == 3


def test_concurrent_appends_share_syncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    threads, per_thread = 8, 40
    log = WriteAheadLog(tmp_path, file_bytes=4096)
    real_sync = wal_module._fdatasync
    first_sync = threading.Event()

    def gated_sync(fd: int) -> None:
        # Hold the first sync until every other thread has queued a record behind it, so the
        # next leader must commit several records at once; no clock is involved in the result.
        if not first_sync.is_set():
            first_sync.set()
            deadline = time.monotonic() + 10
            while len(log._pending) < threads - 1 and time.monotonic() < deadline:
                time.sleep(0.001)
        real_sync(fd)

    monkeypatch.setattr(wal_module, "_fdatasync", gated_sync)
    results: dict[int, bytes] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(t: int) -> None:
        try:
            for i in range(per_thread):
                payload = f"{t}/{i}".encode()
                lsn = log.append(payload)
                with lock:
                    assert lsn not in results
                    results[lsn] = payload
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    log.close()

    assert errors == []
    total = threads * per_thread
    assert sorted(results) == list(range(1, total + 1))
    assert log.fsync_count < total
    with WriteAheadLog(tmp_path) as reopened:
        assert dict(reopened.replay()) == results


def test_a_failed_sync_is_fail_stop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = WriteAheadLog(tmp_path)
    assert log.append(b"durable") == 1

    def failing_device(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(wal_module, "_fdatasync", failing_device)
    with pytest.raises(WalFailedError, match="Input/output error"):
        log.append(b"lost")
    assert log.last_lsn == 1  # the failed record was never reported durable
    monkeypatch.undo()
    with pytest.raises(WalFailedError):
        log.append(b"refused even though the disk is fine again")
    log.close()
    with WriteAheadLog(tmp_path) as reopened:
        assert next(reopened.replay()) == (1, b"durable")
        assert reopened.append(b"again") == reopened.last_lsn


@pytest.mark.parametrize("where", ["write", "sync"])
def test_a_full_disk_refuses_the_group_and_the_log_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          where: str) -> None:
    log = WriteAheadLog(tmp_path)
    assert log.append(b"durable") == 1
    size = log_files(tmp_path)[-1].stat().st_size
    real_write_all, real_sync = wal_module._write_all, wal_module._fdatasync

    def half_written(fd: int, buffers: list[memoryview]) -> None:
        os.write(fd, bytes(buffers[0])[:7])  # part of the group reached the file
        raise OSError(errno.ENOSPC, "No space left on device")

    def full_at_sync(fd: int) -> None:
        monkeypatch.setattr(wal_module, "_fdatasync", real_sync)  # the truncation's sync works
        raise OSError(errno.ENOSPC, "No space left on device")

    if where == "write":
        monkeypatch.setattr(wal_module, "_write_all", half_written)
    else:
        monkeypatch.setattr(wal_module, "_fdatasync", full_at_sync)
    with pytest.raises(WalFullError) as refused:
        log.append(b"refused")
    answer = from_lower_layer(refused.value)
    assert answer is not None and answer.status == 503 and str(tmp_path) not in answer.message
    assert log_files(tmp_path)[-1].stat().st_size == size  # cut back to where the group began
    monkeypatch.setattr(wal_module, "_write_all", real_write_all)
    assert log.append(b"after") == 2  # the refused record's LSN is free again
    log.close()
    with WriteAheadLog(tmp_path) as reopened:
        assert list(reopened.replay()) == [(1, b"durable"), (2, b"after")]


CHILD = """
import sys, threading
from pathlib import Path
from pgs3v.store.storage.wal import WriteAheadLog

log = WriteAheadLog(Path(sys.argv[1]), file_bytes=8192)
out = threading.Lock()

def worker(t: int) -> None:
    i = 0
    while True:
        payload = f"{t}:{i}:".encode() + bytes([65 + t]) * (i % 700)
        lsn = log.append(payload)
        with out:  # printed only after append() returned: this line is the acknowledgement
            sys.stdout.write(f"{lsn} {payload.hex()}\\n")
            sys.stdout.flush()
        i += 1

for t in range(4):
    threading.Thread(target=worker, args=(t,), daemon=True).start()
threading.Event().wait()
"""


def well_formed(payload: bytes) -> tuple[int, int]:
    """Return (thread, index) of a child's payload, failing the test if it is malformed."""
    t, i, fill = payload.split(b":", 2)
    thread, index = int(t), int(i)
    assert fill == bytes([65 + thread]) * (index % 700)
    return thread, index


def test_kill_9_loses_no_acknowledged_record(tmp_path: Path) -> None:
    directory = tmp_path / "wal"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(directory)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    lines: list[str] = []
    try:
        assert child.stdout is not None
        while len(lines) < 400:  # let it run until a few hundred appends were acknowledged
            line = child.stdout.readline()
            assert line, f"child exited early: {child.stderr.read() if child.stderr else ''}"
            lines.append(line)
        child.send_signal(signal.SIGKILL)
        rest, _ = child.communicate()
        lines += rest.splitlines(keepends=True)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL

    acked: dict[int, bytes] = {}
    for line in lines:
        if line.endswith("\n"):  # a line cut by the kill was never a complete acknowledgement
            number, hexed = line.split()
            acked[int(number)] = bytes.fromhex(hexed)

    with WriteAheadLog(directory) as log:
        replayed = dict(log.replay())
        assert sorted(replayed) == list(range(1, log.last_lsn + 1))
        for lsn, payload in acked.items():
            assert replayed.get(lsn) == payload, f"acknowledged record {lsn} lost or changed"
        per_thread: dict[int, list[int]] = {}
        for payload in replayed.values():
            thread, index = well_formed(payload)
            per_thread.setdefault(thread, []).append(index)
        # A thread appends record i+1 only after i was acknowledged, so each thread's durable
        # records are a gap-free prefix.
        for indexes in per_thread.values():
            assert sorted(indexes) == list(range(len(indexes)))
        assert log.append(b"after the crash") == len(replayed) + 1
