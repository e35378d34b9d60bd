"""Planning a request: which instances it needs, who owns them, which already exist.

Planning is pure bookkeeping and the same for sync and async callers: it applies overrides
(manager, test overlay, ``daidai_conf.py``), merges configuration, checks scopes and cycles,
computes each instance's identity, finds the store that should own it and reuses any instance
already built. :mod:`daidai.realize` then builds what is missing.

An instance's identity is ``(component, configuration, dependency identities, claim)``, where
*claim* is the innermost manager that preloads or configures the component: an inner manager that
asks for its own ``model`` gets its own, and so does every dependent built on it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection, Hashable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from daidai import discovery
from daidai.component import Component
from daidai.errors import ConfigError, CycleError, DaidaiError, ScopeMismatch, chain_text
from daidai.hashing import config_key
from daidai.scope import Scope
from daidai.store import MISSING, Store

if TYPE_CHECKING:
    from daidai.manager import ModelManager
    from daidai.overlay import Overlay
    from daidai.plugins import DaidaiPluginManager

CALL_DEPTH = 1 << 30  # call stores outlive no manager: deeper than any manager


@attrs.define(slots=True, eq=False)
class Ready:
    """A value known without building: an existing instance, an override or a predictor."""

    value: Any
    key: Hashable
    depth: int


@attrs.define(slots=True, eq=False)
class Node:
    """An instance to build: what, with which configuration, where it will live."""

    component: Component
    config: dict[str, Any]
    key: Hashable
    store: Store
    deps: list[tuple[str, Node | Ready]]
    requested_by: tuple[Component, ...]
    """The components that led here, this one last (names computed only for messages)."""
    plugins: DaidaiPluginManager

    @property
    def chain(self) -> tuple[str, ...]:
        """``("classify", "model", "weights")``: the request chain, for error messages."""
        return tuple(c.name for c in self.requested_by)

    @property
    def depth(self) -> int:
        return self.store.depth


class CallFrame:
    """The call-scoped store of one outermost predictor call, created on first need."""

    __slots__ = ("label", "on_first_store", "store")

    def __init__(self, label: str) -> None:
        self.label = label
        self.store: Store | None = None
        self.on_first_store: Callable[[CallFrame], None] | None = None

    def get_store(self) -> Store:
        if self.store is None:
            self.store = Store(f"call of {self.label}", CALL_DEPTH)
            if self.on_first_store is not None:
                self.on_first_store(self)
        return self.store


class Planner:
    """Plans references from one manager's point of view (see the module docstring)."""

    def __init__(self, manager: ModelManager, frame: CallFrame | None) -> None:
        self.manager = manager
        self.frame = frame
        self.chain_managers = manager.lineage()  # innermost first
        self._memo: dict[Hashable, Node | Ready] = {}
        self.uses_call_scope = False
        self.uses_overlay = False
        self.overlay: Overlay | None = type(manager).overlay_now()

    def reference(
        self,
        component: Component,
        *,
        annotation_config: Mapping[str, Any],
        direct_config: Mapping[str, Any],
        dependent: Component | None,
        chain: tuple[Component, ...],
    ) -> Node | Ready:
        """Plan ``component`` as requested by ``dependent`` (``None`` for a direct request)."""
        if len(chain) > 1:
            return self._reference(component, annotation_config, direct_config, dependent, chain)
        try:
            return self._reference(component, annotation_config, direct_config, dependent, chain)
        except RecursionError:
            raise too_deep(component) from None

    def _reference(
        self,
        component: Component,
        annotation_config: Mapping[str, Any],
        direct_config: Mapping[str, Any],
        dependent: Component | None,
        chain: tuple[Component, ...],
    ) -> Node | Ready:
        override = self._override(component)
        if override is not None:
            return override
        if dependent is not None:
            component = discovery.effective(dependent, component)
        if component in chain:
            path = [c.name for c in chain[chain.index(component) :]] + [component.name]
            raise CycleError(
                f"dependency cycle: {chain_text(path)}. Break it by removing one of these "
                "dependencies. Components involved:\n"
                + "\n".join(f"  - {c.label}" for c in chain[chain.index(component) :])
            )
        if component.kind == "predictor":
            return Ready(component.wrapper, ("predictor", component), 0)
        if dependent is not None and dependent.kind == "artifact":
            _check_scope(dependent, component)
        memo_key = (component, config_key(annotation_config), config_key(direct_config))
        planned = self._memo.get(memo_key)
        if planned is None:
            planned = self._plan(component, annotation_config, direct_config, chain)
            self._memo[memo_key] = planned
        return planned

    def _override(self, component: Component) -> Ready | None:
        """Call-independent overrides, first match wins: managers innermost first, then the
        test overlay (by name)."""
        for manager in self.chain_managers:
            found = manager.override_for(component)
            if found is not MISSING:
                return Ready(found, ("override", manager.serial, component.id), manager.depth)
        overlay = self.overlay
        if overlay is not None and component.name in overlay.overrides:
            self.uses_overlay = True
            return Ready(
                overlay.overrides[component.name],
                ("overlay", overlay.serial, component.name),
                overlay.store.depth,
            )
        return None

    def _plan(
        self,
        component: Component,
        annotation_config: Mapping[str, Any],
        direct_config: Mapping[str, Any],
        chain: tuple[Component, ...],
    ) -> Node | Ready:
        config, config_depth = self._merge_config(component, annotation_config, direct_config)
        claimer = next((m for m in self.chain_managers if m.claims(component)), None)
        inner_chain = (*chain, component)
        deps: list[tuple[str, Node | Ready]] = []
        for dependency in component.spec.dependencies:
            deps.append(
                (
                    dependency.param,
                    self.reference(
                        dependency.target,
                        annotation_config=dependency.config,
                        direct_config={},
                        dependent=component,
                        chain=inner_chain,
                    ),
                )
            )
        key = InstanceKey(
            component,
            config_key(config),
            tuple(dep.key for _, dep in deps),
            claimer.serial if claimer is not None else None,
        )
        depth = max(
            [config_depth, claimer.depth if claimer is not None else 0]
            + [dep.depth for _, dep in deps]
        )
        store = self._home(component, depth, inner_chain)
        found = self._lookup(component, key, claimer)
        if found is not None:
            return found
        return Node(
            component,
            config,
            key,
            store,
            deps,
            inner_chain,
            self.manager.plugins_for(component),
        )

    def _merge_config(
        self,
        component: Component,
        annotation_config: Mapping[str, Any],
        direct_config: Mapping[str, Any],
    ) -> tuple[dict[str, Any], int]:
        """Merge per key, lowest first: signature defaults, annotation, outer to inner managers,
        a direct call's keywords. Returns the config and the depth of the deepest manager that
        contributed (instances never outlive the manager that configured them)."""
        spec = component.spec
        merged: dict[str, Any] = {
            name: p.default for name, p in spec.config_params.items() if p.default is not p.empty
        }
        merged.update(annotation_config)
        depth = 0
        for manager in reversed(self.chain_managers):
            configured = manager.config_for(component)
            if configured:
                merged.update(configured)
                depth = manager.depth
        merged.update(direct_config)
        self._validate_config(component, merged)
        return merged, depth

    def _validate_config(self, component: Component, config: Mapping[str, Any]) -> None:
        spec = component.spec
        injected = spec.dependency_params
        clashing = sorted(k for k in config if k in injected)
        if clashing:
            raise ConfigError(
                f"{component.label}: {', '.join(map(repr, clashing))} is injected, not "
                "configured; replace it with ModelManager(overrides={...}) instead"
            )
        if not spec.accepts_any_config:
            unknown = sorted(k for k in config if k not in spec.config_params)
            if unknown:
                allowed = ", ".join(map(repr, spec.config_params)) or "none"
                raise ConfigError(
                    f"{component.label} got unknown configuration {', '.join(map(repr, unknown))}; "
                    f"it accepts: {allowed}"
                )
        missing = [
            name
            for name, p in spec.config_params.items()
            if p.default is p.empty and name not in config
        ]
        if missing:
            raise ConfigError(
                f"{component.label} needs configuration {', '.join(map(repr, missing))}; pass it "
                f"with ModelManager(config={{{component.name}: {{{missing[0]!r}: ...}}}}), in "
                f"Annotated[..., {component.name}, {{{missing[0]!r}: ...}}], or give it a default"
            )

    def _home(self, component: Component, depth: int, chain: tuple[Component, ...]) -> Store:
        if component.scope is Scope.CALL:
            if self.frame is None:
                raise ScopeMismatch(
                    f"{component.label} is call-scoped and was requested outside any predictor "
                    f"call (chain: {chain_text(c.name for c in chain)}). Request it from a "
                    "predictor, or give it scope='namespace'."
                )
            self.uses_call_scope = True
            return self.frame.get_store()
        if self.overlay is not None and depth == self.overlay.store.depth:
            return self.overlay.store  # built on a test override: dies with the test
        managers = self.chain_managers
        home = managers[-1] if component.scope is Scope.SESSION else managers[0]
        if home.depth < depth:
            home = next(m for m in managers if m.depth == depth)
        return home.store

    def _lookup(self, component: Component, key: Hashable, claimer: Any) -> Ready | None:
        """An instance already built under ``key``, with the key it was stored under (so the
        keys of dependents share it and compare by identity)."""
        stores: list[Store] = []
        if component.scope is Scope.CALL:
            assert self.frame is not None
            stores.append(self.frame.get_store())
        else:
            if self.overlay is not None:
                stores.append(self.overlay.store)
            for manager in self.chain_managers:
                stores.append(manager.store)
                if manager is claimer:
                    break
        for store in stores:
            entry = store.entry(key)
            if entry is not None:
                return Ready(entry[1], entry[0], store.depth)
        return None


class InstanceKey:
    """The identity of an instance: ``(component, configuration, dependency keys, claim)``.

    Dependency keys nest, so a plain tuple would be hashed again down the whole chain on every
    dictionary lookup (tuples do not cache their hash). This key hashes once; keys reused from
    a store are the stored objects, so comparing a dependent's parts is an identity check.
    """

    __slots__ = ("_hash", "parts")

    def __init__(self, *parts: Hashable) -> None:
        self.parts = parts
        self._hash = hash(parts)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, InstanceKey) or other._hash != self._hash:
            return False
        return self.parts == other.parts

    def __repr__(self) -> str:
        return f"InstanceKey{self.parts!r}"


def too_deep(component: Component) -> DaidaiError:
    """The error for a dependency chain deeper than Python's recursion limit allows."""
    return DaidaiError(
        f"the dependency chain below {component.label} is too deep for Python's recursion "
        f"limit ({sys.getrecursionlimit()}); each level of dependencies takes a few frames. "
        "Raise the limit with sys.setrecursionlimit() or flatten the chain."
    )


def _check_scope(dependent: Component, dependency: Component) -> None:
    if dependency.scope < dependent.scope:
        raise ScopeMismatch(
            f"{dependent.label} is {dependent.scope.label}-scoped but depends on "
            f"{dependency.label}, which is {dependency.scope.label}-scoped and would be torn "
            f"down while {dependent.name!r} still uses it. Fix: give {dependent.name!r} "
            f"scope={dependency.scope.label!r} (or narrower), or give {dependency.name!r} "
            f"scope={dependent.scope.label!r}."
        )


def plan_dependencies(
    planner: Planner, component: Component, given: Collection[str]
) -> list[tuple[str, Node | Ready]]:
    """Plan every injected parameter of ``component`` not given by the caller."""
    plans = []
    for dependency in component.spec.dependencies:
        if dependency.param in given:
            continue
        plans.append(
            (
                dependency.param,
                planner.reference(
                    dependency.target,
                    annotation_config=dependency.config,
                    direct_config={},
                    dependent=component,
                    chain=(component,),
                ),
            )
        )
    return plans


def plan_preload(planner: Planner, component: Component) -> list[Node | Ready]:
    """Plans for everything ``component`` needs that can be built ahead of a call.

    Call-scoped artifacts only exist during a call, so preloading looks through them (and
    through injected predictors) to the longer-lived artifacts they depend on.
    """
    plans: list[Node | Ready] = []
    seen: set[Component] = set()

    def visit(current: Component, chain: tuple[Component, ...]) -> None:
        for dependency in current.spec.dependencies:
            target = dependency.target
            if target.kind == "predictor" or target.scope is Scope.CALL:
                if target in chain:
                    path = [c.name for c in chain[chain.index(target) :]] + [target.name]
                    raise CycleError(f"dependency cycle: {chain_text(path)}")
                if target not in seen:
                    seen.add(target)
                    visit(target, (*chain, target))
                continue
            plans.append(
                planner.reference(
                    target,
                    annotation_config=dependency.config,
                    direct_config={},
                    dependent=current,
                    chain=chain,
                )
            )

    visit(component, (component,))
    return plans


__all__ = [
    "CALL_DEPTH",
    "CallFrame",
    "Node",
    "Planner",
    "Ready",
    "plan_dependencies",
    "plan_preload",
    "too_deep",
]
