"""The plugin manager: loading plugins in a documented order and building the catalogs.

Load order (each a *layer*; see :mod:`daidai.hookspecs`): built-in plugins, the ``daidai``
entry-point group, ``ModelManager(plugins=...)``, ``daidai_conf.py`` modules. Environment:

* ``DAIDAI_DISABLE_PLUGIN_AUTOLOAD=1``: entry points are not loaded automatically;
* ``DAIDAI_PLUGINS=a,b``: load these entry points (by name) or modules (by import name) even
  when autoloading is disabled.

Catalogs are built by calling each plugin's catalog hook ourselves, layer by layer in
registration order, with a :class:`~daidai.catalog.Register` naming the plugin: attribution,
duplicate detection and precedence never depend on pluggy's call order.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import itertools
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs
import pluggy

from daidai import core_hooks, hookspecs
from daidai.catalog import KINDS, LAYERS, Catalog, CatalogError, Kind, Register, Serializer
from daidai.errors import ConfigError

CORE = "daidai.core"
BUILTIN_PLUGINS: tuple[str, ...] = (
    "daidai_builtin.fetchers",
    "daidai_builtin.serializers",
    "daidai_builtin.storages",
    "daidai_builtin.drivers",
)
LIFECYCLE_HOOKS = (
    "daidai_artifact_setup",
    "daidai_artifact_teardown",
    "daidai_predictor_call",
    "daidai_record_call",
)

hookimpl = pluggy.HookimplMarker("daidai")
"""Marks a function or method as a daidai hook implementation."""

_versions = itertools.count(1)
change_listeners: list[Callable[[DaidaiPluginManager], None]] = []
"""Called whenever plugins change (the manager module drops warm caches: a new plugin may
implement a lifecycle hook that warm calls would otherwise skip)."""


@attrs.frozen
class PluginInfo:
    """What ``daidai plugins`` shows for one plugin."""

    name: str
    layer: str
    hooks: tuple[str, ...]
    registered: dict[str, tuple[str, ...]]


class DaidaiPluginManager(pluggy.PluginManager):
    """A pluggy plugin manager that knows each plugin's layer and builds daidai's catalogs."""

    def __init__(self) -> None:
        super().__init__("daidai")
        self.add_hookspecs(hookspecs)
        self._layers: dict[str, str] = {}
        self._order: list[str] = []
        self._catalogs: dict[Kind, Catalog[Any]] | None = None
        self._active: dict[str, bool] = {}
        self._lock = threading.RLock()
        self.version = next(_versions)
        self.register(core_hooks, name=CORE, layer="builtin")

    # ------------------------------------------------------------------------ registration
    def register(
        self, plugin: object, name: str | None = None, *, layer: str = "manager"
    ) -> str | None:
        """Register ``plugin`` in ``layer`` (one of ``builtin``, ``entrypoint``, ``manager``,
        ``conf``); returns its name, or None if it was blocked."""
        if layer not in LAYERS:
            raise ConfigError(f"unknown plugin layer {layer!r}; use one of {LAYERS}")
        with self._lock:
            registered = super().register(plugin, name)
            if registered is not None:
                self._layers[registered] = layer
                self._order.append(registered)
                self._changed()
            return registered

    def unregister(self, plugin: object | None = None, name: str | None = None) -> Any:
        with self._lock:
            removed = super().unregister(plugin, name)
            present = self._names()
            self._order = [n for n in self._order if n in present]
            self._layers = {n: layer for n, layer in self._layers.items() if n in present}
            self._changed()
            return removed

    def _names(self) -> set[str]:
        return {name for name, _ in self.list_name_plugin()}

    def _changed(self) -> None:
        self._catalogs = None
        self._active = {}
        self.version = next(_versions)
        if self is _global:  # derived managers are built before anyone caches through them
            for listener in list(change_listeners):
                listener(self)

    def layer_of(self, name: str) -> str:
        return self._layers.get(name, "manager")

    def plugin_names(self) -> list[str]:
        """Registered plugin names in load order (layer, then registration)."""
        names = [n for n in self._order if self.get_plugin(n) is not None]
        return sorted(names, key=lambda n: (LAYERS.index(self.layer_of(n)), self._order.index(n)))

    # ---------------------------------------------------------------------------- lifecycle
    def is_active(self, hook_name: str) -> bool:
        """Whether a plugin other than daidai's core implements lifecycle hook ``hook_name``."""
        active = self._active.get(hook_name)
        if active is None:
            caller = getattr(self.hook, hook_name)
            active = any(impl.plugin_name != CORE for impl in caller.get_hookimpls())
            self._active[hook_name] = active
        return active

    # ------------------------------------------------------------------------------ catalogs
    def catalog(self, kind: Kind) -> Catalog[Any]:
        """The entries of ``kind`` registered by all plugins, built on first use."""
        with self._lock:
            if self._catalogs is None:
                self._catalogs = self._build_catalogs()
            return self._catalogs[kind]

    def _build_catalogs(self) -> dict[Kind, Catalog[Any]]:
        catalogs: dict[Kind, Catalog[Any]] = {kind: Catalog(kind) for kind in KINDS}
        for name in self.plugin_names():
            plugin = self.get_plugin(name)
            for kind in KINDS:
                hook = getattr(plugin, f"daidai_register_{kind}s", None)
                if hook is None or not _is_hookimpl(hook):
                    continue
                hook(register=Register(catalogs[kind], name, self.layer_of(name)))
        return catalogs

    def describe(self) -> list[PluginInfo]:
        """Every plugin with its layer, the hooks it implements and what it registered."""
        registered: dict[str, dict[str, list[str]]] = {}
        for kind in KINDS:
            for entry in self.catalog(kind).entries():
                registered.setdefault(entry.plugin, {}).setdefault(kind, []).append(entry.name)
        infos = []
        for name in self.plugin_names():
            hooks = sorted(
                caller.name for caller in self.get_hookcallers(self.get_plugin(name)) or ()
            )
            infos.append(
                PluginInfo(
                    name=name,
                    layer=self.layer_of(name),
                    hooks=tuple(hooks),
                    registered={k: tuple(v) for k, v in registered.get(name, {}).items()},
                )
            )
        return infos

    def derive(self, plugins: Iterable[object], *, layer: str) -> DaidaiPluginManager:
        """A new manager with this one's plugins (same names and layers) plus ``plugins``."""
        derived = DaidaiPluginManager()
        for name in self.plugin_names():
            if name != CORE:
                derived.register(self.get_plugin(name), name=name, layer=self.layer_of(name))
        for plugin in plugins:
            derived.register(_load_if_named(plugin), layer=layer)
        return derived


def choose_serializer(value: Any, plugins: DaidaiPluginManager | None = None) -> Serializer:
    """The serializer that stores ``value``.

    Candidates are the registered serializers whose ``accepts`` says yes, safe formats first
    (in registration order), unsafe ones (pickle) last. ``daidai_choose_serializer`` may pick
    any candidate by name; without an answer the first candidate wins.
    """
    pm = plugins or plugin_manager()
    entries = pm.catalog("serializer").in_order()
    accepting = [e for e in entries if _accepts(e.value, value)]
    if not accepting:
        names = ", ".join(e.name for e in entries) or "none"
        raise CatalogError(
            f"no registered serializer accepts a {type(value).__module__}."
            f"{type(value).__qualname__} (registered: {names}); register one with "
            "daidai_register_serializers"
        )
    ranked = [e for e in accepting if getattr(e.value, "safe", False)] + [
        e for e in accepting if not getattr(e.value, "safe", False)
    ]
    candidates = [e.name for e in ranked]
    chosen = pm.hook.daidai_choose_serializer(value=value, candidates=candidates)
    if chosen is None:
        return ranked[0].value  # type: ignore[no-any-return]
    if chosen not in candidates:
        raise CatalogError(
            f"daidai_choose_serializer chose {chosen!r}, which is not among the serializers "
            f"that accept this value: {', '.join(candidates)}"
        )
    return ranked[candidates.index(chosen)].value  # type: ignore[no-any-return]


def _accepts(serializer: Any, value: Any) -> bool:
    try:
        return bool(serializer.accepts(value))
    except Exception:
        return False


def _is_hookimpl(function: Any) -> bool:
    return hasattr(function, "daidai_impl")


def _load_if_named(plugin: object) -> object:
    if isinstance(plugin, str):
        try:
            return importlib.import_module(plugin)
        except ImportError as exc:
            raise CatalogError(f"cannot import plugin module {plugin!r}: {exc}") from exc
    return plugin


def load_default_plugins(pm: DaidaiPluginManager) -> None:
    """Built-in plugins, then entry points, honouring the two environment variables."""
    for module_name in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(module_name), name=module_name, layer="builtin")
    autoload = os.environ.get("DAIDAI_DISABLE_PLUGIN_AUTOLOAD", "").strip() in ("", "0")
    requested = _requested_plugins()
    loaded: set[str] = set()
    for entry_point in importlib.metadata.entry_points(group="daidai"):
        if not autoload and entry_point.name not in requested:
            continue
        if pm.get_plugin(entry_point.name) is not None:
            continue
        try:
            plugin = entry_point.load()
        except Exception as exc:
            raise CatalogError(
                f"the daidai plugin {entry_point.name!r} ({entry_point.value}) failed to "
                f"load: {type(exc).__name__}: {exc}. Fix or uninstall it, or set "
                "DAIDAI_DISABLE_PLUGIN_AUTOLOAD=1."
            ) from exc
        pm.register(plugin, name=entry_point.name, layer="entrypoint")
        loaded.add(entry_point.name)
    for name in requested:
        if name not in loaded and pm.get_plugin(name) is None:
            pm.register(_load_if_named(name), name=name, layer="entrypoint")


def _requested_plugins() -> Sequence[str]:
    raw = os.environ.get("DAIDAI_PLUGINS", "")
    return [part.strip() for part in raw.split(",") if part.strip()]


_global_lock = threading.Lock()
_global: DaidaiPluginManager | None = None


def plugin_manager() -> DaidaiPluginManager:
    """The process-wide plugin manager (built-ins and entry points), created on first use."""
    global _global
    found = _global
    if found is not None:
        return found
    with _global_lock:
        if _global is None:
            pm = DaidaiPluginManager()
            load_default_plugins(pm)
            _global = pm
        return _global


def reset_plugin_manager() -> None:
    """Forget the process-wide plugin manager (tests, or after changing the environment)."""
    global _global
    with _global_lock:
        _global = None
