"""A write-ahead log whose records are objects: each group commit is one create-only put.

Layout: ``<first lsn, 20 digits>.log`` objects, each the framed records (``log_records``) of one
group, consecutive LSNs from its name on. An append is acknowledged once its group's object is
stored, so nothing acknowledged lives only on the server's disk.

The put is create-only (``If-None-Match: *``): if the name exists, another writer took those LSNs
first, and this log's view is stale (``WalFencedError``; the index reopens to see the other
writer's records). A put whose answer is lost or that failed is resolved by reading the name
back: our bytes (a retry after the first attempt landed) mean success; nothing means nothing was
stored, so the group is refused and its LSNs reused (``WriteRefused``, a retryable 503); other
bytes mean another writer.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

from pgs3v.store.storage.errors import (
    WalClosedError,
    WalCorruptionError,
    WalDeletedError,
    WalFailedError,
    WalFencedError,
    WalGapError,
    WriteRefused,
)
from pgs3v.store.storage.group_commit import Batch, GroupCommitLog
from pgs3v.store.storage.log_records import BadRecord, read_records
from pgs3v.store.storage.objects import ObjectNotFound, ObjectStorage, PreconditionFailed

_logger = logging.getLogger(__name__)
_NAME = re.compile(r"(\d{20})\.log")
# Put by DeleteIndex before anything else of the index goes: another server catching up learns
# from it that the index is gone.
TOMBSTONE = "deleted"


def _key(first_lsn: int) -> str:
    return f"{first_lsn:020d}.log"


class ObjectLog(GroupCommitLog):
    """An append-only log of byte records in an object store (see module docstring)."""

    def __init__(self, objects: ObjectStorage) -> None:
        """Open the log held by ``objects`` (its own prefix), finding its last durable record."""
        super().__init__(objects.describe())
        self._objects = objects
        self._firsts = sorted(int(m.group(1)) for info in objects.list() if (m := _NAME.fullmatch(info.key)))
        last = 0
        if self._firsts:
            for lsn, _ in self._read(self._firsts[-1], skip_to=2**64):
                last = lsn
        self._recovered(last)

    def _read(self, first_lsn: int, *, skip_to: int) -> Iterator[tuple[int, bytes]]:
        data = self._objects.get(_key(first_lsn))
        try:
            yield from read_records(io.BytesIO(data), len(data), first_lsn, skip_to=skip_to)
        except BadRecord as bad:
            # Objects are stored whole: a bad frame is damage, never a crash mid-write.
            raise WalCorruptionError(f"{self.name}: {_key(first_lsn)}: {bad}") from None

    def _write_batch(self, batch: Batch) -> None:
        first = batch[0][0].lsn
        data = b"".join(bytes(part) for _, header, payload in batch for part in (header, payload))
        try:
            self._objects.put(_key(first), data, mode="create")
        except PreconditionFailed:
            self._settle(first, data, None)
        except Exception as problem:  # the answer is lost: read back what, if anything, was stored
            self._settle(first, data, problem)
        with self._cond:
            self._firsts.append(first)

    def _settle(self, first: int, data: bytes, problem: Exception | None) -> None:
        """Whether a put that did not plainly succeed stored our bytes; raise unless it did."""
        try:
            stored = self._objects.get(_key(first))
        except ObjectNotFound:
            if problem is None:  # it existed a moment ago: deleted by another writer's purge
                raise WalFencedError(f"write-ahead log {self.name}: lsn {first} was taken and purged") from None
            raise WriteRefused(f"the write-ahead log could not be written: {problem}") from problem
        except Exception as unknown:
            raise WalFailedError(f"write-ahead log {self.name}: the fate of lsn {first} is unknown: "
                                 f"{problem or 'precondition failed'}; {unknown}") from unknown
        if stored != data:
            raise WalFencedError(f"write-ahead log {self.name}: another writer appended lsn {first}")
        _logger.info("write-ahead log %s: lsn %d was stored although the put reported %s", self.name, first,
                     problem or "a lost precondition")

    def catch_up(self) -> list[tuple[int, bytes]]:
        """The records other writers appended since this log last looked, oldest first.

        Waits for this log's own appends in flight, so that every LSN it hands out afterwards
        follows what it found, and lifts a fence (the view is current again). WalGapError when
        records were purged before this log saw them: the index must reopen from the manifest.
        """
        with self._cond:
            while self._flushing or self._pending:
                self._cond.wait()
            if self._closed:
                raise WalClosedError(f"write-ahead log {self.name} is closed")
            if self._failed is not None and not isinstance(self._failed, WalFencedError):
                raise self._failure("failed earlier")
            newest = self._firsts[-1] if self._firsts else 0
            keys = [info.key for info in self._objects.list()]
            if TOMBSTONE in keys:
                raise WalDeletedError(f"write-ahead log {self.name}: the index was deleted")
            found = sorted(first for key in keys if (m := _NAME.fullmatch(key)) and (first := int(m.group(1))) > newest)
            records: list[tuple[int, bytes]] = []
            expected = self._durable_lsn + 1
            for first in found:
                if first != expected:
                    raise WalGapError(f"write-ahead log {self.name}: lsn {expected} to {first - 1} were purged "
                                      "before this server saw them")
                for lsn, payload in self._read(first, skip_to=0):
                    records.append((lsn, payload))
                    expected = lsn + 1
            self._firsts += found
            self._recovered(expected - 1)
            self._failed = None
            return records

    def replay(self, after_lsn: int = 0) -> Iterator[tuple[int, bytes]]:
        """Yield every durable (lsn, record) with lsn > after_lsn, oldest first."""
        with self._cond:
            firsts, limit = list(self._firsts), self._durable_lsn
        for i, first in enumerate(firsts):
            next_first = firsts[i + 1] if i + 1 < len(firsts) else limit + 1
            if next_first <= after_lsn + 1 or first > limit:
                continue  # wholly before after_lsn, or not yet durable
            last = first - 1
            for lsn, payload in self._read(first, skip_to=after_lsn):
                last = lsn
                if lsn > after_lsn:
                    yield lsn, payload
            if last != next_first - 1:
                raise WalCorruptionError(f"{self.name}: {_key(first)} ends at lsn {last}; "
                                         f"the next object starts at {next_first}")

    def truncate_before(self, lsn: int) -> None:
        """Delete whole objects whose records all have LSNs below ``lsn`` (never the newest)."""
        with self._cond:
            self._check_open()
            doomed = 0
            while doomed + 1 < len(self._firsts) and self._firsts[doomed + 1] <= lsn:
                doomed += 1
            removed, self._firsts = self._firsts[:doomed], self._firsts[doomed:]
        for first in removed:  # oldest first, so a crash midway leaves a contiguous log
            self._objects.delete(_key(first))

    def _release(self) -> None:
        pass
