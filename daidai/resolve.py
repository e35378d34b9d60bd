"""Resolving a request into instances: plan first, then build what is missing.

*Planning* is pure bookkeeping and the same for sync and async callers: it applies overrides,
merges configuration, checks scopes and cycles, computes each instance's identity, finds the
store that should own it and reuses any instance already built. *Realizing* walks the plan and
builds what is missing. It is written once as a generator that yields whenever it must wait
(for another thread's build) or await (an async artifact); :func:`realize_sync` and
:func:`realize_async` drive it from either world.

An instance's identity is ``(component, configuration, dependency identities, claim)``, where
*claim* is the innermost manager that preloads or configures the component: an inner manager that
asks for its own ``model`` gets its own, and so does every dependent built on it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
import threading
from collections.abc import Callable, Collection, Generator, Hashable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from daidai import aio
from daidai.component import Component
from daidai.errors import (
    BuildError,
    ConfigError,
    CycleError,
    DaidaiError,
    ScopeMismatch,
    chain_text,
)
from daidai.hashing import config_key
from daidai.scope import Scope
from daidai.store import MISSING, Claim, Finalizer, Store

if TYPE_CHECKING:
    from daidai.manager import ModelManager

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
    chain: tuple[str, ...]

    @property
    def depth(self) -> int:
        return self.store.depth


@attrs.define(slots=True, eq=False)
class Wait:
    """Realize asks its driver to wait for another caller's build of the same instance."""

    claim: Claim
    node: Node

    @property
    def waiters(self) -> concurrent.futures.Future[Any]:
        assert self.claim.future is not None  # created for every waiter by Store.claim
        return self.claim.future


@attrs.define(slots=True, eq=False)
class Await:
    """Realize asks its driver to run a coroutine; the driver answers ``(result, loop)``."""

    coroutine: Any
    node: Node


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
        if component in chain:
            path = [c.name for c in chain[chain.index(component) :]] + [component.name]
            raise CycleError(
                f"dependency cycle: {chain_text(path)}. Break it by removing one of these "
                "dependencies. Components involved:\n"
                + "\n".join(f"  - {c.label}" for c in chain[chain.index(component) :])
            )
        if component.kind == "predictor":
            return Ready(component.wrapper, ("predictor", component), 0)
        override = self._override(component)
        if override is not None:
            return override
        if dependent is not None and dependent.kind == "artifact":
            _check_scope(dependent, component)
        memo_key = (component, config_key(annotation_config), config_key(direct_config))
        planned = self._memo.get(memo_key)
        if planned is None:
            planned = self._plan(component, annotation_config, direct_config, chain)
            self._memo[memo_key] = planned
        return planned

    def _override(self, component: Component) -> Ready | None:
        for manager in self.chain_managers:
            found = manager.override_for(component)
            if found is not MISSING:
                return Ready(found, ("override", manager.serial, component.id), manager.depth)
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
        key = (
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
        return Node(component, config, key, store, deps, tuple(c.name for c in inner_chain))

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
        managers = self.chain_managers
        home = managers[-1] if component.scope is Scope.SESSION else managers[0]
        if home.depth < depth:
            home = next(m for m in managers if m.depth == depth)
        return home.store

    def _lookup(self, component: Component, key: Hashable, claimer: Any) -> Ready | None:
        if component.scope is Scope.CALL:
            assert self.frame is not None
            value = self.frame.get_store().get(key)
            return None if value is MISSING else Ready(value, key, CALL_DEPTH)
        for manager in self.chain_managers:
            value = manager.store.get(key)
            if value is not MISSING:
                return Ready(value, key, manager.depth)
            if manager is claimer:
                break
        return None


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


# ---------------------------------------------------------------------------------- realizing

Steps = Generator[Wait | Await, Any, Any]


def realize(item: Node | Ready) -> Steps:
    """Build ``item`` and what it needs, yielding to the driver to wait or await."""
    if isinstance(item, Ready):
        return item.value
    node = item
    kwargs = dict(node.config)
    for param, dep in node.deps:
        kwargs[param] = (yield from realize(dep)) if isinstance(dep, Node) else dep.value
    value, claim, mine = node.store.claim(node.key)
    if value is not MISSING:
        return value
    assert claim is not None
    if not mine:
        return (yield Wait(claim, node))
    building = _building_here()
    full_chain = (*(building[-1][1] if building else ()), *node.chain)
    entry = (node, full_chain)
    building.append(entry)
    try:
        value, finalizer = yield from _build(node, kwargs)
    except BaseException as exc:
        error = _build_error(node, full_chain, exc)
        node.store.abandon(claim, error)
        if error is exc:
            raise
        raise error from exc
    finally:
        _forget(building, entry)
    node.store.publish(claim, value, finalizer, node.component.label)
    return value


_local = threading.local()


def _building_here() -> list[tuple[Node, tuple[str, ...]]]:
    """Builds whose bodies run in this thread, with the full chain that led to each.

    An artifact body may call other artifacts directly (``model()``), starting a new plan; this
    stack joins the chains for error messages and tells a cycle through such calls from a wait.
    """
    stack: list[tuple[Node, tuple[str, ...]]] | None = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def _forget(stack: list[tuple[Node, tuple[str, ...]]], entry: tuple[Node, tuple[str, ...]]) -> None:
    for index in range(len(stack) - 1, -1, -1):
        if stack[index] is entry:
            del stack[index]
            return


def _build(
    node: Node, kwargs: dict[str, Any]
) -> Generator[Wait | Await, Any, tuple[Any, Finalizer | None]]:
    component = node.component
    args = _positional_only(component, kwargs)
    label = component.label
    if component.is_async_generator:
        agen = component.fn(*args, **kwargs)
        value, loop = yield Await(_first_step_unadopted(agen), node)
        return value, Finalizer(
            label, async_=lambda: _finish_async_generator(agen, label), loop=loop
        )
    if component.is_async:
        value, _loop = yield Await(component.fn(*args, **kwargs), node)
        return value, None
    if component.is_generator:
        gen = component.fn(*args, **kwargs)
        try:
            value = next(gen)
        except StopIteration:
            raise DaidaiError(f"{label} is a generator but never yielded its value") from None
        return value, Finalizer(label, sync=lambda: _finish_generator(gen, label))
    return component.fn(*args, **kwargs), None


def _positional_only(component: Component, kwargs: dict[str, Any]) -> list[Any]:
    return [kwargs.pop(name) for name in component.spec.positional_only if name in kwargs]


def _first_step_unadopted(agen: Any) -> Any:
    """``agen.__anext__()`` without letting the current event loop adopt the generator.

    A loop registers every async generator first iterated on it and closes them all when it
    shuts down (``asyncio.run`` does), which would skip an artifact's teardown and run its
    ``finally`` early. daidai owns the artifact's lifetime, so the loop's hooks are turned off
    for the call that initializes them.
    """
    hooks = sys.get_asyncgen_hooks()
    sys.set_asyncgen_hooks(firstiter=None, finalizer=None)
    try:
        return agen.__anext__()
    finally:
        sys.set_asyncgen_hooks(*hooks)


def _finish_generator(gen: Generator[Any, Any, Any], label: str) -> None:
    try:
        next(gen)
    except StopIteration:
        return
    gen.close()
    raise DaidaiError(f"{label} yielded more than once; an artifact yields exactly one value")


async def _finish_async_generator(agen: Any, label: str) -> None:
    if agen.ag_frame is None:
        raise DaidaiError(f"{label} was finalized before daidai could tear it down")
    try:
        await agen.__anext__()
    except StopAsyncIteration:
        return
    await agen.aclose()
    raise DaidaiError(f"{label} yielded more than once; an artifact yields exactly one value")


def _build_error(node: Node, chain: tuple[str, ...], exc: BaseException) -> BaseException:
    if isinstance(exc, (DaidaiError, KeyboardInterrupt, SystemExit, GeneratorExit)):
        return exc
    return BuildError(
        f"{node.component.label} failed to build: {type(exc).__name__}: {exc}\n"
        f"  requested by: {chain_text(chain)}",
        component=node.component.name,
        chain=chain,
    )


def realize_sync(item: Node | Ready, requester: str) -> Any:
    """Drive :func:`realize` from synchronous code."""
    steps = realize(item)
    send: Any = None
    error: BaseException | None = None
    while True:
        request = _advance(steps, item, send, error)
        if not isinstance(request, (Wait, Await)):
            return request.value
        send, error = None, None
        try:
            if isinstance(request, Wait):
                send = _wait_sync(request, requester)
            else:
                send = _await_sync(request, requester)
        except BaseException as exc:
            error = exc


@attrs.define(slots=True)
class _Done:
    value: Any


def _advance(
    steps: Steps, item: Node | Ready, send: Any, error: BaseException | None
) -> Wait | Await | _Done:
    """Resume ``steps`` with a result or an error; what it asks for next, or its result."""
    try:
        return steps.send(send) if error is None else steps.throw(error)
    except StopIteration as stop:
        return _Done(stop.value)
    except RecursionError:
        if isinstance(item, Node):
            raise too_deep(item.component) from None
        raise


def _wait_sync(request: Wait, requester: str) -> Any:
    if request.claim.thread == threading.get_ident() and aio.running_loop() is None:
        raise _cycle_through_calls(request.node)
    if request.claim.thread == threading.get_ident() and aio.running_loop() is not None:
        raise DaidaiError(
            f"{request.node.component.label} is being built by an async task of this thread's "
            f"event loop, and {requester!r} waits for it synchronously, which would deadlock. "
            f"Make {requester!r} async or preload the artifact."
        )
    return request.waiters.result()


def _await_sync(request: Await, requester: str) -> tuple[Any, asyncio.AbstractEventLoop]:
    if aio.running_loop() is not None:
        request.coroutine.close()
        component = request.node.component
        raise DaidaiError(
            f"{requester!r} is synchronous and needs async {component.label}, which is not "
            f"built yet, inside a running event loop (chain: {chain_text(request.node.chain)}). "
            f"Preload it (`async with ModelManager(preload=[...])`) or make {requester!r} "
            "an `async def`."
        )
    return aio.run_sync(_identity(request.coroutine)), aio.daidai_loop()


def _cycle_through_calls(node: Node) -> CycleError:
    """This thread waits for a build it is running itself: a body asked for its own result."""
    building = _building_here()
    chain = building[-1][1] if building else ()
    path = [*chain, *node.chain]
    first = path.index(node.component.name) if node.component.name in path else 0
    return CycleError(
        f"dependency cycle: {chain_text(path[first:])}. {node.component.label} was requested "
        "again while its own build was running (through a direct call in a build); break the "
        "cycle."
    )


async def _identity(awaitable: Any) -> Any:
    return await awaitable


async def realize_async(item: Node | Ready) -> Any:
    """Drive :func:`realize` from a coroutine on the running loop."""
    steps = realize(item)
    send: Any = None
    error: BaseException | None = None
    loop = asyncio.get_running_loop()
    while True:
        request = _advance(steps, item, send, error)
        if not isinstance(request, (Wait, Await)):
            return request.value
        send, error = None, None
        try:
            if isinstance(request, Wait):
                send = await asyncio.wrap_future(request.waiters)
            else:
                send = (await request.coroutine, loop)
        except BaseException as exc:
            error = exc


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
    "realize_async",
    "realize_sync",
]
