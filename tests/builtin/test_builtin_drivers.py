"""The built-in drivers against the conformance suite, plus the thread pool's own promises."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator

import pytest

from daidai.catalog import Driver
from daidai.errors import ConfigError
from daidai.testing import DriverConformance
from daidai_builtin.drivers import LocalDriver, ThreadsDriver


class TestLocalDriver(DriverConformance):
    @pytest.fixture
    def driver(self) -> Iterator[Driver]:
        with LocalDriver() as driver:
            yield driver


class TestThreadsDriver(DriverConformance):
    @pytest.fixture
    def driver(self) -> Iterator[Driver]:
        with ThreadsDriver(max_workers=4) as driver:
            yield driver


class TestThreadsDriverWithOneWorker(DriverConformance):
    @pytest.fixture
    def driver(self) -> Iterator[Driver]:
        with ThreadsDriver(max_workers=1) as driver:
            yield driver


def test_local_driver_runs_in_the_callers_thread() -> None:
    caller = threading.get_ident()
    assert LocalDriver().map(lambda _: threading.get_ident(), [1, 2]) == [caller, caller]


def test_threads_run_in_parallel_on_named_threads() -> None:
    with ThreadsDriver(max_workers=4) as driver:

        def work(_: int) -> str:
            time.sleep(0.2)
            return threading.current_thread().name

        started = time.perf_counter()
        names = driver.map(work, range(4))
        elapsed = time.perf_counter() - started
    assert elapsed < 0.6
    assert all(name.startswith("daidai") for name in names)
    assert len(set(names)) == 4


def test_workers_see_the_callers_context() -> None:
    variable: contextvars.ContextVar[str] = contextvars.ContextVar("variable", default="unset")
    variable.set("caller's value")
    with ThreadsDriver(max_workers=2) as driver:
        assert driver.map(lambda _: variable.get(), range(3)) == ["caller's value"] * 3


def test_the_first_error_cancels_calls_not_started() -> None:
    calls: list[int] = []

    def work(item: int) -> int:
        calls.append(item)
        if item == 0:
            time.sleep(0.05)
            raise ValueError("first item failed")
        time.sleep(0.01)
        return item

    with ThreadsDriver(max_workers=1) as driver, pytest.raises(ValueError, match="first item"):
        driver.map(work, range(50))
    assert len(calls) < 10


def test_the_pool_starts_on_first_use_and_close_stops_it() -> None:
    driver = ThreadsDriver(max_workers=2)
    assert driver._pool is None
    assert driver.map(abs, [-1]) == [1]
    assert driver._pool is not None
    driver.close()
    driver.close()
    with pytest.raises(RuntimeError, match="closed"):
        driver.map(abs, [-1])


@pytest.mark.parametrize("bad", [0, -1, 1.5, "4", True])
def test_max_workers_is_checked(bad: object) -> None:
    with pytest.raises(ConfigError, match="max_workers"):
        ThreadsDriver(max_workers=bad)  # type: ignore[arg-type]


def test_unknown_options_are_refused() -> None:
    with pytest.raises(TypeError):
        ThreadsDriver(workers=2)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        LocalDriver(max_workers=2)  # type: ignore[call-arg]
