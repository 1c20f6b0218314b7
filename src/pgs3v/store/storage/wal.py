"""A per-index write-ahead log of opaque byte records, durable before it acknowledges.

Layout: a directory of log files ``wal-<first lsn, 20 digits>.log`` plus a ``LOCK`` file.
Each record is framed as::

    magic/version u8 | payload length u32 | lsn u64 | crc32 u32 | payload

little-endian, where the CRC (zlib.crc32) covers the payload and then the first 13 header bytes,
so a flipped length or LSN is caught as well as a flipped payload byte.

Durability: ``append`` returns only after the record is written and fdatasync'ed. Concurrent
appenders share one sync (group commit, leader/follower): whoever finds no sync in progress
becomes the leader, takes every queued record, writes and syncs them, then wakes the followers.
A lone appender is its own leader and never waits on a timer.

A full disk (ENOSPC, EDQUOT) is survived: the group's records, and those queued behind it, are
refused with ``WalFullError`` (a retryable 503), the active log file is truncated back to where
the group began and synced, and the next append reuses the group's LSNs once space is free again.
This is safe where a blind retry is not: everything before that offset was synced by an earlier,
successful fsync, and the truncation removes exactly the pages a failed fsync may have dropped.
Any other failure (EIO, or a truncation that fails) is fail-stop: every append in that group and
all later ones raise ``WalFailedError`` until the log is reopened, because Linux may drop the dirty
pages and clear the error after a failed fsync, so a second fsync could "succeed" without the data
on disk. Records of a failed group were not acknowledged; after a reopen they may or may not be
replayed (the caller must treat their outcome as unknown).
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import re
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from pgs3v.durable_files import PRIVATE_FILE, fsync_directory, private_directory
from pgs3v.store.storage.errors import DISK_FULL_ERRNOS, StorageError, StorageFull

__all__ = ["WalClosedError", "WalCorruptionError", "WalError", "WalFailedError", "WalFullError", "WriteAheadLog"]

_logger = logging.getLogger(__name__)

_MAGIC = 0xA1  # high nibble: "WAL", low nibble: framing version 1
_HEADER = struct.Struct("<BIQI")
_PREFIX = struct.Struct("<BIQ")  # the part of the header the CRC covers
_MAX_RECORD = 2**32 - 1
_LOG_FILE_NAME = re.compile(r"wal-(\d{20})\.log")
_IOV_MAX = 1024
# Patched by tests to count or fail syncs; fdatasync skips the needless inode-timestamp write.
_fdatasync = getattr(os, "fdatasync", os.fsync)


class WalError(StorageError):
    """The write-ahead log cannot serve the request (clients see a 500)."""


class WalCorruptionError(WalError):
    """A log file is damaged somewhere a crash cannot explain; never skipped silently."""


class WalFailedError(WalError):
    """A write or sync failed; the log refuses appends until it is reopened."""


class WalClosedError(WalError):
    """The log was closed."""


class WalFullError(StorageFull):
    """The disk is full: the append was not made, the log stays open (clients see a retryable 503)."""


class _Ticket:
    """One append's place in a group commit: its LSN, and whether (or why not) it became durable."""

    __slots__ = ("done", "error", "lsn")

    def __init__(self, lsn: int) -> None:
        self.lsn = lsn
        self.done = False
        self.error: BaseException | None = None


class _BadRecord(Exception):
    """A record at ``offset`` fails framing; a torn tail if it is in the last log file."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(f"{reason} at byte {offset}")
        self.offset = offset


def _log_file_path(directory: Path, first_lsn: int) -> Path:
    return directory / f"wal-{first_lsn:020d}.log"


def _frame(lsn: int, payload_crc: int, length: int) -> bytes:
    prefix = _PREFIX.pack(_MAGIC, length, lsn)
    return prefix + (zlib.crc32(prefix, payload_crc) & 0xFFFFFFFF).to_bytes(4, "little")


def _records(f: BinaryIO, size: int, first_lsn: int, *, skip_to: int = 0) -> Iterator[tuple[int, bytes]]:
    """Yield (lsn, payload) from a log file; raise _BadRecord at the first bad frame.

    Payloads of records with lsn <= skip_to are not returned (b"") but still CRC-checked,
    because an unchecked length could send us past a torn frame.
    """
    offset, expected = 0, first_lsn
    while offset < size:
        header = f.read(_HEADER.size)
        if len(header) < _HEADER.size:
            raise _BadRecord(offset, "truncated header")
        magic, length, lsn, crc = _HEADER.unpack(header)
        if magic != _MAGIC:
            raise _BadRecord(offset, f"bad magic {magic:#x}")
        if length > size - offset - _HEADER.size:
            raise _BadRecord(offset, "truncated payload")
        payload = f.read(length)
        if zlib.crc32(header[: _PREFIX.size], zlib.crc32(payload)) & 0xFFFFFFFF != crc:
            raise _BadRecord(offset, "checksum mismatch")
        if lsn != expected:
            raise _BadRecord(offset, f"lsn {lsn} where {expected} was expected")
        yield lsn, (payload if lsn > skip_to else b"")
        offset += _HEADER.size + length
        expected += 1


def _write_all(fd: int, buffers: list[memoryview]) -> None:
    # writev may write less than asked (signals, large buffers), so resume where it stopped.
    pending = [b for b in buffers if len(b)]
    i = 0
    while i < len(pending):
        written = os.writev(fd, pending[i : i + _IOV_MAX])
        while written > 0:
            if written >= len(pending[i]):
                written -= len(pending[i])
                i += 1
            else:
                pending[i] = pending[i][written:]
                written = 0


class WriteAheadLog:
    """An append-only, crash-safe log of byte records with group commit (see module docstring)."""

    def __init__(self, directory: Path, *, file_bytes: int = 64 * 1024 * 1024) -> None:
        """Open (creating if needed) the log in ``directory`` and recover from any crash."""
        if file_bytes <= 0:
            raise ValueError("file_bytes must be positive")
        self.directory = Path(directory)
        self.file_bytes = file_bytes
        self.fsync_count = 0  # data syncs issued; fewer than appends means group commit happened
        self._cond = threading.Condition(threading.Lock())
        self._pending: list[tuple[_Ticket, memoryview, memoryview]] = []  # (ticket, header, payload)
        self._flushing = False
        self._closed = False
        self._failed: BaseException | None = None
        self._fd = -1
        self._lock_fd = self._acquire_dir_lock()
        try:
            self._files, self._durable_lsn, self._active_size = self._recover()
            self._next_lsn = self._durable_lsn + 1
            self._fd = os.open(self._files[-1][1], os.O_WRONLY | os.O_APPEND)
        except BaseException:
            os.close(self._lock_fd)
            raise

    def _acquire_dir_lock(self) -> int:
        created = not self.directory.exists()
        private_directory(self.directory)
        if created:
            fsync_directory(self.directory.parent)
        # Two writers on one log would interleave frames; a kernel lock dies with its process.
        fd = os.open(self.directory / "LOCK", os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise WalError(f"write-ahead log {self.directory} is open elsewhere") from exc
            raise
        return fd

    def _recover(self) -> tuple[list[tuple[int, Path]], int, int]:
        found = sorted(
            (int(m.group(1)), p) for p in self.directory.iterdir() if (m := _LOG_FILE_NAME.fullmatch(p.name))
        )
        if not found:
            path = _log_file_path(self.directory, 1)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
            fsync_directory(self.directory)
            return [(1, path)], 0, 0
        last_lsn = found[0][0] - 1
        size = 0
        for i, (first_lsn, path) in enumerate(found):
            if first_lsn != last_lsn + 1:
                raise WalCorruptionError(f"{path} starts at lsn {first_lsn}; expected {last_lsn + 1}")
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                try:
                    for lsn, _ in _records(f, size, first_lsn, skip_to=2**64):
                        last_lsn = lsn
                except _BadRecord as bad:
                    if i < len(found) - 1:
                        raise WalCorruptionError(f"{path}: {bad}; the log file is not the last") from None
                    # Synced bytes form a prefix of the file, so a bad frame in the last log file
                    # and everything after it was never acknowledged: a crash mid-write.
                    _logger.warning("%s: %s; truncating %d torn bytes", path, bad, size - bad.offset)
                    self._truncate(path, bad.offset)
                    size = bad.offset
        return found, last_lsn, size

    @staticmethod
    def _truncate(path: Path, size: int) -> None:
        fd = os.open(path, os.O_WRONLY)
        try:
            os.ftruncate(fd, size)
            os.fsync(fd)  # else the garbage could come back after a second crash
        finally:
            os.close(fd)

    @property
    def last_lsn(self) -> int:
        """The LSN of the newest durable record (0 when the log is empty)."""
        with self._cond:
            return self._durable_lsn

    def append(self, record: bytes) -> int:
        """Append one record; return its LSN once it is on stable storage."""
        payload = memoryview(record).cast("B")
        if len(payload) > _MAX_RECORD:
            raise ValueError(f"record of {len(payload)} bytes exceeds {_MAX_RECORD}")
        payload_crc = zlib.crc32(payload)  # the costly part, computed outside the lock
        with self._cond:
            self._check_open()
            ticket = _Ticket(self._next_lsn)
            self._next_lsn += 1
            self._pending.append((ticket, memoryview(_frame(ticket.lsn, payload_crc, len(payload))), payload))
            while True:
                if ticket.done:
                    return ticket.lsn
                if ticket.error is not None:
                    raise ticket.error
                if self._failed is not None:
                    raise WalFailedError(f"write-ahead log {self.directory} failed: {self._failed}")
                if not self._flushing:
                    break
                self._cond.wait()
            self._flushing = True
            batch, self._pending = self._pending, []
        # Leader: we hold the only right to touch the file until _flushing is cleared.
        try:
            self._write_batch(batch)
        except WalFullError as full:
            with self._cond:
                # The group and everything queued behind it is refused; their LSNs are free again.
                for entry, _, _ in (*batch, *self._pending):
                    entry.error = full
                self._pending.clear()
                self._next_lsn = batch[0][0].lsn
                self._flushing = False
                self._cond.notify_all()
            raise
        except BaseException as exc:
            with self._cond:
                self._failed = exc
                self._pending.clear()
                self._flushing = False
                self._cond.notify_all()
            raise WalFailedError(f"write-ahead log {self.directory} failed: {exc}") from exc
        with self._cond:
            for entry, _, _ in batch:
                entry.done = True
            self._durable_lsn = batch[-1][0].lsn
            self._flushing = False
            self._cond.notify_all()
        return ticket.lsn

    def _check_open(self) -> None:
        if self._closed:
            raise WalClosedError(f"write-ahead log {self.directory} is closed")
        if self._failed is not None:
            raise WalFailedError(f"write-ahead log {self.directory} failed earlier: {self._failed}")

    def _write_batch(self, batch: list[tuple[_Ticket, memoryview, memoryview]]) -> None:
        """Write and sync the group; WalFullError if the disk was full and the file is as before."""
        if self._active_size >= self.file_bytes:
            self._rotate(batch[0][0].lsn)
        buffers: list[memoryview] = []
        for _, header, payload in batch:
            buffers += (header, payload)
        start = self._active_size
        try:
            _write_all(self._fd, buffers)
            _fdatasync(self._fd)
        except OSError as exc:
            # The one failure the log survives (see the module docstring); any other is fail-stop.
            if exc.errno not in DISK_FULL_ERRNOS:
                raise
            # Cut off whatever part of the group reached the file (and the pages a failed sync
            # may have dropped), then make the cut durable; if that fails too, fail stop.
            os.ftruncate(self._fd, start)
            _fdatasync(self._fd)
            _logger.warning("write-ahead log %s: disk full, %d records refused", self.directory, len(batch))
            raise WalFullError("the disk is full") from None
        self._active_size = start + sum(len(b) for b in buffers)
        self.fsync_count += 1

    def _rotate(self, first_lsn: int) -> None:
        # Every record in the old log file is already synced, so only the new name needs care.
        path = _log_file_path(self.directory, first_lsn)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, PRIVATE_FILE)
        except OSError as exc:
            if exc.errno in DISK_FULL_ERRNOS:
                raise WalFullError("the disk is full") from None  # nothing was created: the log is as it was
            raise
        try:
            fsync_directory(self.directory)
        except BaseException as exc:
            os.close(fd)
            if isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS:
                path.unlink()  # an empty file whose name may not be durable: as if never made
                raise WalFullError("the disk is full") from None
            raise
        os.close(self._fd)
        self._fd, self._active_size = fd, 0
        with self._cond:
            self._files.append((first_lsn, path))

    def replay(self, after_lsn: int = 0) -> Iterator[tuple[int, bytes]]:
        """Yield every durable (lsn, record) with lsn > after_lsn, oldest first."""
        with self._cond:
            files, limit = list(self._files), self._durable_lsn
        for i, (first_lsn, path) in enumerate(files):
            next_first = files[i + 1][0] if i + 1 < len(files) else limit + 1
            if next_first <= after_lsn + 1 or first_lsn > limit:
                continue  # wholly before after_lsn, or not yet durable
            # A concurrent truncate_before may delete a log file we have not opened yet (then this
            # raises FileNotFoundError); checkpointers truncate only what was already replayed.
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                try:
                    for lsn, payload in _records(f, size, first_lsn, skip_to=after_lsn):
                        if lsn > after_lsn:
                            yield lsn, payload
                        if lsn >= limit:
                            return  # the next frame may be half-written by a leader right now
                except _BadRecord as bad:
                    raise WalCorruptionError(f"{path}: {bad}") from None

    def truncate_before(self, lsn: int) -> None:
        """Delete whole log files whose records all have LSNs below ``lsn`` (never the active one)."""
        with self._cond:
            self._check_open()
            doomed = 0
            while doomed + 1 < len(self._files) and self._files[doomed + 1][0] <= lsn:
                doomed += 1
            removed, self._files = self._files[:doomed], self._files[doomed:]
        if removed:
            # Oldest first, so a crash midway leaves a contiguous log.
            for _, path in removed:
                path.unlink()
            fsync_directory(self.directory)

    def close(self) -> None:
        """Let in-flight appends finish, then release the files; later appends raise."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            while self._failed is None and (self._flushing or self._pending):
                self._cond.wait()
        os.close(self._fd)
        os.close(self._lock_fd)

    def __enter__(self) -> WriteAheadLog:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
