"""One index's data: its write-ahead log and the in-memory table rebuilt from it.

A write is appended to the log (fsynced, shared with concurrent writers by group commit),
then applied to the table strictly in log order, then acknowledged. Applying in log order
matters: two writers racing on one key must leave memory in the state a replay would rebuild.
"""

from __future__ import annotations

import threading
from pathlib import Path

from pgs3v.store.errors import ServiceUnavailableException
from pgs3v.store.mutations import Mutation, decode_mutation, encode_mutation
from pgs3v.store.vector_table import VectorTable
from pgs3v.store.wal import WriteAheadLog

# A writer waits for earlier log records to be applied; they are always in flight in another
# thread, so this bound is only reached if that thread died, and then failing beats hanging.
_APPLY_WAIT_SECONDS = 60.0


class VectorIndex:
    """Durable vectors of one index."""

    def __init__(self, directory: Path, dimension: int, metric: str, non_filterable_keys: frozenset[str]) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.table = VectorTable(dimension, metric, non_filterable_keys)
        self._log = WriteAheadLog(directory / "wal")
        for _, record in self._log.replay():
            self.table.apply(decode_mutation(record))
        self._applied_lsn = self._log.last_lsn
        self._applied = threading.Condition()

    def write(self, mutation: Mutation) -> None:
        """Make a validated batch durable, then visible; returns once both are true."""
        lsn = self._log.append(encode_mutation(mutation))
        with self._applied:
            ready = self._applied.wait_for(lambda: self._applied_lsn >= lsn - 1, timeout=_APPLY_WAIT_SECONDS)
            if not ready:
                raise ServiceUnavailableException("The index is not accepting writes; retry the request")
            try:
                self.table.apply(mutation)
            finally:
                # Later writers must not stall behind a batch that failed to apply.
                self._applied_lsn = lsn
                self._applied.notify_all()

    def close(self) -> None:
        """Close the log; the index must not be used afterwards."""
        self._log.close()
