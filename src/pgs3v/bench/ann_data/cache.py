"""Where generated vectors, embeddings and ground truth are kept between benchmark runs.

The cache is a directory (``$PGS3V_BENCH_CACHE``, else ``$XDG_CACHE_HOME/pgs3v/ann``, else
``~/.cache/pgs3v/ann``) with one sub-directory per data set. A file appears under its final name
only once it is complete (written under a temporary name, then renamed), so an interrupted run
leaves no half-written array that a later run would trust. Large arrays are written in chunks
through ``np.lib.format.open_memmap`` and read back as read-only memory maps, so memory stays
bounded whatever the size of the data.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

CACHE_VARIABLE = "PGS3V_BENCH_CACHE"


def default_cache_root() -> Path:
    """The cache directory this environment selects."""
    configured = os.environ.get(CACHE_VARIABLE)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pgs3v" / "ann"


@dataclass(frozen=True)
class Cache:
    """A cache directory."""

    root: Path

    @classmethod
    def default(cls) -> Cache:
        """The cache directory this environment selects (see :func:`default_cache_root`)."""
        return cls(default_cache_root())

    def path(self, dataset: str, name: str) -> Path:
        """The path of one cached file of one data set (its directory is created)."""
        directory = self.root / dataset
        directory.mkdir(parents=True, exist_ok=True)
        return directory / name

    def array(
        self,
        dataset: str,
        name: str,
        shape: tuple[int, ...],
        dtype: npt.DTypeLike,
        fill: Callable[[np.memmap[Any, Any]], None],
    ) -> np.memmap[Any, Any]:
        """The cached array, or a new one that ``fill`` writes in place; read-only either way."""
        path = self.path(dataset, name)
        if path.exists():
            cached: np.memmap[Any, Any] = np.load(path, mmap_mode="r")
            if cached.shape == shape and cached.dtype == np.dtype(dtype):
                return cached
            path.unlink()  # same name, different content: a stale file from an older layout
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        try:
            out = np.lib.format.open_memmap(partial, mode="w+", dtype=dtype, shape=shape)
            fill(out)
            out.flush()
            del out
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        loaded: np.memmap[Any, Any] = np.load(path, mmap_mode="r")
        return loaded

    def load_arrays(self, dataset: str, name: str) -> dict[str, npt.NDArray[Any]] | None:
        """The small named arrays saved together in one ``.npz``, or ``None`` when not cached."""
        path = self.root / dataset / name
        if not path.exists():
            return None
        with np.load(path, allow_pickle=False) as stored:
            return {key: stored[key] for key in stored.files}

    def save_arrays(self, dataset: str, name: str, arrays: dict[str, npt.NDArray[Any]]) -> Path:
        """Save small named arrays together in one ``.npz`` (replacing any older one); its path."""
        path = self.path(dataset, name)
        partial = path.with_name(f".{path.stem}.{os.getpid()}.partial.npz")
        save: Any = np.savez  # its stubs read the keyword arrays as its own options
        try:
            save(partial, **arrays)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        return path

    def find(self, dataset: str, pattern: str) -> list[Path]:
        """Cached files of a data set whose names match a glob pattern."""
        return sorted((self.root / dataset).glob(pattern))
