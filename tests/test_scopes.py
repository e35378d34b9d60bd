"""Point 5 of the core issue, scopes (DESIGN.md 1.5).

``call < namespace < session``. ``namespace`` (the default) lives as long as the manager that
built it; ``session`` as long as the outermost open manager; ``call`` for one outermost
predictor call, shared by nested predictor calls and torn down when that call ends. Asking for
a call-scoped artifact outside any predictor call is an error with a hint. A component may
depend only on the same or a wider scope, else ``ScopeMismatch`` naming both components with
``file:line`` and the fix.
"""

import asyncio
import inspect
import re
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import pytest

from daidai import DaidaiError, ModelManager, ScopeMismatch, artifact, predictor


class Resource:
    """A value with an identity and a closed flag, built and torn down by a generator."""

    def __init__(self, name: str, serial: int) -> None:
        self.name = name
        self.serial = serial
        self.closed = False

    def __repr__(self) -> str:
        return f"<{self.name}#{self.serial}{' closed' if self.closed else ''}>"


class Events:
    def __init__(self) -> None:
        self.log: list[str] = []
        self.serial = 0

    def make(self, name: str) -> Callable[..., Iterator[Resource]]:
        """A generator function building a ``Resource`` called ``name`` with teardown."""

        def build() -> Iterator[Resource]:
            self.serial += 1
            resource = Resource(name, self.serial)
            self.log.append(f"setup {name}")
            yield resource
            resource.closed = True
            self.log.append(f"teardown {name}")

        build.__name__ = name
        build.__qualname__ = f"Events.make.<locals>.{name}"
        return build

    def count(self, entry: str) -> int:
        return self.log.count(entry)


# -------------------------------------------------------------------------------- namespace
def test_namespace_is_the_default_and_lives_with_its_manager() -> None:
    events = Events()

    @artifact
    def model() -> Iterator[Resource]:
        yield from events.make("model")()

    with ModelManager():
        first = model()
        assert model() is first
        assert events.log == ["setup model"]
    assert first.closed
    assert events.log == ["setup model", "teardown model"]
    with ModelManager():
        second = model()
        assert second is not first
    assert events.log == ["setup model", "teardown model"] * 2


def test_namespace_instance_of_an_outer_manager_is_reused_by_an_inner_one() -> None:
    events = Events()

    @artifact(scope="namespace")
    def model() -> Iterator[Resource]:
        yield from events.make("model")()

    @predictor
    def use(m: Annotated[Resource, model]) -> Resource:
        return m

    with ModelManager():
        outer_instance = use()
        with ModelManager():
            assert use() is outer_instance
        assert not outer_instance.closed
        assert use() is outer_instance
    assert outer_instance.closed
    assert events.count("setup model") == 1


def test_new_namespace_builds_go_to_the_innermost_manager() -> None:
    events = Events()

    @artifact
    def model() -> Iterator[Resource]:
        yield from events.make("model")()

    with ModelManager():
        with ModelManager():
            inner_instance = model()
        # built in the inner manager: torn down with it
        assert inner_instance.closed
        assert events.log == ["setup model", "teardown model"]
        outer_instance = model()
        assert outer_instance is not inner_instance
        assert not outer_instance.closed
    assert outer_instance.closed


# ---------------------------------------------------------------------------------- session
def test_session_instance_outlives_the_inner_manager_that_built_it() -> None:
    events = Events()

    @artifact(scope="session")
    def tokenizer() -> Iterator[Resource]:
        yield from events.make("tokenizer")()

    @predictor
    def tokenize(t: Annotated[Resource, tokenizer]) -> Resource:
        return t

    with ModelManager() as outer:
        with ModelManager() as inner:
            built = tokenize()
            assert inner.instances() == 0
            assert outer.instances() == 1
        assert not built.closed
        assert events.log == ["setup tokenizer"]
        assert tokenize() is built
        assert tokenizer() is built
        with ModelManager():
            assert tokenizer() is built
    assert built.closed
    assert events.log == ["setup tokenizer", "teardown tokenizer"]


def test_session_instance_lives_in_the_outermost_of_three_managers() -> None:
    events = Events()

    @artifact(scope="session")
    def tokenizer() -> Iterator[Resource]:
        yield from events.make("tokenizer")()

    with ModelManager():
        with ModelManager(), ModelManager():
            built = tokenizer()
        assert not built.closed
        assert tokenizer() is built
    assert built.closed
    assert events.count("setup tokenizer") == 1


def test_session_instance_ends_with_the_outermost_manager() -> None:
    events = Events()

    @artifact(scope="session")
    def tokenizer() -> Iterator[Resource]:
        yield from events.make("tokenizer")()

    with ModelManager():
        first = tokenizer()
    assert first.closed
    with ModelManager():
        second = tokenizer()
        assert second is not first
    assert events.log == ["setup tokenizer", "teardown tokenizer"] * 2


def test_session_artifact_depending_on_session_artifact() -> None:
    events = Events()

    @artifact(scope="session")
    def vocab() -> Iterator[Resource]:
        yield from events.make("vocab")()

    @artifact(scope="session")
    def tokenizer(v: Annotated[Resource, vocab]) -> Iterator[Resource]:
        assert not v.closed
        yield from events.make("tokenizer")()
        assert not v.closed  # torn down before what it depends on

    with ModelManager():
        with ModelManager():
            tokenizer()
        assert events.log == ["setup vocab", "setup tokenizer"]
    assert events.log == ["setup vocab", "setup tokenizer", "teardown tokenizer", "teardown vocab"]


def test_namespace_artifact_may_depend_on_session_artifact() -> None:
    events = Events()

    @artifact(scope="session")
    def vocab() -> Iterator[Resource]:
        yield from events.make("vocab")()

    @artifact
    def model(v: Annotated[Resource, vocab]) -> Iterator[Resource]:
        yield from events.make("model")()

    with ModelManager():
        with ModelManager():
            model()
        # the namespace artifact went with the inner manager, the session one stayed
        assert events.log == ["setup vocab", "setup model", "teardown model"]
    assert events.log[-1] == "teardown vocab"


# ------------------------------------------------------------------------------------- call
def test_call_scope_lives_for_one_predictor_call() -> None:
    events = Events()
    seen: list[Resource] = []

    @artifact(scope="call")
    def request_state() -> Iterator[Resource]:
        yield from events.make("state")()

    @predictor
    def handle(text: str, state: Annotated[Resource, request_state]) -> str:
        assert not state.closed
        seen.append(state)
        return text

    with ModelManager():
        for text in ("a", "b", "c"):
            assert handle(text) == text
            assert events.log[-1] == "teardown state"
    assert handle("lazy") == "lazy"
    assert len({id(s) for s in seen}) == 4
    assert all(s.closed for s in seen)
    assert events.log == ["setup state", "teardown state"] * 4


def test_call_scope_is_shared_by_nested_predictor_calls() -> None:
    events = Events()

    @artifact(scope="call")
    def request_state() -> Iterator[Resource]:
        yield from events.make("state")()

    @predictor
    def inner(state: Annotated[Resource, request_state]) -> Resource:
        return state

    @predictor
    def outer(
        state: Annotated[Resource, request_state], step: Annotated[Callable[[], Resource], inner]
    ) -> tuple[Resource, Resource, Resource]:
        return state, step(), step()

    with ModelManager():
        for _ in range(3):
            mine, first, second = outer()
            assert mine is first is second
            assert mine.closed  # torn down after the outermost call
    assert events.log == ["setup state", "teardown state"] * 3


def test_call_scope_is_shared_by_nested_calls_of_an_async_predictor() -> None:
    events = Events()

    @artifact(scope="call")
    def request_state() -> Iterator[Resource]:
        yield from events.make("state")()

    @predictor
    def inner(state: Annotated[Resource, request_state]) -> Resource:
        return state

    @predictor
    async def outer(
        state: Annotated[Resource, request_state], step: Annotated[Callable[[], Resource], inner]
    ) -> tuple[Resource, Resource]:
        await asyncio.sleep(0)
        return state, step()

    async def main() -> list[tuple[Resource, Resource]]:
        async with ModelManager():
            return [await outer(), await outer()]

    for mine, nested in asyncio.run(main()):
        assert mine is nested
        assert mine.closed
    assert events.log == ["setup state", "teardown state"] * 2


def test_call_scope_shared_when_the_outer_predictor_calls_by_name() -> None:
    events = Events()

    @artifact(scope="call")
    def request_state() -> Iterator[Resource]:
        yield from events.make("state")()

    @predictor
    def inner(state: Annotated[Resource, request_state]) -> Resource:
        return state

    @predictor
    def outer() -> tuple[Resource, Resource]:
        # no injected dependency at all: it calls another predictor directly
        return inner(), inner()

    with ModelManager():
        for _ in range(3):
            first, second = outer()
            assert first is second
    assert events.log == ["setup state", "teardown state"] * 3


def test_call_scope_shared_when_nested_call_goes_through_a_helper() -> None:
    events = Events()

    @artifact(scope="call")
    def request_state() -> Iterator[Resource]:
        yield from events.make("state")()

    @predictor
    def inner(state: Annotated[Resource, request_state]) -> Resource:
        return state

    helpers: dict[str, Callable[[], Resource]] = {"step": inner}

    def run_step() -> Resource:
        return helpers["step"]()

    @predictor
    def outer() -> tuple[Resource, Resource]:
        return run_step(), run_step()

    with ModelManager():
        for _ in range(3):
            first, second = outer()
            assert first is second, "nested predictor calls must share the call scope"
    assert events.log == ["setup state", "teardown state"] * 3


def test_call_scoped_artifact_called_directly_in_a_predictor_body() -> None:
    """``state()`` inside a predictor's body is inside that predictor's call, every time."""
    events = Events()

    @artifact
    def model() -> str:
        return "m"

    @artifact(scope="call")
    def request_state() -> Iterator[Resource]:
        yield from events.make("state")()

    @predictor
    def handle(text: str, m: Annotated[str, model]) -> str:
        state = request_state()
        assert request_state() is state
        return f"{text}:{state.serial}"

    with ModelManager():
        results = [handle(text) for text in "abc"]
    assert results == ["a:1", "b:2", "c:3"]
    assert events.log == ["setup state", "teardown state"] * 3


def test_call_scoped_artifact_requested_by_a_helper_of_a_predictor() -> None:
    events = Events()

    @artifact
    def model() -> str:
        return "m"

    @artifact(scope="call")
    def request_state() -> Iterator[Resource]:
        yield from events.make("state")()

    getters: list[Callable[[], Resource]] = [request_state]

    def current_state() -> Resource:
        return getters[0]()

    @predictor
    def handle(text: str, m: Annotated[str, model]) -> tuple[Resource, Resource]:
        return current_state(), current_state()

    with ModelManager():
        for _ in range(3):
            first, second = handle("x")
            assert first is second
            assert first.closed
    assert events.log == ["setup state", "teardown state"] * 3


def test_call_scope_torn_down_when_the_predictor_raises() -> None:
    events = Events()

    @artifact(scope="call")
    def request_state() -> Iterator[Resource]:
        yield from events.make("state")()

    @predictor
    def handle(state: Annotated[Resource, request_state]) -> None:
        raise RuntimeError("handler failed")

    with ModelManager():
        with pytest.raises(RuntimeError, match="handler failed"):
            handle()
        assert events.log == ["setup state", "teardown state"]


def test_call_scope_with_an_async_predictor() -> None:
    events = Events()

    @artifact(scope="call")
    def request_state() -> Iterator[Resource]:
        yield from events.make("state")()

    @predictor
    async def handle(state: Annotated[Resource, request_state]) -> Resource:
        await asyncio.sleep(0)
        assert not state.closed
        return state

    async def main() -> list[Resource]:
        async with ModelManager():
            return [await handle(), await handle()]

    first, second = asyncio.run(main())
    assert first is not second
    assert first.closed
    assert second.closed
    assert events.log == ["setup state", "teardown state"] * 2


def test_call_artifact_may_depend_on_wider_scopes() -> None:
    events = Events()

    @artifact(scope="session")
    def vocab() -> Iterator[Resource]:
        yield from events.make("vocab")()

    @artifact
    def model() -> Iterator[Resource]:
        yield from events.make("model")()

    @artifact(scope="call")
    def request_state(
        v: Annotated[Resource, vocab], m: Annotated[Resource, model]
    ) -> Iterator[Resource]:
        yield from events.make("state")()

    @predictor
    def handle(state: Annotated[Resource, request_state]) -> Resource:
        return state

    with ModelManager():
        handle()
        handle()
        assert events.count("setup vocab") == 1
        assert events.count("setup model") == 1
        assert events.count("setup state") == 2
        assert events.count("teardown state") == 2
        assert events.count("teardown model") == 0


def test_call_scoped_artifact_outside_a_predictor_call_is_an_error_with_a_hint() -> None:
    @artifact(scope="call")
    def request_state() -> str:
        return "state"

    with pytest.raises(DaidaiError) as info:
        request_state()
    message = str(info.value)
    assert "request_state" in message
    assert "call" in message
    assert "predictor" in message  # the hint: request it from a predictor

    with ModelManager() as manager, pytest.raises(DaidaiError, match="predictor"):
        manager.load(request_state)
    with pytest.raises(DaidaiError, match="predictor"):
        ModelManager(preload=[request_state])


def test_preloading_a_predictor_that_uses_a_call_scoped_artifact() -> None:
    """Preload builds the longer-lived dependencies; call-scoped ones wait for a call."""
    events = Events()

    @artifact
    def model() -> Iterator[Resource]:
        yield from events.make("model")()

    @artifact(scope="call")
    def request_state() -> Iterator[Resource]:
        yield from events.make("state")()

    @predictor
    def handle(m: Annotated[Resource, model], s: Annotated[Resource, request_state]) -> str:
        return "ok"

    with ModelManager(preload=[handle]):
        assert events.log == ["setup model"]
        assert handle() == "ok"
        assert events.log == ["setup model", "setup state", "teardown state"]


# ---------------------------------------------------------------------------- ScopeMismatch
def _lines_of(fn: Callable[..., Any]) -> range:
    source, start = inspect.getsourcelines(inspect.unwrap(fn))
    return range(start, start + len(source))


def _assert_names_location(message: str, fn: Callable[..., Any]) -> None:
    """``message`` shows ``fn``'s file and a line of its definition as ``file:line``."""
    path = re.escape(inspect.getsourcefile(inspect.unwrap(fn)) or "")
    lines = [int(n) for n in re.findall(path + r":(\d+)", message)]
    assert any(n in _lines_of(fn) for n in lines), (fn.__name__, message)


def test_scope_mismatch_names_both_components_locations_and_the_fix() -> None:
    @artifact
    def model() -> str:
        return "namespace model"

    @artifact(scope="session")
    def cache(m: Annotated[str, model]) -> str:
        return f"cache of {m}"

    with pytest.raises(ScopeMismatch) as info:
        cache()
    error = info.value
    assert isinstance(error, DaidaiError)
    message = str(error)
    assert "'cache'" in message
    assert "'model'" in message
    _assert_names_location(message, cache)
    _assert_names_location(message, model)
    assert "session" in message
    assert "namespace" in message
    # the fix: change one of the two scopes
    assert re.search(r"scope=['\"](namespace|session)['\"]", message), message


def test_scope_mismatch_on_a_call_scoped_dependency() -> None:
    @artifact(scope="call")
    def request_state() -> str:
        return "state"

    @artifact
    def model(s: Annotated[str, request_state]) -> str:
        return s

    @artifact(scope="session")
    def cache(s: Annotated[str, request_state]) -> str:
        return s

    @predictor
    def use_model(m: Annotated[str, model]) -> str:
        return m

    @predictor
    def use_cache(c: Annotated[str, cache]) -> str:
        return c

    for use, dependent in ((use_model, model), (use_cache, cache)):
        with pytest.raises(ScopeMismatch) as info:
            use()
        message = str(info.value)
        assert repr(dependent.__name__) in message
        assert "'request_state'" in message
        _assert_names_location(message, dependent)
        _assert_names_location(message, request_state)
        assert re.search(r"scope=['\"]\w+['\"]", message), message


def test_scope_mismatch_no_later_than_first_use_and_nothing_built() -> None:
    built: list[str] = []

    @artifact
    def model() -> str:
        built.append("model")
        return "m"

    @artifact(scope="session")
    def cache(m: Annotated[str, model]) -> str:
        built.append("cache")
        return m

    @predictor
    def classify(c: Annotated[str, cache]) -> str:
        return c

    with pytest.raises(ScopeMismatch):
        ModelManager(preload=[classify])
    with pytest.raises(ScopeMismatch):
        classify()
    with ModelManager() as manager, pytest.raises(ScopeMismatch):
        manager.load(cache)
    assert "cache" not in built


def test_scope_mismatch_deep_in_a_chain_names_the_offending_pair() -> None:
    @artifact
    def weights() -> str:
        return "w"

    @artifact(scope="session")
    def model(w: Annotated[str, weights]) -> str:
        return w

    @artifact(scope="session")
    def pipeline(m: Annotated[str, model]) -> str:
        return m

    with pytest.raises(ScopeMismatch) as info:
        pipeline()
    message = str(info.value)
    assert "'model'" in message
    assert "'weights'" in message


def test_allowed_scope_combinations_do_not_raise() -> None:
    @artifact(scope="session")
    def s() -> str:
        return "s"

    @artifact
    def n(x: Annotated[str, s]) -> str:
        return x + "n"

    @artifact(scope="call")
    def c(x: Annotated[str, n], y: Annotated[str, s]) -> str:
        return x + y + "c"

    @artifact(scope="call")
    def c2(x: Annotated[str, c]) -> str:
        return x + "2"

    @predictor
    def p(a: Annotated[str, c2], b: Annotated[str, n], d: Annotated[str, s]) -> str:
        return a + b + d

    with ModelManager():
        assert p() == "snsc2sns"
