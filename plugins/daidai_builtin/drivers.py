"""Built-in drivers: ``local`` (the caller's thread) and ``threads`` (a thread pool).

Both follow :class:`daidai.catalog.Driver`: ``map`` returns results in the order of the items
and raises the error of the first item (in that order) that failed, in the caller; ``close`` is
idempotent. Each task of :class:`ThreadsDriver` runs in a copy of the caller's
:mod:`contextvars` context, as :func:`asyncio.to_thread` does, so what the caller sees (the
current manager, a test's overrides) the workers see too.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from daidai.errors import ConfigError
from daidai.plugins import hookimpl

if TYPE_CHECKING:
    from daidai.catalog import Register

__all__ = ["LocalDriver", "ThreadsDriver", "daidai_register_drivers"]


class LocalDriver:
    """Runs each call in the caller's thread, one after the other."""

    name = "local"

    def __repr__(self) -> str:
        return "LocalDriver()"

    def map(self, predictor: Callable[..., Any], items: Iterable[Any]) -> list[Any]:
        return [predictor(item) for item in items]

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> LocalDriver:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class ThreadsDriver:
    """Runs calls on a pool of ``max_workers`` threads (default: ``ThreadPoolExecutor``'s).

    The pool starts on the first ``map``. After ``close`` the driver refuses new work.
    """

    name = "threads"

    def __init__(self, *, max_workers: int | None = None, thread_name_prefix: str = "daidai"):
        if max_workers is not None and (
            isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1
        ):
            raise ConfigError(
                f"the threads driver needs max_workers >= 1 (or None), not {max_workers!r}"
            )
        self.max_workers = max_workers
        self.thread_name_prefix = thread_name_prefix
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"ThreadsDriver(max_workers={self.max_workers!r}) <{state}>"

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("this threads driver is closed; create a new one")
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self.max_workers, thread_name_prefix=self.thread_name_prefix
                )
            return self._pool

    def map(self, predictor: Callable[..., Any], items: Iterable[Any]) -> list[Any]:
        pool = self._executor()
        futures: list[Future[Any]] = []
        try:
            for item in items:
                context = contextvars.copy_context()  # one per task: a context runs in one thread
                futures.append(pool.submit(context.run, predictor, item))
            return [future.result() for future in futures]
        except BaseException:
            for future in futures:  # calls not started yet will not start
                future.cancel()
            raise

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            self._closed = True
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ThreadsDriver:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@hookimpl
def daidai_register_drivers(register: Register) -> None:
    register("local", LocalDriver)
    register("threads", ThreadsDriver)
