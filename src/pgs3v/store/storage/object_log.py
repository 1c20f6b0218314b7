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
    WalCorruptionError,
    WalFailedError,
    WalFencedError,
    WriteRefused,
)
from pgs3v.store.storage.group_commit import Batch, GroupCommitLog
from pgs3v.store.storage.log_records import BadRecord, read_records
from pgs3v.store.storage.objects import ObjectNotFound, ObjectStorage, PreconditionFailed

_logger = logging.getLogger(__name__)
_NAME = re.compile(r"(\d{20})\.log")


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
