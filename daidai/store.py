"""Instances of one lifetime and the finalizers that end them.

A store belongs to a manager (``namespace`` and ``session`` artifacts) or to one outermost
predictor call (``call`` artifacts). It guarantees that concurrent first use of an instance
builds it once: the first caller *claims* the key and builds; everyone else waits on the claim's
future. There is one small mutex per store, held only for dictionary updates, never while
building, so two different artifacts build in parallel.

Teardown is one stack: finalizers run in reverse build order, so a dependent (built after what
it depends on) is torn down first. Every finalizer runs even when one fails; the failures are
returned together.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

import attrs

from daidai import aio
from daidai.errors import DaidaiError

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "<missing>", "__slots__": ()})()


@attrs.define(slots=True)
class Finalizer:
    """Ends one instance: a plain callable, or a coroutine factory bound to the loop it needs."""

    label: str
    sync: Callable[[], None] | None = None
    async_: Callable[[], Awaitable[None]] | None = None
    loop: asyncio.AbstractEventLoop | None = None


@attrs.define(slots=True, eq=False)
class Claim:
    """The right to build ``key``. ``thread`` detects self-waits.

    Most builds have no waiter, so the future others wait on is created only for the first
    waiter, under the store's mutex, which the builder also takes before resolving it: no
    wake-up is lost.
    """

    key: Hashable
    thread: int
    future: concurrent.futures.Future[Any] | None = None


class Store:
    """Instances keyed by identity, the claims being built, and the teardown stack."""

    __slots__ = (
        "_claims",
        "_finalizers",
        "_instances",
        "_keys",
        "_mutex",
        "closed",
        "depth",
        "label",
    )

    def __init__(self, label: str, depth: int) -> None:
        self.label = label
        self.depth = depth
        self.closed = False
        self._instances: dict[Hashable, Any] = {}
        self._keys: dict[Hashable, Hashable] = {}
        self._claims: dict[Hashable, Claim] = {}
        self._finalizers: list[Finalizer] = []
        self._mutex = threading.Lock()

    def get(self, key: Hashable) -> Any:
        """The instance for ``key``, or :data:`MISSING`."""
        return self._instances.get(key, MISSING)

    def entry(self, key: Hashable) -> tuple[Hashable, Any] | None:
        """``(the key the instance was stored under, the instance)``, or None."""
        stored = self._keys.get(key)
        if stored is None:
            return None
        value = self._instances.get(stored, MISSING)
        return None if value is MISSING else (stored, value)

    def claim(self, key: Hashable) -> tuple[Any, Claim | None, bool]:
        """Return ``(instance, None, False)`` if built, ``(MISSING, claim, True)`` if the caller
        must build it, or ``(MISSING, claim, False)`` if another caller is building it."""
        with self._mutex:
            value = self._instances.get(key, MISSING)
            if value is not MISSING:
                return value, None, False
            if self.closed:
                raise DaidaiError(
                    f"{self.label} was closed while an instance was being requested from it; "
                    "create a new ModelManager to load components again"
                )
            existing = self._claims.get(key)
            if existing is not None:
                if existing.future is None:
                    existing.future = concurrent.futures.Future()
                return MISSING, existing, False
            claim = Claim(key, threading.get_ident())
            self._claims[key] = claim
            return MISSING, claim, True

    def publish(self, claim: Claim, value: Any, finalizer: Finalizer | None, label: str) -> None:
        """Store a built instance and wake whoever waits for it.

        If the store was closed while the instance was being built, the instance is torn down
        at once (its finalizer must never be dropped) and the builder gets an error.
        """
        with self._mutex:
            self._claims.pop(claim.key, None)
            waiters = claim.future
            stored = not self.closed
            if stored:
                self._instances[claim.key] = value
                self._keys[claim.key] = claim.key
                if finalizer is not None:
                    self._finalizers.append(finalizer)
        if stored:
            if waiters is not None:
                waiters.set_result(value)
            return
        error = DaidaiError(
            f"{self.label} was closed while {label} was being built; "
            "the new instance was torn down at once"
        )
        if finalizer is not None:
            try:
                _run_sync(finalizer)
            except Exception as exc:
                error.add_note(f"its teardown failed too: {type(exc).__name__}: {exc}")
        if waiters is not None:
            waiters.set_exception(error)
        raise error

    def abandon(self, claim: Claim, error: BaseException) -> None:
        """The build failed: waiters get ``error``; the next caller tries again."""
        with self._mutex:
            self._claims.pop(claim.key, None)
            waiters = claim.future
        if waiters is not None:
            waiters.set_exception(error)

    def __len__(self) -> int:
        return len(self._instances)

    def _take_finalizers(self) -> list[Finalizer]:
        """Close the store and hand over its finalizers, newest first."""
        with self._mutex:
            self.closed = True
            finalizers, self._finalizers = self._finalizers, []
            self._instances.clear()
            self._keys.clear()
        return finalizers[::-1]

    def close(self) -> list[Exception]:
        """Run every finalizer, newest first; return the errors instead of stopping at one."""
        errors: list[Exception] = []
        for finalizer in self._take_finalizers():
            try:
                _run_sync(finalizer)
            except Exception as exc:
                exc.add_note(f"while tearing down {finalizer.label}")
                errors.append(exc)
        return errors

    async def aclose(self) -> list[Exception]:
        """Like :meth:`close`, awaiting async finalizers that belong to the running loop."""
        errors: list[Exception] = []
        loop = asyncio.get_running_loop()
        for finalizer in self._take_finalizers():
            try:
                if finalizer.async_ is not None and finalizer.loop is loop:
                    await finalizer.async_()
                else:
                    _run_sync(finalizer)
            except Exception as exc:
                exc.add_note(f"while tearing down {finalizer.label}")
                errors.append(exc)
        return errors


def _run_sync(finalizer: Finalizer) -> None:
    if finalizer.sync is not None:
        finalizer.sync()
        return
    assert finalizer.async_ is not None
    loop = finalizer.loop
    if loop is not None and not loop.is_closed() and loop.is_running():
        if aio.running_loop() is loop:
            raise RuntimeError(
                "an async teardown cannot run synchronously on its own event loop; "
                "close the manager with `async with` or `await manager.aclose()`"
            )
        asyncio.run_coroutine_threadsafe(_as_coroutine(finalizer.async_), loop).result()
    else:
        aio.run_sync(_as_coroutine(finalizer.async_))


async def _as_coroutine(factory: Callable[[], Awaitable[None]]) -> None:
    await factory()
