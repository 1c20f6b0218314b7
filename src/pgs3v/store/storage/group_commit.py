"""Group commit for a write-ahead log, whatever holds its records (local files or objects).

``append`` returns only once the record is durable. Concurrent appenders share one durable
write: whoever finds no write in progress becomes the leader, takes every queued record, has
them written (:meth:`GroupCommitLog._write_batch`), then wakes the followers. A lone appender is
its own leader and never waits on a timer.

A write that fails with :class:`WriteRefused` (a full disk; an object store that answered with
an error before storing anything) refuses the group and everything queued behind it, and their
LSNs are free again: the next append reuses them. Any other failure is fail-stop: every append in
that group and all later ones raise ``WalFailedError`` until the log is reopened, because the
records' fate is unknown. Records of a failed group were not acknowledged; after a reopen they
may or may not be replayed (the caller must treat their outcome as unknown).
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterator
from types import TracebackType

from pgs3v.store.storage.errors import WalClosedError, WalFailedError, WalFencedError, WriteRefused
from pgs3v.store.storage.log_records import MAX_RECORD, frame


class Ticket:
    """One append's place in a group commit: its LSN, and whether (or why not) it became durable."""

    __slots__ = ("done", "error", "lsn")

    def __init__(self, lsn: int) -> None:
        self.lsn = lsn
        self.done = False
        self.error: BaseException | None = None


Batch = list[tuple[Ticket, memoryview, memoryview]]  # (ticket, header, payload)


class GroupCommitLog:
    """LSNs, the leader/follower group commit and the log's life; subclasses store the records."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.fsync_count = 0  # durable writes issued; fewer than appends means group commit happened
        self._cond = threading.Condition(threading.Lock())
        self._pending: Batch = []
        self._flushing = False
        self._closed = False
        self._failed: BaseException | None = None
        self._durable_lsn = 0
        self._next_lsn = 1

    def _recovered(self, durable_lsn: int) -> None:
        """Called by the subclass once it knows the last durable record."""
        self._durable_lsn = durable_lsn
        self._next_lsn = durable_lsn + 1

    @property
    def last_lsn(self) -> int:
        """The LSN of the newest durable record (0 when the log is empty)."""
        with self._cond:
            return self._durable_lsn

    def append(self, record: bytes) -> int:
        """Append one record; return its LSN once it is durable."""
        payload = memoryview(record).cast("B")
        if len(payload) > MAX_RECORD:
            raise ValueError(f"record of {len(payload)} bytes exceeds {MAX_RECORD}")
        payload_crc = zlib.crc32(payload)  # the costly part, computed outside the lock
        with self._cond:
            self._check_open()
            ticket = Ticket(self._next_lsn)
            self._next_lsn += 1
            self._pending.append((ticket, memoryview(frame(ticket.lsn, payload_crc, len(payload))), payload))
            while True:
                if ticket.done:
                    return ticket.lsn
                if ticket.error is not None:
                    raise ticket.error
                if self._failed is not None:
                    raise self._failure("failed")
                if not self._flushing:
                    break
                self._cond.wait()
            self._flushing = True
            batch, self._pending = self._pending, []
        # Leader: we hold the only right to write until _flushing is cleared.
        try:
            self._write_batch(batch)
        except WriteRefused as refused:
            with self._cond:
                # The group and everything queued behind it is refused; their LSNs are free again.
                for entry, _, _ in (*batch, *self._pending):
                    entry.error = refused
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
            if isinstance(exc, WalFailedError):
                raise
            raise WalFailedError(f"write-ahead log {self.name} failed: {exc}") from exc
        with self._cond:
            for entry, _, _ in batch:
                entry.done = True
            self._durable_lsn = batch[-1][0].lsn
            self._flushing = False
            self.fsync_count += 1
            self._cond.notify_all()
        return ticket.lsn

    def _check_open(self) -> None:
        if self._closed:
            raise WalClosedError(f"write-ahead log {self.name} is closed")
        if self._failed is not None:
            raise self._failure("failed earlier")

    def _failure(self, how: str) -> WalFailedError:
        # A fenced log stays fenced (a retry must see the same, retryable, kind of error).
        kind = WalFencedError if isinstance(self._failed, WalFencedError) else WalFailedError
        return kind(f"write-ahead log {self.name} {how}: {self._failed}")

    def _write_batch(self, batch: Batch) -> None:
        """Make the group durable; WriteRefused if nothing of it was stored."""
        raise NotImplementedError

    def replay(self, after_lsn: int = 0) -> Iterator[tuple[int, bytes]]:
        """Yield every durable (lsn, record) with lsn > after_lsn, oldest first."""
        raise NotImplementedError

    def catch_up(self) -> list[tuple[int, bytes]]:
        """Records other writers appended since this log last looked, oldest first (none: one writer)."""
        return []

    def truncate_before(self, lsn: int) -> None:
        """Drop whole files or objects whose records all have LSNs below ``lsn`` (never the newest)."""
        raise NotImplementedError

    def _release(self) -> None:
        """Free what the open log holds (files, locks)."""

    def close(self) -> None:
        """Let in-flight appends finish, then release the log; later appends raise."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            while self._failed is None and (self._flushing or self._pending):
                self._cond.wait()
        self._release()

    def __enter__(self) -> GroupCommitLog:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
