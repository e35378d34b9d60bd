"""The daidai pytest plugin (``pytest11`` entry point ``daidai``; DESIGN.md 6).

* **Artifacts are fixtures.** Every artifact defined by the end of collection (application
  code, conftests, test modules) is a fixture of its name. Scopes: daidai ``session`` -> pytest
  ``session``; ``namespace`` -> ini ``daidai_namespace_scope`` (``session`` by default, or
  ``package``, ``module``, ``class``, ``function``); ``call`` -> ``function`` (the test is one
  call scope that its predictor calls join). A ``daidai_conf.py`` definition is the fixture
  for the tests in its directory and below.
* **Fixtures override artifacts.** A pytest fixture named like an artifact, defined in a
  conftest, a test module or a test class, replaces it for everything resolved during each test
  that sees it: fixtures, predictors called from the test body, threads the test starts, and
  artifacts built on it. Fixtures of pytest and of other plugins never count.
* Each test gets fresh temporary ``DAIDAI_HOME`` and ``DAIDAI_CACHE_DIR``.
* ``--daidai-show`` prints artifact setups and teardowns like ``--setup-show``.

Design. A generated fixture holds no value of its own: it asks daidai (``ModelManager.load``)
and daidai caches by its own scopes, in managers this plugin opens lazily (one for the session,
one per scope node when ``namespace`` maps to a narrower scope) and closes as finalizers of that
node, so teardown errors are errors of the test being torn down. Overrides go through
:mod:`daidai.overlay`: an autouse fixture activates an overlay with the overriding fixtures'
values for the test; daidai resolves those names to them in every thread and manager, builds
their dependents in the overlay's store and tears those down when the test ends. pytest must
not cache such dependents either: on each module or class that sees an override, every
generated fixture whose dependency closure contains an overridden name is registered again as a
*function-scoped* fixture resolved inside the overlay. So the ``pipeline`` a test receives is
the one its predictors use, and a session-cached ``pipeline`` never carries a fake into another
test (where an override applies, a session-scoped user fixture cannot request such a
dependent: pytest reports the scope mismatch).

Limits. Only names registered by the end of collection count (artifacts defined in test bodies
are neither fixtures nor overridable). A name already used by a plugin fixture (``cache``,
``tmp_path``...) stays the plugin's; a root-conftest fixture shadows the generated one and so
cannot request it as its "super" fixture.

This module imports nothing from daidai at import time; daidai is imported inside hooks and
fixtures. Python runs ``daidai/__init__.py`` first, as the parent package, and that file loads
its names lazily, so coverage measured by a later plugin still sees the core's import.
"""

from __future__ import annotations

import inspect
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytest

if TYPE_CHECKING:
    from daidai.component import Component
    from daidai.manager import ModelManager

ScopeName = Literal["session", "package", "module", "class", "function"]
SCOPES: tuple[ScopeName, ...] = ("session", "package", "module", "class", "function")
_GENERATED = "_daidai_generated"
_STATE = pytest.StashKey["DaidaiPytest"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("daidai")
    group.addoption(
        "--daidai-show",
        action="store_true",
        default=False,
        help="show daidai artifact setups and teardowns (like --setup-show)",
    )
    parser.addini(
        "daidai_namespace_scope",
        default="session",
        help=f"pytest scope of namespace-scoped artifact fixtures: one of {', '.join(SCOPES)}",
    )


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(pytest, "register_fixture"):  # pytest < 9.1
        config.issue_config_time_warning(
            pytest.PytestConfigWarning(
                "daidai's pytest plugin needs pytest >= 9.1 (pytest.register_fixture); "
                f"pytest {pytest.__version__} is installed, so artifacts are not fixtures and "
                "fixtures do not override them. Upgrade pytest, or disable the plugin with "
                "-p no:daidai."
            ),
            stacklevel=2,
        )
        return
    scope = str(config.getini("daidai_namespace_scope")).strip() or "session"
    if scope not in SCOPES:
        raise pytest.UsageError(
            f"daidai_namespace_scope = {scope!r}; use one of {', '.join(SCOPES)}"
        )
    state = DaidaiPytest(config, scope)
    config.stash[_STATE] = state
    config.pluginmanager.register(state, "daidai-fixtures")


def _daidai_loaded() -> bool:
    """Whether daidai's core is imported (nothing to generate or override otherwise)."""
    return "daidai.registry" in sys.modules


def _conf_files_above(path: Path, root: Path) -> bool:
    """Whether a ``daidai_conf.py`` sits next to or above ``path`` (up to the rootdir): its
    definitions are fixtures even where no test module imported daidai yet."""
    directory = path if path.is_dir() else path.parent
    for candidate in (directory, *directory.parents):
        if (candidate / "daidai_conf.py").is_file():
            return True
        if candidate == root:
            break
    return False


def _components() -> list[Component]:
    from daidai import registry

    return list(registry.components())


def _artifacts() -> list[Component]:
    return [c for c in _components() if c.kind == "artifact"]


def _requesting(names: list[str]) -> Callable[..., None]:
    """A fixture function that requests the fixtures ``names`` and does nothing else."""

    def daidai_overrides(**fixtures: Any) -> None:
        return None

    parameter = inspect.Parameter.POSITIONAL_OR_KEYWORD
    daidai_overrides.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(name, parameter) for name in names]
    )
    return daidai_overrides


class DaidaiPytest:
    """Per-run state: generated fixtures, the managers opened for tests, ``--daidai-show``."""

    def __init__(self, config: pytest.Config, namespace_scope: ScopeName) -> None:
        self.config = config
        self.namespace_scope = namespace_scope
        self.session: pytest.Session | None = None
        self.names: set[str] = set()
        """Artifact names known at collection time: the fixtures and overridable names."""
        self._session_level: set[str] = set()
        self._synced: set[object] = set()
        self._visible: dict[tuple[object, int], list[str]] = {}
        self._managers: dict[object, ModelManager] = {}
        self._frames: dict[object, Any] = {}
        self._show: object | None = None
        self._write_lock = threading.Lock()

    # ------------------------------------------------------------------ pytest hooks
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.session = session
        if self.config.option.daidai_show:
            from daidai.plugins import plugin_manager

            self._show = _show_plugin(self)
            plugin_manager().register(self._show, name="pytest-daidai-show", layer="manager")

    def pytest_sessionfinish(self) -> None:
        if self._show is not None:
            from daidai.plugins import plugin_manager

            pm = plugin_manager()
            if pm.is_registered(self._show):
                pm.unregister(self._show)
            self._show = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_pycollect_makeitem(self, collector: pytest.Collector) -> None:
        """The first time a module or class is collected (its fixtures are parsed, its
        functions not yet turned into items): make fixtures of the artifacts known by now."""
        if collector not in self._synced and (
            _daidai_loaded() or _conf_files_above(collector.path, self.config.rootpath)
        ):
            self._synced.add(collector)
            self._sync_session()
            if isinstance(collector, pytest.Module):
                self._sync_confs(collector)
            self._sync_dependents(collector)

    def pytest_collection_finish(self) -> None:
        if _daidai_loaded():
            self._sync_session()  # late definitions are found when first requested

    # ------------------------------------------------------------ fixture registration
    def _fixturedefs(self, name: str, node: pytest.Collector | pytest.Item) -> list[Any]:
        assert self.session is not None
        return list(self.session._fixturemanager.getfixturedefs(name, node) or ())

    def _is_user(self, fixturedef: Any) -> bool:
        """A fixture from a conftest, test module or test class (not pytest's, not ours)."""
        if getattr(fixturedef.func, _GENERATED, False):
            return False
        node = getattr(fixturedef, "node", None)
        if node is not None and node is not self.session:
            return True  # a sub-directory conftest, a module or a class
        if node is None and fixturedef.baseid:
            return True
        code = getattr(fixturedef.func, "__code__", None)
        return code is not None and Path(code.co_filename).name == "conftest.py"

    def _scope_of(self, component: Component) -> ScopeName:
        label = component.scope.label
        if label == "session":
            return "session"
        return self.namespace_scope if label == "namespace" else "function"

    def _register(self, name: str, node: Any, scope: ScopeName, bound: Any, dynamic: bool) -> None:
        fixture = self._fixture_function(name, dynamic=dynamic, bound=bound)
        pytest.register_fixture(name=name, func=fixture, node=node, scope=scope)

    def _sync_session(self) -> None:
        session = self.session
        assert session is not None
        for component in _artifacts():
            name = component.name
            if Path(component.path).name == "daidai_conf.py" or name in self._session_level:
                continue
            self.names.add(name)
            self._session_level.add(name)
            if self._fixturedefs(name, session):
                continue  # a plugin or the root conftest already owns this name
            scopes = [self._scope_of(c) for c in _artifacts() if c.name == name]
            self._register(name, session, max(scopes, key=SCOPES.index), None, False)

    def _sync_confs(self, module: pytest.Module) -> None:
        """Definitions in ``daidai_conf.py`` files are fixtures for their directory and below."""
        from daidai import discovery

        directories = {
            node.path: node for node in module.listchain() if isinstance(node, pytest.Directory)
        }
        for conf in reversed(discovery.confs_for(module.path)):  # farthest first
            node = directories.get(conf.directory, self.session)
            assert node is not None
            if conf.path in self._synced:
                continue
            self._synced.add(conf.path)
            for name, component in conf.components.items():
                if component.kind != "artifact":
                    continue
                self.names.add(name)
                if any(self._is_user(d) for d in self._fixturedefs(name, node)):
                    continue  # a pytest fixture overrides the conf definition
                self._register(name, node, self._scope_of(component), component, False)

    def overrides_visible(self, node: pytest.Collector | pytest.Item) -> list[str]:
        """Artifact names whose closest fixture at ``node`` is a user-defined one."""
        holder = node.parent if isinstance(node, pytest.Item) else node  # items define none
        key = (holder, len(self.names))
        found = self._visible.get(key)
        if found is None:
            found = self._visible[key] = [
                name
                for name in sorted(self.names)
                if (defs := self._fixturedefs(name, node)) and self._is_user(defs[-1])
            ]
        return found

    def _sync_dependents(self, collector: pytest.Collector) -> None:
        """Where overrides are visible, dependents of them become function-scoped fixtures."""
        names = self.overrides_visible(collector)
        if not names:
            return
        # The overriding fixtures join every item's closure, so parametrized ones work.
        pytest.register_fixture(
            name="_daidai_overrides", func=_requesting(names), node=collector, autouse=True
        )
        overridden = set(names)
        by_name: dict[str, list[Component]] = {}
        for component in _components():
            by_name.setdefault(component.name, []).append(component)
        for name in sorted(self.names - overridden):
            defs = self._fixturedefs(name, collector)
            if not defs or getattr(defs[-1].func, _GENERATED, None) != "static":
                continue  # not ours, or already function-scoped and overlay-aware
            closure = _closure(name, by_name)
            if closure is None or closure & overridden:
                bound = getattr(defs[-1].func, "_daidai_bound", None)
                self._register(name, collector, "function", bound, True)

    def _fixture_function(
        self, name: str, *, dynamic: bool, bound: Component | None
    ) -> Callable[..., Any]:
        def artifact_fixture(request: pytest.FixtureRequest) -> Any:
            return self.value(name, request, bound)

        def overlaid_artifact_fixture(request: pytest.FixtureRequest, _daidai_test: None) -> Any:
            return self.value(name, request, bound)

        fixture: Callable[..., Any] = overlaid_artifact_fixture if dynamic else artifact_fixture
        setattr(fixture, _GENERATED, "dynamic" if dynamic else "static")
        setattr(fixture, "_daidai_bound", bound)  # noqa: B010
        origin = f" defined at {bound.location}" if bound is not None else ""
        fixture.__doc__ = f"The daidai artifact {name!r}{origin} (generated by daidai)."
        return fixture

    # ------------------------------------------------------------------------ values
    def value(self, name: str, request: pytest.FixtureRequest, bound: Component | None) -> Any:
        """The instance of artifact ``name`` that the requesting test's predictors would use."""
        component = bound if bound is not None else _by_name(name)
        if component.scope.label == "call":
            self._call_frame(request)
        node = None
        if component.scope.label == "namespace" and self.namespace_scope != "session":
            # the node pytest caches this fixture on, or for an overlay-aware (function-scoped)
            # fixture the one the plain fixture would use
            static = request.scope == self.namespace_scope
            node = request.node if static else _scope_node(request.node, self.namespace_scope)
        return self.manager(node).load(component)

    def manager(self, node: Any = None) -> ModelManager:
        """The plugin's manager for ``node`` (``None``: the session), opened on first use and
        closed when pytest tears that node down."""
        from daidai import ModelManager

        if node is self.session:
            node = None
        if node is not None:
            self.manager()  # nest scope managers in the session one
        manager = self._managers.get(node)
        if manager is None or manager.closed:
            assert self.session is not None
            label = "pytest" if node is None else f"pytest:{node.nodeid or '<session>'}"
            manager = self._managers[node] = ModelManager(namespace=label)
            (node or self.session).addfinalizer(manager.close)
        return manager

    def _call_frame(self, request: pytest.FixtureRequest) -> None:
        """Open one call scope for the whole test (its predictor calls join it)."""
        from daidai.manager import _call_frame
        from daidai.resolve import CallFrame

        item = request.node
        if item in self._frames:
            return
        frame = CallFrame(f"test {item.nodeid}")
        token = _call_frame.set(frame)
        self._frames[item] = frame

        def close() -> None:
            del self._frames[item]
            _call_frame.reset(token)
            errors = frame.store.close() if frame.store is not None else []
            if errors:
                from daidai.errors import TeardownError

                raise TeardownError(f"call-scoped teardown failed after {item.nodeid}", errors)

        item.addfinalizer(close)

    # ---------------------------------------------------------------------- show
    def show(self, action: str, component: Component, config: Any) -> None:
        """Write one ``--daidai-show`` line, indented by pytest scope like ``--setup-show``."""
        line = " " * 2 * SCOPES.index(self._scope_of(component))
        line += f"{action:<8} artifact {component.name}"
        if action == "SETUP":
            line += f" ({component.scope.label})" + (f" {dict(config)!r}" if config else "")
        capman = self.config.pluginmanager.getplugin("capturemanager")
        with self._write_lock:
            if capman:
                capman.suspend_global_capture()
            try:
                writer = self.config.get_terminal_writer()
                writer.line()
                writer.write(line, flush=True)
            finally:
                if capman:
                    capman.resume_global_capture()


@pytest.fixture(autouse=True)
def _daidai_test(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[None]:
    """Isolate daidai's directories and apply this test's artifact overrides (an overlay)."""
    monkeypatch.setenv("DAIDAI_HOME", str(tmp_path_factory.mktemp("daidai-home")))
    monkeypatch.setenv("DAIDAI_CACHE_DIR", str(tmp_path_factory.mktemp("daidai-cache")))
    state = request.config.stash.get(_STATE, None)
    if state is None:  # the plugin disabled itself (pytest too old)
        yield
        return
    names = state.overrides_visible(request.node) if _daidai_loaded() else []
    if not names:
        yield
        return
    values = {name: request.getfixturevalue(name) for name in names}
    from daidai import overlay

    layer = overlay.activate(values, request.node.nodeid)
    try:
        yield
    finally:
        layer.close()


def _by_name(name: str) -> Component:
    from daidai import registry

    found = [c for c in _artifacts() if c.name == name and Path(c.path).name != "daidai_conf.py"]
    return found[0] if len(found) == 1 else registry.by_name(name)


def _closure(name: str, by_name: dict[str, list[Component]]) -> set[str] | None:
    """Names every definition called ``name`` may reach (``None`` if a signature cannot be
    read yet: then it may depend on anything)."""
    names: set[str] = set()
    stack = list(by_name.get(name, ()))
    seen: set[Component] = set()
    while stack:
        component = stack.pop()
        if component in seen:
            continue
        seen.add(component)
        try:
            dependencies = component.spec.dependencies
        except Exception:
            return None
        for dependency in dependencies:
            names.add(dependency.target.name)
            stack.extend(by_name.get(dependency.target.name, [dependency.target]))
    return names


def _scope_node(item: Any, scope: ScopeName) -> Any:
    """The node pytest would cache a ``scope``-scoped fixture of ``item`` on (None: session)."""
    if scope == "function":
        return item
    kind = {"package": pytest.Package, "module": pytest.Module, "class": pytest.Class}[scope]
    return item.getparent(kind) or (item if scope == "class" else None)


def _show_plugin(state: DaidaiPytest) -> object:
    """A daidai plugin that reports artifact setups and teardowns to the terminal."""
    from daidai.lifecycle import ArtifactSetup, ArtifactTeardown
    from daidai.plugins import hookimpl

    class Show:
        @hookimpl(wrapper=True)
        def daidai_artifact_setup(self, setup: ArtifactSetup) -> Iterator[None]:
            state.show("SETUP", setup.component, setup.config)
            return (yield)

        @hookimpl(wrapper=True)
        def daidai_artifact_teardown(self, teardown: ArtifactTeardown) -> Iterator[None]:
            state.show("TEARDOWN", teardown.component, None)
            return (yield)

    return Show()
