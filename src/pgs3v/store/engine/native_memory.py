"""Give freed heap memory back to the operating system (glibc only; a no-op elsewhere).

Ingest parses large request bodies on many worker threads, and indexing builds and drops
whole segments' worth of arrays. glibc keeps what those free in per-thread arenas for reuse,
so a server that has just ingested 400k vectors measured ten times the resident memory of the
same server restarted on the same data. Two measures close most of that gap:

- fewer arenas (:func:`limit_arenas`, at start, before worker threads exist), so freed blocks
  are pooled instead of stranded in an arena that one idle thread owns;
- ``malloc_trim`` after each indexing step (:func:`release_free_memory`), which returns the
  free pages inside every arena, not only at the top of the main heap.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache

# mallopt's parameter number for the arena limit (glibc's malloc.h).
_M_ARENA_MAX = -8


@cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        library = ctypes.CDLL(name)
    except OSError:
        return None
    if not hasattr(library, "malloc_trim") or not hasattr(library, "mallopt"):
        return None  # not glibc (musl has neither)
    return library


def limit_arenas(arenas: int) -> bool:
    """Cap glibc's malloc arenas at ``arenas``; True if the C library took the setting."""
    library = _libc()
    if library is None:
        return False
    return bool(library.mallopt(_M_ARENA_MAX, arenas))


def release_free_memory() -> None:
    """Return free heap pages of every arena to the OS (cheap when there is little to give)."""
    library = _libc()
    if library is not None:
        library.malloc_trim(0)
