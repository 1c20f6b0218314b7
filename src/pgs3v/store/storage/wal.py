"""A per-index write-ahead log of opaque byte records, durable before it acknowledges.

Layout: a directory of log files ``wal-<first lsn, 20 digits>.log`` plus a ``LOCK`` file.
Records are framed as ``log_records`` describes. ``append`` returns only after the record is
written and fdatasync'ed; concurrent appenders share one sync (``group_commit``).

A full disk (ENOSPC, EDQUOT) is survived: the group is refused with ``WalFullError`` (a
retryable 503), the active log file is truncated back to where the group began and synced, and
the next append reuses the group's LSNs once space is free again. This is safe where a blind
retry is not: everything before that offset was synced by an earlier, successful fsync, and the
truncation removes exactly the pages a failed fsync may have dropped. Any other failure (EIO, or
a truncation that fails) is fail-stop, because Linux may drop the dirty pages and clear the error
after a failed fsync, so a second fsync could "succeed" without the data on disk.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path

from pgs3v.durable_files import PRIVATE_FILE, fsync_directory, private_directory
from pgs3v.store.storage.errors import (
    DISK_FULL_ERRNOS,
    StorageFull,
    WalClosedError,
    WalCorruptionError,
    WalError,
    WalFailedError,
)
from pgs3v.store.storage.group_commit import Batch, GroupCommitLog
from pgs3v.store.storage.log_records import BadRecord, read_records

__all__ = ["WalClosedError", "WalCorruptionError", "WalError", "WalFailedError", "WalFullError", "WriteAheadLog"]

_logger = logging.getLogger(__name__)

_LOG_FILE_NAME = re.compile(r"wal-(\d{20})\.log")
_IOV_MAX = 1024
# Patched by tests to count or fail syncs; fdatasync skips the needless inode-timestamp write.
_fdatasync = getattr(os, "fdatasync", os.fsync)


class WalFullError(StorageFull):
    """The disk is full: the append was not made, the log stays open (clients see a retryable 503)."""


def _log_file_path(directory: Path, first_lsn: int) -> Path:
    return directory / f"wal-{first_lsn:020d}.log"


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


class WriteAheadLog(GroupCommitLog):
    """An append-only, crash-safe log of byte records in local files (see module docstring)."""

    def __init__(self, directory: Path, *, file_bytes: int = 64 * 1024 * 1024) -> None:
        """Open (creating if needed) the log in ``directory`` and recover from any crash."""
        if file_bytes <= 0:
            raise ValueError("file_bytes must be positive")
        super().__init__(str(directory))
        self.directory = Path(directory)
        self.file_bytes = file_bytes
        self._fd = -1
        self._lock_fd = self._acquire_dir_lock()
        try:
            self._files, durable_lsn, self._active_size = self._recover()
            self._recovered(durable_lsn)
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
                    for lsn, _ in read_records(f, size, first_lsn, skip_to=2**64):
                        last_lsn = lsn
                except BadRecord as bad:
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

    def _write_batch(self, batch: Batch) -> None:
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
                    for lsn, payload in read_records(f, size, first_lsn, skip_to=after_lsn):
                        if lsn > after_lsn:
                            yield lsn, payload
                        if lsn >= limit:
                            return  # the next frame may be half-written by a leader right now
                except BadRecord as bad:
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

    def _release(self) -> None:
        os.close(self._fd)
        os.close(self._lock_fd)
