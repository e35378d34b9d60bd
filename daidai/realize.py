"""Realizing a plan: building what is missing, once, from sync or async callers.

:func:`realize` walks a plan made by :mod:`daidai.resolve` and builds what is missing. It is
written once as a generator that yields whenever it must wait (for another caller's build of the
same instance) or await (an async artifact); :func:`realize_sync` and :func:`realize_async`
drive it from either world. Lifecycle hooks (:mod:`daidai.hookspecs`) are called around each
build and teardown only when some plugin implements them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Generator, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from daidai import aio
from daidai.component import Component
from daidai.errors import BuildError, CycleError, DaidaiError, chain_text
from daidai.lifecycle import ArtifactSetup, ArtifactTeardown, CallRecord
from daidai.resolve import Node, Ready, too_deep
from daidai.store import MISSING, Claim, Finalizer

if TYPE_CHECKING:
    from daidai.plugins import DaidaiPluginManager

logger = logging.getLogger("daidai")


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
    entry = _Building(node, building[-1] if building else None)
    building.append(entry)
    try:
        value, finalizer = yield from _build(node, kwargs)
    except BaseException as exc:
        error = _build_error(node, entry.full_chain(), exc)
        node.store.abandon(claim, error)
        if error is exc:
            raise
        raise error from exc
    finally:
        _forget(building, entry)
    node.store.publish(claim, value, finalizer, node.component.label)
    return value


_local = threading.local()


@attrs.define(slots=True, eq=False)
class _Building:
    """A build whose body runs in this thread, and the build whose body asked for it."""

    node: Node
    outer: _Building | None

    def full_chain(self) -> tuple[str, ...]:
        """The chain from the first request, across direct calls made in artifact bodies."""
        outer = self.outer.full_chain() if self.outer is not None else ()
        return (*outer, *self.node.chain)


def _building_here() -> list[_Building]:
    """Builds whose bodies run in this thread, with the full chain that led to each.

    An artifact body may call other artifacts directly (``model()``), starting a new plan; this
    stack joins the chains for error messages and tells a cycle through such calls from a wait.
    """
    stack: list[_Building] | None = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def _forget(stack: list[_Building], entry: _Building) -> None:
    for index in range(len(stack) - 1, -1, -1):
        if stack[index] is entry:
            del stack[index]
            return


def _build(
    node: Node, kwargs: dict[str, Any]
) -> Generator[Wait | Await, Any, tuple[Any, Finalizer | None]]:
    """Run the artifact's function, through the setup hook when a plugin implements it."""
    component = node.component
    args = _positional_only(component, kwargs)
    label = component.label
    generators: list[Any] = []

    def start() -> Any:
        """The synchronous part of a build: a value, or an awaitable for async artifacts."""
        if component.is_async_generator:
            generators.append(component.fn(*args, **kwargs))
            return _first_step_unadopted(generators[0])
        if component.is_generator:
            generators.append(component.fn(*args, **kwargs))
            try:
                return next(generators[0])
            except StopIteration:
                raise DaidaiError(f"{label} is a generator but never yielded its value") from None
        return component.fn(*args, **kwargs)

    plugins = node.plugins
    recording = plugins.is_active("daidai_record_call")
    started, clock = (time.time(), time.perf_counter()) if recording else (0.0, 0.0)
    try:
        if plugins.is_active("daidai_artifact_setup"):
            setup = ArtifactSetup(component, node.config, start)
            plugins.hook.daidai_artifact_setup(setup=setup)
            value = setup.value
        else:
            value = start()
        loop = None
        if component.is_async:
            value, loop = yield Await(value, node)
    except BaseException as exc:
        if recording:
            _record(plugins, component, node.config, started, clock, exc)
        raise
    if recording:
        _record(plugins, component, node.config, started, clock, None)
    if not generators:
        return value, None
    if component.is_async_generator:
        agen = generators[0]
        return value, _finalizer(
            plugins, component, async_=lambda: _finish_async_generator(agen, label), loop=loop
        )
    gen = generators[0]
    return value, _finalizer(plugins, component, sync=lambda: _finish_generator(gen, label))


def _finalizer(
    plugins: DaidaiPluginManager,
    component: Component,
    *,
    sync: Callable[[], None] | None = None,
    async_: Callable[[], Awaitable[None]] | None = None,
    loop: asyncio.AbstractEventLoop | None = None,
) -> Finalizer:
    """A finalizer that goes through the teardown hook if a plugin implements it by then."""

    def through_hooks(run: Callable[[], Any]) -> Any:
        if not plugins.is_active("daidai_artifact_teardown"):
            return run()
        teardown = ArtifactTeardown(component, run)
        plugins.hook.daidai_artifact_teardown(teardown=teardown)
        return teardown.result

    if sync is not None:
        run_sync = sync
        return Finalizer(component.label, sync=lambda: through_hooks(run_sync))
    assert async_ is not None
    run_async = async_
    return Finalizer(component.label, async_=lambda: through_hooks(run_async), loop=loop)


def _record(
    plugins: DaidaiPluginManager,
    component: Component,
    config: Mapping[str, Any],
    started: float,
    clock: float,
    error: BaseException | None,
) -> None:
    record = CallRecord(
        kind=component.kind,
        component=component,
        config=config,
        started=started,
        duration=time.perf_counter() - clock,
        error=error,
    )
    record_call(plugins, record)


def record_call(plugins: DaidaiPluginManager, record: CallRecord) -> None:
    """Tell recording plugins; a recorder's failure is logged, never raised into user code."""
    try:
        plugins.hook.daidai_record_call(record=record)
    except Exception:
        logger.exception("daidai: a daidai_record_call implementation failed")


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
    chain = building[-1].full_chain() if building else ()
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
