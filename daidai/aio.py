"""daidai's own event loop, for async work requested from synchronous code.

A synchronous caller outside any event loop may need an ``async def`` artifact built or an async
generator finalized. daidai runs such coroutines on one long-lived loop in a daemon thread, so
an artifact built there (an aiohttp session, say) is finalized on the same loop it was made on.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, if any."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def daidai_loop() -> asyncio.AbstractEventLoop:
    """The shared background loop, started on first use."""
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="daidai-async", daemon=True)
            thread.start()
            _loop = loop
        return _loop


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on daidai's loop and wait for its result from this (loop-less) thread."""
    loop = daidai_loop()
    if running_loop() is loop:
        coro.close()
        raise RuntimeError("run_sync() called from daidai's own loop would deadlock")
    return asyncio.run_coroutine_threadsafe(coro, loop).result()
