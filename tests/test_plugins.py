"""The plugin manager: load order, environment switches, catalogs and hookspecs."""

from __future__ import annotations

import inspect
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from daidai import hookspecs
from daidai.catalog import CatalogError, Register
from daidai.plugins import (
    BUILTIN_PLUGINS,
    CORE,
    DaidaiPluginManager,
    hookimpl,
    plugin_manager,
    reset_plugin_manager,
)


@pytest.fixture(autouse=True)
def _fresh_plugin_manager() -> Iterator[None]:
    reset_plugin_manager()
    yield
    reset_plugin_manager()


class JsonTwin:
    """A plugin that registers a serializer under a name the built-ins already use."""

    def __init__(self, name: str = "json") -> None:
        self.name = name

    @hookimpl
    def daidai_register_serializers(self, register: Register) -> None:
        register(self.name, object())


def test_every_hookspec_is_documented_and_typed() -> None:
    specs = [
        (name, fn)
        for name, fn in vars(hookspecs).items()
        if name.startswith("daidai_") and inspect.isfunction(fn)
    ]
    assert len(specs) >= 10
    for name, fn in specs:
        assert hasattr(fn, "daidai_spec"), name
        assert (fn.__doc__ or "").strip(), f"{name} has no docstring"
        assert "firstresult" in fn.__doc__, f"{name} does not say whether it is firstresult"
        hints = inspect.get_annotations(fn)
        assert "return" in hints
        assert len(hints) == len(inspect.signature(fn).parameters) + 1


def test_builtins_load_first_then_entry_points_in_documented_order() -> None:
    pm = plugin_manager()
    names = pm.plugin_names()
    assert names[0] == CORE
    assert names[1 : 1 + len(BUILTIN_PLUGINS)] == list(BUILTIN_PLUGINS)
    layers = [pm.layer_of(n) for n in names]
    assert layers == sorted(layers, key=["builtin", "entrypoint", "manager", "conf"].index)
    assert "sqlite" in names
    assert pm.layer_of("sqlite") == "entrypoint"


def test_disable_autoload_skips_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAIDAI_DISABLE_PLUGIN_AUTOLOAD", "1")
    pm = plugin_manager()
    assert "sqlite" not in pm.plugin_names()
    assert set(BUILTIN_PLUGINS) <= set(pm.plugin_names())


def test_daidai_plugins_names_entry_points_and_modules(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "my_env_plugin.py").write_text(
        textwrap.dedent(
            """
            from daidai.plugins import hookimpl

            @hookimpl
            def daidai_register_serializers(register):
                register("env-format", object())
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "my_env_plugin", raising=False)
    monkeypatch.setenv("DAIDAI_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("DAIDAI_PLUGINS", "sqlite, my_env_plugin")
    pm = plugin_manager()
    assert pm.layer_of("sqlite") == "entrypoint"
    assert pm.catalog("serializer").owner("env-format") == "my_env_plugin"


def test_a_name_registered_twice_in_one_layer_names_both_plugins() -> None:
    pm = DaidaiPluginManager()
    pm.register(JsonTwin("twin"), name="first-plugin", layer="entrypoint")
    pm.register(JsonTwin("twin"), name="second-plugin", layer="entrypoint")
    with pytest.raises(CatalogError, match="'first-plugin' and by plugin 'second-plugin'"):
        pm.catalog("serializer")


def test_a_later_layer_replaces_an_earlier_one_whatever_the_registration_order() -> None:
    pm = DaidaiPluginManager()
    manager_level = JsonTwin("twin")
    pm.register(manager_level, name="manager-plugin", layer="manager")
    pm.register(JsonTwin("twin"), name="entrypoint-plugin", layer="entrypoint")
    assert pm.catalog("serializer").owner("twin") == "manager-plugin"


def test_a_missing_entry_lists_what_exists_with_a_near_match() -> None:
    pm = DaidaiPluginManager()
    pm.register(JsonTwin("parquet"), name="p", layer="entrypoint")
    with pytest.raises(CatalogError, match="Did you mean 'parquet'"):
        pm.catalog("serializer").get("parquett")


def test_describe_lists_hooks_and_registrations_per_plugin() -> None:
    pm = DaidaiPluginManager()
    pm.register(JsonTwin("yaml"), name="yaml-plugin", layer="entrypoint")
    info = {i.name: i for i in pm.describe()}
    assert info["yaml-plugin"].registered == {"serializer": ("yaml",)}
    assert info["yaml-plugin"].hooks == ("daidai_register_serializers",)
    assert info["yaml-plugin"].layer == "entrypoint"


def test_lifecycle_hooks_are_inactive_with_the_default_plugins() -> None:
    pm = plugin_manager()
    for hook in ("daidai_artifact_setup", "daidai_predictor_call", "daidai_record_call"):
        assert not pm.is_active(hook), hook

    class Watcher:
        @hookimpl
        def daidai_record_call(self, record: Any) -> None:
            pass

    pm.register(Watcher(), name="watcher", layer="manager")
    assert pm.is_active("daidai_record_call")
    pm.unregister(name="watcher")
    assert not pm.is_active("daidai_record_call")


def test_choose_serializer_prefers_safe_formats_and_asks_the_hook() -> None:
    import numpy as np

    from daidai.plugins import choose_serializer

    assert choose_serializer({"a": [1, 2]}).name == "json"
    assert choose_serializer(np.arange(3)).name == "npy"
    assert choose_serializer(object()).name == "pickle"  # the unsafe fallback, last

    class PreferPickle:
        @hookimpl
        def daidai_choose_serializer(self, value: Any, candidates: list[str]) -> str | None:
            return "pickle" if "pickle" in candidates else None

    pm = plugin_manager()
    pm.register(PreferPickle(), name="prefer-pickle", layer="manager")
    try:
        assert choose_serializer({"a": 1}).name == "pickle"
    finally:
        pm.unregister(name="prefer-pickle")


def test_a_missing_format_gives_an_install_hint_and_hints_never_shadow_entries() -> None:
    pm = DaidaiPluginManager()

    class NeedsYaml:
        @hookimpl
        def daidai_register_serializers(self, register: Register) -> None:
            register("json-ish", object())
            register.hint("yaml", "The yaml format needs PyYAML: pip install pyyaml.")
            register.hint("json-ish", "never shown: the entry exists")

    pm.register(NeedsYaml(), name="needs-yaml", layer="entrypoint")
    catalog = pm.catalog("serializer")
    with pytest.raises(CatalogError, match="pip install pyyaml"):
        catalog.get("yaml")
    assert catalog.get("json-ish") is not None
