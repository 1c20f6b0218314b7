"""What a server process costs: its own memory, the page cache it maps, and its files on disk."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcessMemory:
    """Resident memory of one process, split the way the kernel accounts it."""

    anonymous_bytes: int  # the process's own memory: heap, faiss codes, numpy arrays
    file_bytes: int  # pages of memory-mapped files: the OS page cache, shared and reclaimable

    @property
    def resident_bytes(self) -> int:
        """Both together (what ``ps`` shows as RSS)."""
        return self.anonymous_bytes + self.file_bytes


def process_memory(pid: int) -> ProcessMemory:
    """Resident memory of ``pid`` from /proc/<pid>/status (Linux)."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("RssAnon", "RssFile", "RssShmem"):
            fields[name] = int(value.split()[0]) * 1024
    return ProcessMemory(fields.get("RssAnon", 0) + fields.get("RssShmem", 0), fields.get("RssFile", 0))


def directory_bytes(path: Path) -> int:
    """Bytes of every regular file under ``path`` (allocated size, as ``du`` counts it)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except FileNotFoundError:
                continue  # removed while we walked (a merge finishing)
    return total


def drop_page_cache() -> bool:
    """Write back and drop the OS page cache; False where not permitted (not root, a container)."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as control:
            control.write("3\n")
    except OSError:
        return False
    return True
