"""The built-in plugins are loaded like any plugin; catalogs give hints and report duplicates."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import pytest

from daidai.catalog import CatalogError, Register
from daidai.plugins import (
    BUILTIN_PLUGINS,
    DaidaiPluginManager,
    hookimpl,
    load_default_plugins,
    plugin_manager,
)
from daidai_builtin.drivers import LocalDriver, ThreadsDriver
from daidai_builtin.fetchers import FETCHER
from daidai_builtin.storages import LocalStorage, MemoryStorage


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> DaidaiPluginManager:
    """A plugin manager with the built-ins only (no entry points)."""
    monkeypatch.setenv("DAIDAI_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.delenv("DAIDAI_PLUGINS", raising=False)
    pm = DaidaiPluginManager()
    load_default_plugins(pm)
    return pm


def test_the_process_plugin_manager_has_the_builtins() -> None:
    pm = plugin_manager()
    assert {"json", "text", "bytes", "npy", "pickle"} <= set(pm.catalog("serializer").names())
    assert {"file", "memory"} <= set(pm.catalog("storage").names())
    assert {"local", "threads"} <= set(pm.catalog("driver").names())
    assert {"file", "local", "memory"} <= set(pm.catalog("fetcher").names())


def test_each_builtin_module_is_a_plugin_registered_by_name(fresh: DaidaiPluginManager) -> None:
    assert [n for n in fresh.plugin_names() if n.startswith("daidai_builtin")] == list(
        BUILTIN_PLUGINS
    )
    assert all(fresh.layer_of(name) == "builtin" for name in BUILTIN_PLUGINS)
    owners = {
        ("fetcher", "file"): "daidai_builtin.fetchers",
        ("serializer", "json"): "daidai_builtin.serializers",
        ("storage", "file"): "daidai_builtin.storages",
        ("driver", "threads"): "daidai_builtin.drivers",
    }
    for (kind, name), plugin in owners.items():
        assert fresh.catalog(kind).owner(name) == plugin  # type: ignore[arg-type]


def test_each_builtin_module_implements_its_own_hook_only() -> None:
    hooks = {
        "daidai_builtin.fetchers": "daidai_register_fetchers",
        "daidai_builtin.serializers": "daidai_register_serializers",
        "daidai_builtin.storages": "daidai_register_storages",
        "daidai_builtin.drivers": "daidai_register_drivers",
    }
    for module_name, hook in hooks.items():
        module = importlib.import_module(module_name)
        implemented = [n for n in dir(module) if hasattr(getattr(module, n), "daidai_impl")]
        assert implemented == [hook]


def test_catalog_values(fresh: DaidaiPluginManager) -> None:
    assert fresh.catalog("fetcher").get("file") is FETCHER
    assert fresh.catalog("storage").get("file") is LocalStorage
    assert fresh.catalog("storage").get("memory") is MemoryStorage
    assert fresh.catalog("driver").get("local") is LocalDriver
    assert fresh.catalog("driver").get("threads") is ThreadsDriver
    assert fresh.catalog("serializer").get("pickle").safe is False


def test_http_is_served_when_aiohttp_is_installed(fresh: DaidaiPluginManager) -> None:
    pytest.importorskip("aiohttp")
    assert fresh.catalog("fetcher").get("https") is FETCHER


@pytest.mark.skipif(importlib.util.find_spec("s3fs") is not None, reason="s3fs is installed")
def test_a_missing_protocol_says_what_to_install(fresh: DaidaiPluginManager) -> None:
    with pytest.raises(CatalogError, match=r"pip install s3fs") as info:
        fresh.catalog("fetcher").get("s3")
    assert "no fetcher is registered for 's3'" in str(info.value)
    assert "s3" not in fresh.catalog("fetcher")


def test_an_unknown_protocol_suggests_a_near_name(fresh: DaidaiPluginManager) -> None:
    with pytest.raises(CatalogError, match="memory"):
        fresh.catalog("fetcher").get("memroy")


def test_an_unknown_serializer_lists_the_registered_ones(fresh: DaidaiPluginManager) -> None:
    with pytest.raises(CatalogError, match="'json'") as info:
        fresh.catalog("serializer").get("parquet")
    assert isinstance(info.value, LookupError)


# ------------------------------------------------------------------------------- duplicates
class _Storage:
    def __init__(self, location: str) -> None:
        self.location = location


class FirstPlugin:
    @hookimpl
    def daidai_register_storages(self, register: Register) -> None:
        register("redis", _Storage)


class SecondPlugin:
    @hookimpl
    def daidai_register_storages(self, register: Register) -> None:
        register("redis", _Storage)


def test_a_duplicate_names_both_plugins() -> None:
    pm = DaidaiPluginManager()
    pm.register(FirstPlugin(), name="first-plugin", layer="entrypoint")
    pm.register(SecondPlugin(), name="second-plugin", layer="entrypoint")
    with pytest.raises(CatalogError, match="registered twice") as info:
        pm.catalog("storage")
    assert "'first-plugin'" in str(info.value)
    assert "'second-plugin'" in str(info.value)


def test_a_plugin_duplicating_a_builtin_in_the_builtin_layer_is_reported() -> None:
    class Json:
        @hookimpl
        def daidai_register_serializers(self, register: Register) -> None:
            register("json", object())

    pm = DaidaiPluginManager()
    builtins = importlib.import_module("daidai_builtin.serializers")
    pm.register(builtins, name="builtins", layer="builtin")
    pm.register(Json(), name="my-json", layer="builtin")
    with pytest.raises(CatalogError, match=r"'builtins'.*'my-json'"):
        pm.catalog("serializer")


def test_a_later_layer_replaces_a_builtin(fresh: DaidaiPluginManager) -> None:
    replacement: Any = object()

    class Replacing:
        @hookimpl
        def daidai_register_storages(self, register: Register) -> None:
            register("file", replacement)

    derived = fresh.derive([Replacing()], layer="manager")
    assert derived.catalog("storage").get("file") is replacement
    assert fresh.catalog("storage").get("file") is LocalStorage


def test_describe_shows_what_each_builtin_registered(fresh: DaidaiPluginManager) -> None:
    infos = {info.name: info for info in fresh.describe()}
    assert infos["daidai_builtin.drivers"].registered == {"driver": ("local", "threads")}
    assert infos["daidai_builtin.storages"].hooks == ("daidai_register_storages",)
