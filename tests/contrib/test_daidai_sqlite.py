"""contrib/daidai-sqlite, installed by the dev group: the entry-point path, end to end.

The plugin's own tests live in contrib/daidai-sqlite/tests; this module runs the same
conformance suite from the root test command and checks how daidai finds the plugin.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator
from pathlib import Path

import pytest

from daidai.plugins import DaidaiPluginManager, load_default_plugins, plugin_manager
from daidai.testing import StorageConformance

daidai_sqlite = pytest.importorskip("daidai_sqlite")


class TestSqliteStorage(StorageConformance):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> Iterator[object]:
        store = daidai_sqlite.SqliteStorage(tmp_path / "store" / "blobs.db")
        yield store
        store.close()

    @pytest.fixture
    def storage_path(self, tmp_path: Path) -> Path:
        return tmp_path / "store"


def test_the_entry_point_is_installed() -> None:
    entry_points = importlib.metadata.entry_points(group="daidai")
    assert "sqlite" in entry_points.names
    assert entry_points["sqlite"].value == "daidai_sqlite"


def test_the_process_plugin_manager_loads_it_from_the_entry_point() -> None:
    pm = plugin_manager()
    assert pm.catalog("storage").owner("sqlite") == "sqlite"
    assert pm.layer_of("sqlite") == "entrypoint"
    assert pm.catalog("storage").get("sqlite") is daidai_sqlite.SqliteStorage


def test_a_storage_made_through_the_catalog_works(tmp_path: Path) -> None:
    factory = plugin_manager().catalog("storage").get("sqlite")
    storage = factory(f"sqlite://{tmp_path / 'x.db'}")
    try:
        storage.put("k", b"v")
        assert storage.get("k") == b"v"
    finally:
        storage.close()


def test_autoload_can_be_disabled_and_the_plugin_asked_for_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DAIDAI_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.delenv("DAIDAI_PLUGINS", raising=False)
    without = DaidaiPluginManager()
    load_default_plugins(without)
    assert "sqlite" not in without.catalog("storage")

    monkeypatch.setenv("DAIDAI_PLUGINS", "sqlite")
    with_it = DaidaiPluginManager()
    load_default_plugins(with_it)
    assert with_it.catalog("storage").owner("sqlite") == "sqlite"
