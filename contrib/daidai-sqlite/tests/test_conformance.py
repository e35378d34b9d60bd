"""daidai's storage conformance suite, run against the sqlite storage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from daidai.testing import StorageConformance
from daidai_sqlite import SqliteStorage


class TestSqliteStorage(StorageConformance):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> Iterator[SqliteStorage]:
        store = SqliteStorage(tmp_path / "store" / "blobs.db")
        yield store
        store.close()

    @pytest.fixture
    def storage_path(self, tmp_path: Path) -> Path:
        return tmp_path / "store"


def test_a_second_storage_on_the_same_file_sees_the_data(tmp_path: Path) -> None:
    with SqliteStorage(tmp_path / "db.sqlite") as first:
        first.put("k", b"v")
        with SqliteStorage(f"sqlite://{tmp_path / 'db.sqlite'}") as second:
            assert second.get("k") == b"v"
            assert list(second.keys()) == ["k"]


def test_wal_journal(tmp_path: Path) -> None:
    with SqliteStorage(tmp_path / "db.sqlite") as store:
        mode = store._connection().execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_in_memory_databases_are_refused() -> None:
    with pytest.raises(ValueError, match="memory"):
        SqliteStorage(":memory:")


def test_prefix_at_the_top_of_unicode(tmp_path: Path) -> None:
    top = chr(0x10FFFF)
    with SqliteStorage(tmp_path / "db.sqlite") as store:
        for key in (top, top + "a", "a" + top, "b", "\ud7ffx", "\ue000y"):
            try:
                store.put(key, b"x")
            except ValueError:
                continue
        assert sorted(store.keys(top)) == [top, top + "a"]
        assert sorted(store.keys("a")) == ["a" + top]
        assert sorted(store.keys("\ud7ff")) == ["\ud7ffx"]


def test_closed_storage_refuses_work(tmp_path: Path) -> None:
    store = SqliteStorage(tmp_path / "db.sqlite")
    store.close()
    store.close()
    with pytest.raises(RuntimeError, match="closed"):
        store.put("k", b"v")
