"""The catalog's snapshot and journal: every acknowledged change survives, a change costs a line."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from pgs3v.store.storage.catalog import CATALOG_FILE, JOURNAL_FILE, BucketRecord, Catalog, IndexRecord


def _index(bucket: str, name: str) -> IndexRecord:
    return IndexRecord(bucket, name, f"id-{bucket}-{name}", 1.0, "float32", 4, "cosine", {}, {})


def _state(catalog: Catalog) -> tuple[dict[str, BucketRecord], dict[tuple[str, str], IndexRecord]]:
    return dict(catalog.buckets), dict(catalog.indexes)


def test_changes_survive_a_reopen(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path)
    with catalog.lock:
        bucket = catalog.buckets["b1"] = BucketRecord("b1", 1.0, {})
        catalog.save(bucket)
        for name in ("i1", "i2", "i3"):
            index = catalog.indexes[("b1", name)] = _index("b1", name)
            catalog.save(index)
        edited = catalog.indexes[("b1", "i2")]
        edited.tags = {"team": "search"}
        catalog.save(edited)
        removed = catalog.indexes.pop(("b1", "i3"))
        catalog.save(removed)
        bucket.policy = '{"Version": "2012-10-17"}'
        catalog.save(bucket)
    assert _state(Catalog(tmp_path)) == _state(catalog)
    assert set(Catalog(tmp_path).indexes) == {("b1", "i1"), ("b1", "i2")}
    assert Catalog(tmp_path).indexes[("b1", "i2")].tags == {"team": "search"}


def test_a_change_costs_one_line_not_a_rewrite(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path)
    with catalog.lock:
        catalog.save(catalog.buckets.setdefault("b1", BucketRecord("b1", 1.0, {})))
        for i in range(2_000):
            catalog.save(catalog.indexes.setdefault(("b1", f"i{i}"), _index("b1", f"i{i}")))
        journal = (tmp_path / JOURNAL_FILE).stat().st_size
        catalog.save(catalog.indexes.setdefault(("b1", "one-more"), _index("b1", "one-more")))
        assert 0 < (tmp_path / JOURNAL_FILE).stat().st_size - journal < 1_000  # one line appended
        # Edits of one record: the journal is folded into a snapshot before it holds more lines
        # than there are records.
        edited = catalog.indexes[("b1", "i7")]
        for i in range(3_000):
            edited.tags = {"n": str(i)}
            catalog.save(edited)
    assert len((tmp_path / JOURNAL_FILE).read_bytes().splitlines()) <= 2_002
    assert (tmp_path / CATALOG_FILE).exists()
    reopened = Catalog(tmp_path)
    assert len(reopened.indexes) == 2_001 and reopened.indexes[("b1", "i7")].tags == {"n": "2999"}


def test_a_torn_last_line_is_cut_and_a_damaged_one_is_an_error(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path)
    with catalog.lock:
        catalog.save(catalog.buckets.setdefault("b1", BucketRecord("b1", 1.0, {})))
        catalog.save(catalog.indexes.setdefault(("b1", "i1"), _index("b1", "i1")))
    journal = tmp_path / JOURNAL_FILE
    whole = journal.read_bytes()
    journal.write_bytes(whole + b'{"index": {"bucket": "b1", "na')  # a crash mid-append
    assert _state(Catalog(tmp_path)) == _state(catalog)
    assert journal.read_bytes() == whole
    journal.write_bytes(b"{not json}\n" + whole)
    with pytest.raises(RuntimeError, match="damaged"):
        Catalog(tmp_path)


def test_a_failed_save_undoes_the_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = Catalog(tmp_path)
    with catalog.lock:
        catalog.save(catalog.buckets.setdefault("b1", BucketRecord("b1", 1.0, {})))
    size = (tmp_path / JOURNAL_FILE).stat().st_size

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fdatasync", full_disk)
    with catalog.lock, pytest.raises(OSError):
        catalog.save(catalog.indexes.setdefault(("b1", "i1"), _index("b1", "i1")))
    monkeypatch.undo()
    assert ("b1", "i1") not in catalog.indexes  # undone in memory, as on disk
    assert (tmp_path / JOURNAL_FILE).stat().st_size == size  # no half line left behind
    with catalog.lock:
        catalog.save(catalog.indexes.setdefault(("b1", "i2"), _index("b1", "i2")))
    assert set(Catalog(tmp_path).indexes) == {("b1", "i2")}
    assert os.stat(tmp_path / JOURNAL_FILE).st_mode & 0o777 == 0o600
