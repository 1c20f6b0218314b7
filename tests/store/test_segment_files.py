"""Segment files on object storage: a segment's folders (a text index's, say) travel with it."""

from __future__ import annotations

from pathlib import Path

from pgs3v.store.storage.local_objects import LocalObjects
from pgs3v.store.storage.segment_files import DESCRIPTOR, ObjectSegmentFiles, SegmentCache

FILES = {
    "vectors.bin": b"v" * 1000,
    "text-7469746c65/meta.json": b'{"segments": []}',
    "text-7469746c65/a.store": b"postings",
    "text-7469746c65/text.json": b'{"documents": 3}',
    DESCRIPTOR: b'{"rows": 3}',
}


class _Recording(LocalObjects):
    """Local objects that remember the order of their puts."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.put_keys: list[str] = []

    def put_file(self, key: str, source: Path) -> None:
        self.put_keys.append(key)
        super().put_file(key, source)


def _tree(directory: Path) -> dict[str, bytes]:
    return {path.relative_to(directory).as_posix(): path.read_bytes()
            for path in directory.rglob("*") if path.is_file()}


def test_a_segment_with_folders_is_published_whole_and_fetched_whole(tmp_path: Path) -> None:
    objects = _Recording(tmp_path / "objects")
    writer = ObjectSegmentFiles(objects, SegmentCache(tmp_path / "cache-a", 1 << 30), "index-1")
    directory = writer.new_directory("seg-1")
    for name, data in FILES.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(data)
    writer.publish("seg-1")
    assert objects.put_keys[-1] == f"seg-1/{DESCRIPTOR}"  # last: a stored descriptor means a whole segment
    assert sorted(objects.put_keys) == sorted(f"seg-1/{name}" for name in FILES)
    # Another server, on an empty cache, fetches the same tree.
    reader = ObjectSegmentFiles(objects, SegmentCache(tmp_path / "cache-b", 1 << 30), "index-1")
    assert _tree(reader.local_directory("seg-1")) == FILES
    # Its cache counts the folder's files too, and finds the copy again after a restart.
    assert SegmentCache(tmp_path / "cache-b", 1 << 30)._sizes == {("index-1", "seg-1"): sum(map(len, FILES.values()))}
