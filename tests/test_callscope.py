"""Call scope across nesting that daidai cannot see in the code (DESIGN.md 1.5)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import pytest

from daidai import ModelManager, ScopeMismatch, artifact, predictor


class Token:
    def __init__(self, n: int) -> None:
        self.n = n
        self.closed = False


def _counter() -> tuple[list[str], Callable[[], Iterator[Token]]]:
    log: list[str] = []
    count = [0]

    def make() -> Iterator[Token]:
        count[0] += 1
        token = Token(count[0])
        log.append(f"setup {token.n}")
        yield token
        token.closed = True
        log.append(f"teardown {token.n}")

    return log, make


def test_call_scoped_artifact_called_directly_in_a_warm_predictor_body() -> None:
    log, make = _counter()

    @artifact(scope="call")
    def state() -> Iterator[Token]:
        yield from make()

    @predictor
    def plain_input(x: int) -> int:
        return x

    seen: list[tuple[int, bool]] = []
    registry: dict[str, Any] = {"state": state}

    @predictor
    def handler(x: int) -> tuple[Token, Token]:
        first, second = registry["state"](), registry["state"]()
        seen.append((first.n, first.closed))
        return first, second

    with ModelManager():
        for _ in range(3):
            first, second = handler(1)
            assert first is second
            assert first.closed  # torn down when handler returned
    assert log == ["setup 1", "teardown 1", "setup 2", "teardown 2", "setup 3", "teardown 3"]
    assert seen == [(1, False), (2, False), (3, False)]


def test_nested_calls_through_an_object_share_one_scope_from_the_first_call() -> None:
    log, make = _counter()

    @artifact(scope="call")
    def state() -> Iterator[Token]:
        yield from make()

    @predictor
    def step(s: Annotated[Token, state]) -> int:
        return s.n

    class Pipeline:
        def __init__(self, fn: Callable[[], int]) -> None:
            self.fn = fn

        def run(self) -> list[int]:
            return [self.fn(), self.fn()]

    pipeline = Pipeline(step)

    @predictor
    def run_all(pipe: Any = None) -> list[int]:
        return pipeline.run()

    with ModelManager():
        # warm the outer predictor first so it runs on the frameless warm path
        results = [run_all() for _ in range(3)]
    assert results == [[1, 1], [2, 2], [3, 3]]
    assert log == ["setup 1", "teardown 1", "setup 2", "teardown 2", "setup 3", "teardown 3"]
    assert sys.getprofile() is None  # the temporary hook is gone


def test_call_scoped_artifact_outside_any_predictor_is_an_error_with_a_hint() -> None:
    @artifact(scope="call")
    def state() -> int:
        return 1

    with ModelManager(), pytest.raises(ScopeMismatch, match="outside any predictor call"):
        state()
