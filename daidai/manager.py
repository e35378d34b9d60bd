"""ModelManager: owns artifact instances for a ``with`` block (or until ``.close()``).

Which manager serves a call (DESIGN.md 1.4), first match wins:

1. the innermost open manager entered in the calling thread or task (a context variable);
2. the most recently entered manager still open anywhere in the process, so a thread pool
   started inside ``with ModelManager(...)`` uses it;
3. the process-wide default manager, created on first lazy use and closed at exit.

A manager's parent is the manager that was current in the same thread or task when it was
created; instances built by a parent are reused by its children unless the child preloads,
configures or overrides that component itself.
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import itertools
import logging
import threading
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any, ClassVar

from daidai import aio, discovery, registry
from daidai.component import Component, component_of
from daidai.errors import ConfigError, DaidaiError, TeardownError
from daidai.plugins import DaidaiPluginManager, change_listeners, plugin_manager
from daidai.realize import realize_async, realize_sync
from daidai.resolve import CallFrame, Planner, plan_preload
from daidai.store import MISSING, Store

logger = logging.getLogger("daidai")

_current: contextvars.ContextVar[ModelManager | None] = contextvars.ContextVar(
    "daidai_manager", default=None
)
_call_frame: contextvars.ContextVar[CallFrame | None] = contextvars.ContextVar(
    "daidai_call_frame", default=None
)
_serials = itertools.count(1)


class _Process:
    """Process-wide manager bookkeeping. ``latest`` is what a thread with no manager uses."""

    lock: ClassVar[threading.RLock] = threading.RLock()
    open: ClassVar[list[ModelManager]] = []
    default: ClassVar[ModelManager | None] = None
    latest: ClassVar[ModelManager | None] = None
    overlay: ClassVar[Any] = None  # the active daidai.overlay.Overlay, if any

    @classmethod
    def refresh_latest(cls) -> None:
        cls.latest = cls.open[-1] if cls.open else cls.default


def current_manager() -> ModelManager:
    """The manager that serves a call made here and now (see the module docstring)."""
    manager = _current.get()
    while manager is not None and manager.closed:
        manager = manager.parent
    if manager is not None:
        return manager
    with _Process.lock:
        if _Process.open:
            return _Process.open[-1]
        if _Process.default is None or _Process.default.closed:
            _Process.default = ModelManager(namespace="default", _process_default=True)
            _Process.refresh_latest()
        return _Process.default


def _innermost_in_context() -> ModelManager | None:
    manager = _current.get()
    while manager is not None and manager.closed:
        manager = manager.parent
    return manager


PreloadSpec = Iterable[Any] | Mapping[Any, Mapping[str, Any]]


class ModelManager:
    """Builds, shares and tears down artifacts; a (sync or async) context manager.

    ``preload``: components to build now, a list or ``{component: config}`` (which also
    configures them). ``config``: ``{component: {...}}`` configuration that reaches every
    dependent, without preloading. ``overrides``: ``{component or name: value}`` used instead of
    building. ``plugins``: plugin objects or module names whose hooks apply within this manager
    and those nested in it. Constructing a manager makes it current until :meth:`close`;
    ``with`` closes it.
    """

    def __init__(
        self,
        preload: PreloadSpec = (),
        *,
        namespace: str = "default",
        config: Mapping[Any, Mapping[str, Any]] | None = None,
        overrides: Mapping[Any, Any] | None = None,
        plugins: Iterable[object] = (),
        _process_default: bool = False,
    ) -> None:
        self.namespace = namespace
        self.serial = next(_serials)
        self.closed = False
        self.parent = None if _process_default else _innermost_in_context()
        self.depth: int = 1 if self.parent is None else self.parent.depth + 1
        self.store = Store(f"ModelManager(namespace={namespace!r})", self.depth)
        self._children: list[ModelManager] = []
        self._config: dict[Component, dict[str, Any]] = {}
        self._claimed: set[Component] = set()
        self._overrides: dict[Component, Any] = {}
        self._overrides_by_name: dict[str, Any] = {}
        # Warm caches read by the generated predictor and artifact wrappers (daidai.calls).
        self._warm: dict[Component, tuple[Any, ...]] = {}
        self._warm_framed: dict[Component, tuple[tuple[str, Any], ...]] = {}
        self._warm_artifacts: dict[Component, Any] = {}
        self._close_lock = threading.Lock()
        # Plugin managers: this manager's own (when plugins= is given), else its parent's,
        # else the process-wide one; plus derivations for daidai_conf.py hooks.
        inherited = self.parent._plugins if self.parent is not None else None
        plugins = tuple(plugins)
        self._plugins: DaidaiPluginManager | None = (
            (inherited or plugin_manager()).derive(plugins, layer="manager")
            if plugins
            else inherited
        )
        self._conf_plugins: dict[tuple[object, ...], DaidaiPluginManager] = {}
        self._plugins_by_component: dict[Component, tuple[int, DaidaiPluginManager]] = {}

        preload_items = self._parse_preload(preload)
        for component, cfg in (config or {}).items():
            self._configure(_as_component(component, "config"), cfg)
        for component, cfg in preload_items:
            if cfg:
                self._configure(component, cfg)
            self._claimed.add(component)
        for key, value in (overrides or {}).items():
            if isinstance(key, str):
                if not any(c.name == key or c.id == key for c in registry.components()):
                    raise registry.not_found(key, wanted_by="ModelManager(overrides=...)")
                self._overrides_by_name[key] = value
            else:
                self._overrides[_as_component(key, "overrides")] = value
        self._pending_preload = [component for component, _ in preload_items]

        if _process_default:
            return
        if self.parent is not None:
            self.parent._children.append(self)
        _current.set(self)
        with _Process.lock:
            _Process.open.append(self)
            _Process.refresh_latest()
        if aio.running_loop() is None or not self._needs_async(self._pending_preload):
            self._preload_now()

    # ------------------------------------------------------------------ configuration lookups
    def lineage(self) -> tuple[ModelManager, ...]:
        """This manager and its open ancestors, innermost first."""
        chain: list[ModelManager] = []
        manager: ModelManager | None = self
        while manager is not None:
            if not manager.closed or manager is self:
                chain.append(manager)
            manager = manager.parent
        return tuple(chain)

    def config_for(self, component: Component) -> Mapping[str, Any] | None:
        return self._config.get(component)

    def claims(self, component: Component) -> bool:
        return component in self._claimed

    def override_for(self, component: Component) -> Any:
        value = self._overrides.get(component, MISSING)
        if value is MISSING and self._overrides_by_name:
            value = self._overrides_by_name.get(component.name, MISSING)
            if value is MISSING:
                value = self._overrides_by_name.get(component.id, MISSING)
        return value

    # ------------------------------------------------------------------------------ loading
    def load(self, component: Any, /, **config: Any) -> Any:
        """The instance of artifact ``component`` (the function or its name) in this manager."""
        target = _as_component(component, "load")
        if target.kind == "predictor":
            self._preload_predictor(target)
            return target.wrapper
        self._check_open()
        planner = Planner(self, _call_frame.get())
        plan = planner.reference(
            target, annotation_config={}, direct_config=config, dependent=None, chain=()
        )
        return realize_sync(plan, target.name)

    async def aload(self, component: Any, /, **config: Any) -> Any:
        """Like :meth:`load`, awaiting async artifacts on the running loop."""
        target = _as_component(component, "aload")
        if target.kind == "predictor":
            await self._apreload_predictor(target)
            return target.wrapper
        self._check_open()
        planner = Planner(self, _call_frame.get())
        plan = planner.reference(
            target, annotation_config={}, direct_config=config, dependent=None, chain=()
        )
        return await realize_async(plan)

    def _preload_predictor(self, predictor: Component) -> None:
        self._check_open()
        for plan in plan_preload(Planner(self, None), predictor):
            realize_sync(plan, predictor.name)

    async def _apreload_predictor(self, predictor: Component) -> None:
        self._check_open()
        for plan in plan_preload(Planner(self, None), predictor):
            await realize_async(plan)

    def _preload_now(self) -> None:
        pending, self._pending_preload = self._pending_preload, []
        try:
            for component in pending:
                self.load(component, **(self._config.get(component) or {}))
        except BaseException:
            self._abort()
            raise

    async def _apreload_now(self) -> None:
        pending, self._pending_preload = self._pending_preload, []
        try:
            for component in pending:
                await self.aload(component, **(self._config.get(component) or {}))
        except BaseException:
            await self._aabort()
            raise

    def _needs_async(self, components: Iterable[Component]) -> bool:
        seen: set[Component] = set()
        stack = list(components)
        while stack:
            component = stack.pop()
            if component in seen:
                continue
            seen.add(component)
            if component.is_async:
                return True
            stack.extend(d.target for d in component.spec.dependencies)
        return False

    def _check_open(self) -> None:
        if self.closed:
            raise DaidaiError(
                f"{self!r} is closed; create a new ModelManager to load components again"
            )

    # ------------------------------------------------------------------------ context manager
    def __enter__(self) -> ModelManager:
        if self._pending_preload:
            self._preload_now()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.close()
        except TeardownError as teardown:
            if exc is None:
                raise
            _attach(exc, teardown)

    async def __aenter__(self) -> ModelManager:
        if self._pending_preload:
            await self._apreload_now()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.aclose()
        except TeardownError as teardown:
            if exc is None:
                raise
            _attach(exc, teardown)

    # --------------------------------------------------------------------------------- closing
    def _begin_close(self) -> list[ModelManager] | None:
        """Mark closed and detach; return open children to close first, or None if closed."""
        with self._close_lock:
            if self.closed:
                return None
            self.closed = True
        with _Process.lock:
            if self in _Process.open:
                _Process.open.remove(self)
            if _Process.default is self:
                _Process.default = None
            _Process.refresh_latest()
        if _current.get() is self:
            parent = self.parent
            while parent is not None and parent.closed:
                parent = parent.parent
            _current.set(parent)
        self.drop_warm_caches()
        if self.parent is not None:  # a long-lived parent must not keep closed children
            with contextlib.suppress(ValueError):
                self.parent._children.remove(self)
        return [child for child in reversed(self._children) if not child.closed]

    def close(self) -> None:
        """Tear down every instance this manager built, dependents first. Idempotent.

        Every finalizer runs even if some fail; failures are raised together as a
        :class:`~daidai.errors.TeardownError` (an ``ExceptionGroup``).
        """
        children = self._begin_close()
        if children is None:
            return
        errors: list[Exception] = []
        for child in children:
            try:
                child.close()
            except TeardownError as err:
                errors.extend(err.exceptions)
        errors.extend(self.store.close())
        self._raise_teardown(errors)

    async def aclose(self) -> None:
        """Like :meth:`close`, awaiting async teardown on the running loop."""
        children = self._begin_close()
        if children is None:
            return
        errors: list[Exception] = []
        for child in children:
            try:
                await child.aclose()
            except TeardownError as err:
                errors.extend(err.exceptions)
        errors.extend(await self.store.aclose())
        self._raise_teardown(errors)

    def _raise_teardown(self, errors: list[Exception]) -> None:
        if errors:
            raise TeardownError(f"{len(errors)} teardown(s) failed while closing {self!r}", errors)

    def _abort(self) -> None:
        try:
            self.close()
        except TeardownError as teardown:
            logger.error("teardown after a failed preload also failed: %r", teardown)

    async def _aabort(self) -> None:
        try:
            await self.aclose()
        except TeardownError as teardown:
            logger.error("teardown after a failed preload also failed: %r", teardown)

    def _close_at_exit(self) -> None:
        try:
            self.close()
        except Exception:
            logger.exception("daidai: teardown at interpreter exit failed")

    # --------------------------------------------------------------------------------- helpers
    def _parse_preload(self, preload: PreloadSpec) -> list[tuple[Component, Mapping[str, Any]]]:
        if isinstance(preload, Mapping):
            return [(_as_component(k, "preload"), v or {}) for k, v in preload.items()]
        if isinstance(preload, (str, bytes)) or component_of(preload) is not None:
            raise ConfigError(
                "ModelManager(preload=...) takes a list of components or a "
                "{component: config} mapping; wrap a single component in a list"
            )
        return [(_as_component(item, "preload"), {}) for item in preload]

    def _configure(self, component: Component, config: Mapping[str, Any]) -> None:
        if not isinstance(config, Mapping):
            raise ConfigError(
                f"configuration for {component.label} must be a mapping of parameter names to "
                f"values, got {type(config).__name__}"
            )
        bad_keys = [key for key in config if not isinstance(key, str)]
        if bad_keys:
            raise ConfigError(
                f"configuration keys for {component.label} must be parameter names (strings); "
                f"got {', '.join(map(repr, bad_keys))}"
            )
        if component.kind == "predictor":
            raise ConfigError(
                f"{component.label} is a predictor; predictors take inputs, not configuration. "
                "Configure the artifacts it depends on instead."
            )
        merged = dict(self._config.get(component) or {})
        merged.update(config)
        self._config[component] = merged
        self._claimed.add(component)

    def plugins_for(self, component: Component) -> DaidaiPluginManager:
        """The plugin manager whose hooks apply to ``component`` in this manager: the
        process-wide plugins, this manager's ``plugins=`` and its ancestors', and the hooks of
        the ``daidai_conf.py`` files at or above the component's directory."""
        base = self._plugins or plugin_manager()
        cached = self._plugins_by_component.get(component)
        if cached is not None and cached[0] == base.version:
            return cached[1]
        confs = discovery.hook_confs_for(component)
        found = base
        if confs:
            key = (base.version, *confs)
            derived = self._conf_plugins.get(key)
            if derived is None:
                derived = base.derive([conf.module for conf in confs], layer="conf")
                self._conf_plugins[key] = derived
            found = derived
        self._plugins_by_component[component] = (base.version, found)
        return found

    @staticmethod
    def overlay_now() -> Any:
        """The active test overlay (``daidai.overlay``), if any."""
        return _Process.overlay

    def drop_warm_caches(self) -> None:
        """Forget resolved values cached for warm calls (they are rebuilt on next use)."""
        self._warm.clear()
        self._warm_framed.clear()
        self._warm_artifacts.clear()

    def instances(self) -> int:
        """How many instances this manager holds (its own, not its parents')."""
        return len(self.store)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<ModelManager namespace={self.namespace!r} {state} depth={self.depth}>"


def _as_component(obj: Any, where: str) -> Component:
    if isinstance(obj, Component):
        return obj
    if isinstance(obj, str):
        return registry.by_name(obj)
    component = component_of(obj)
    if component is None:
        raise ConfigError(
            f"{where}: {obj!r} is not a daidai component; decorate it with @artifact or "
            "@predictor, or pass its name"
        )
    return component


def _attach(exc: BaseException, teardown: TeardownError) -> None:
    """Keep the ``with`` body's exception; record the teardown failures on it."""
    for error in teardown.exceptions:
        exc.add_note(f"daidai: teardown also failed: {type(error).__name__}: {error}")
    logger.error("daidai: teardown failed after an exception in the with-block: %r", teardown)


def drop_every_warm_cache(*_: object) -> None:
    """Every open manager forgets its warm caches (plugins or test overrides changed)."""
    with _Process.lock:
        managers = [*_Process.open, *([_Process.default] if _Process.default else [])]
    for manager in managers:
        manager.drop_warm_caches()


change_listeners.append(drop_every_warm_cache)


@atexit.register
def _close_open_managers() -> None:
    """At interpreter exit, close managers left open (newest first), then the default one."""
    with _Process.lock:
        still_open = list(reversed(_Process.open))
        default = _Process.default
    for manager in still_open:
        manager._close_at_exit()
    if default is not None:
        default._close_at_exit()
