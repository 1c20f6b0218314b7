"""The manifest: which segments (and deletion bitmaps) make up an index, and its WAL watermark.

Every change to the indexed state (a new segment from the log, a merge, new deletion bitmaps)
commits by writing the next manifest generation, ``manifest-<generation, 20 digits>.json``,
*create-only*: if that name exists, someone else committed first and this commit fails. That is
the compare-and-swap an object store gives with a conditional put (If-None-Match: *), so the
same protocol works on a local disk and on S3. Files a manifest names are written and synced
before it; files no manifest names are garbage from an interrupted commit.

The watermark is the last WAL record folded into segments: recovery opens the segments and
replays the log after it. Replaying a record whose effect a deletion bitmap already holds is
harmless (deleting a row twice, or re-inserting a key into the tail), so bitmaps may be newer
than the watermark.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import orjson

from pgs3v.store.storage.errors import StorageError
from pgs3v.store.storage.objects import ObjectStorage, PreconditionFailed

_NAME = re.compile(r"manifest-(\d{20})\.json")
_FORMAT = 1


class ManifestConflictError(StorageError):
    """Another writer committed this generation first."""


@dataclass(frozen=True)
class SegmentEntry:
    """One live segment and the file of its deleted rows (None: no row deleted)."""

    name: str
    rows: int
    deleted: str | None = None
    deleted_rows: int = 0


@dataclass(frozen=True)
class Manifest:
    """One committed state of an index's segments."""

    generation: int = 0
    watermark_lsn: int = 0
    next_segment: int = 1
    segments: tuple[SegmentEntry, ...] = field(default_factory=tuple)

    def to_json(self) -> bytes:
        """The manifest file's content."""
        return orjson.dumps({
            "format": _FORMAT, "generation": self.generation, "watermarkLsn": self.watermark_lsn,
            "nextSegment": self.next_segment,
            "segments": [
                {"name": s.name, "rows": s.rows, "deleted": s.deleted, "deletedRows": s.deleted_rows}
                for s in self.segments
            ],
        }, option=orjson.OPT_INDENT_2)

    @staticmethod
    def from_json(data: bytes) -> Manifest:
        """Parse a manifest file."""
        document = orjson.loads(data)
        if document.get("format") != _FORMAT:
            raise ValueError(f"unsupported manifest format {document.get('format')!r}")
        return Manifest(
            generation=document["generation"], watermark_lsn=document["watermarkLsn"],
            next_segment=document["nextSegment"],
            segments=tuple(
                SegmentEntry(s["name"], s["rows"], s["deleted"], s["deletedRows"]) for s in document["segments"]
            ),
        )


class ManifestStore:
    """The manifests of one index, as objects of its own prefix (a directory or a bucket prefix)."""

    def __init__(self, objects: ObjectStorage) -> None:
        self._objects = objects

    def _generations(self) -> list[int]:
        return sorted(int(m.group(1)) for info in self._objects.list() if (m := _NAME.fullmatch(info.key)))

    def load(self) -> Manifest:
        """The newest committed manifest, or an empty one for a new index."""
        generations = self._generations()
        if not generations:
            return Manifest()
        # A manifest is stored whole before its name appears (see commit), so the newest one is
        # complete; a damaged one is not skipped, as that would silently lose data.
        return Manifest.from_json(self._objects.get(_name(generations[-1])))

    def commit(self, manifest: Manifest) -> None:
        """Write ``manifest`` as its generation, create-only; durable when this returns."""
        try:
            self._objects.put(_name(manifest.generation), manifest.to_json(), mode="create")
        except PreconditionFailed:
            raise ManifestConflictError(f"manifest generation {manifest.generation} already exists") from None
        for generation in self._generations():
            if generation < manifest.generation - 1:
                self._objects.delete(_name(generation))


def _name(generation: int) -> str:
    return f"manifest-{generation:020d}.json"
