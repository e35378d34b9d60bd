"""The conformance suite for driver plugins."""

from __future__ import annotations

import functools
import time

import pytest

from daidai.catalog import Driver
from daidai.testing.conformance._common import _required


class ConformanceError(Exception):
    """Raised on purpose by the driver suite's failing calls."""


def double(item: int) -> int:
    """Module-level (picklable) predictors, so process and cluster drivers can run them."""
    return item * 2


def slow_double(item: int, total: int) -> int:
    time.sleep((total - item) * 0.002)  # later items finish first
    return item * 2


def fail_on(item: int, failing: tuple[int, ...]) -> int:
    if item in failing:
        time.sleep(0.02 * (len(failing) - failing.index(item)))  # later failures finish first
        raise ConformanceError(f"item {item} failed")
    return item


class DriverConformance:
    """Tests for a :class:`daidai.catalog.Driver`.

    Required fixture: ``driver``, the driver under test (yield it and close it afterwards; the
    suite closes it too, so ``close`` must be idempotent). The suite's predictors are
    module-level functions and :func:`functools.partial` objects, so drivers that pickle
    calls can run them.
    """

    @pytest.fixture
    def driver(self) -> Driver:
        raise _required("driver", "the driver under test")

    def test_is_a_driver(self, driver: Driver) -> None:
        assert isinstance(driver, Driver)
        assert isinstance(driver.name, str)
        assert driver.name

    def test_map_returns_results_in_order(self, driver: Driver) -> None:
        total = 20
        results = driver.map(functools.partial(slow_double, total=total), range(total))
        assert results == [i * 2 for i in range(total)]

    def test_map_of_nothing(self, driver: Driver) -> None:
        assert driver.map(double, []) == []

    def test_map_takes_any_iterable(self, driver: Driver) -> None:
        assert driver.map(double, (i for i in range(5))) == [0, 2, 4, 6, 8]
        assert driver.map(double, {3: "x"}) == [6]

    def test_map_many_items(self, driver: Driver) -> None:
        assert driver.map(double, range(500)) == [i * 2 for i in range(500)]

    def test_error_is_raised_in_the_caller(self, driver: Driver) -> None:
        with pytest.raises(ConformanceError, match="item 3 failed"):
            driver.map(functools.partial(fail_on, failing=(3,)), range(6))

    def test_the_first_failing_item_wins(self, driver: Driver) -> None:
        with pytest.raises(ConformanceError, match="item 2 failed"):
            driver.map(functools.partial(fail_on, failing=(2, 5)), range(8))

    def test_usable_after_an_error(self, driver: Driver) -> None:
        with pytest.raises(ConformanceError):
            driver.map(functools.partial(fail_on, failing=(0,)), range(3))
        assert driver.map(double, [1, 2]) == [2, 4]

    def test_map_can_be_called_again(self, driver: Driver) -> None:
        assert driver.map(double, [1]) == [2]
        assert driver.map(double, [2, 3]) == [4, 6]

    def test_close_is_idempotent(self, driver: Driver) -> None:
        driver.map(double, [1])
        driver.close()
        driver.close()
