"""Point 6 of the core issue: errors (DESIGN.md 1.7).

A failing artifact raises ``BuildError`` naming itself and the chain that requested it
(``classify -> model -> weights``) with the original exception as ``__cause__``. A dependency
cycle is a ``CycleError`` showing its path (``a -> b -> a``), never a ``RecursionError``. An
unknown component is a ``ComponentNotFound`` (a ``LookupError``) listing what exists with a near
match. No bare ``KeyError`` reaches the user.
"""

import asyncio
import re
import threading
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import pytest

import daidai
from daidai import (
    BuildError,
    ComponentNotFound,
    ConfigError,
    CycleError,
    DaidaiError,
    ModelManager,
    artifact,
    predictor,
)


# -------------------------------------------------------------------------------- hierarchy
@pytest.mark.parametrize(
    ("name", "builtin"),
    [
        ("ScopeMismatch", None),
        ("CycleError", None),
        ("BuildError", None),
        ("ComponentNotFound", LookupError),
        ("ConfigError", ValueError),
        ("WrongAnnotation", TypeError),
        ("FileDependencyError", FileNotFoundError),
        ("OfflineError", FileNotFoundError),
        ("IntegrityError", None),
    ],
)
def test_error_hierarchy(name: str, builtin: type[Exception] | None) -> None:
    cls = getattr(daidai, name)
    assert issubclass(cls, DaidaiError)
    if builtin is not None:
        assert issubclass(cls, builtin)


# ------------------------------------------------------------------------------- BuildError
class WeightsMissing(Exception):
    pass


def _failing_chain(
    original: list[BaseException],
) -> tuple[Any, Any, Any]:
    @artifact
    def weights() -> bytes:
        error = WeightsMissing("weights.pt is corrupt")
        original.append(error)
        raise error

    @artifact
    def model(w: Annotated[bytes, weights]) -> str:
        return "model"

    @predictor
    def classify(text: str, m: Annotated[str, model]) -> str:
        return text

    return weights, model, classify


def test_build_error_names_the_artifact_and_the_chain() -> None:
    original: list[BaseException] = []
    _weights, _model, classify = _failing_chain(original)

    with pytest.raises(BuildError) as info:
        classify("x")
    error = info.value
    assert isinstance(error, DaidaiError)
    message = str(error)
    assert "weights" in message
    assert "classify -> model -> weights" in message
    assert "weights.pt is corrupt" in message  # what went wrong, not only where
    assert error.__cause__ is original[-1]
    assert isinstance(error.__cause__, WeightsMissing)


def test_build_error_chain_from_a_direct_artifact_call() -> None:
    original: list[BaseException] = []
    _weights, model, _classify = _failing_chain(original)

    with pytest.raises(BuildError) as info:
        model()
    message = str(info.value)
    assert "model -> weights" in message
    assert "classify" not in message
    assert info.value.__cause__ is original[-1]


def test_build_error_chain_when_preloading() -> None:
    original: list[BaseException] = []
    _weights, _model, classify = _failing_chain(original)

    with pytest.raises(BuildError) as info:
        ModelManager(preload=[classify])
    assert "classify -> model -> weights" in str(info.value)
    assert info.value.__cause__ is original[-1]


def test_build_error_when_the_middle_of_the_chain_fails() -> None:
    @artifact
    def weights() -> str:
        return "w"

    @artifact
    def model(w: Annotated[str, weights]) -> str:
        raise RuntimeError("out of memory")

    @predictor
    def classify(m: Annotated[str, model]) -> str:
        return m

    with pytest.raises(BuildError) as info:
        classify()
    message = str(info.value)
    assert "classify -> model" in message
    assert "model -> weights" not in message
    assert isinstance(info.value.__cause__, RuntimeError)
    # the cause is the original error, not another wrapper
    assert not isinstance(info.value.__cause__, BuildError)


def test_build_error_from_generator_and_async_artifacts() -> None:
    @artifact
    def conn() -> Iterator[str]:
        raise ConnectionError("database unreachable")
        yield "never"

    @artifact
    async def client() -> str:
        raise TimeoutError("handshake timed out")

    @predictor
    def query(c: Annotated[str, conn]) -> str:
        return c

    @predictor
    async def fetch(c: Annotated[str, client]) -> str:
        return c

    with pytest.raises(BuildError) as info:
        query()
    assert "query -> conn" in str(info.value)
    assert isinstance(info.value.__cause__, ConnectionError)

    with pytest.raises(BuildError) as async_info:
        asyncio.run(fetch())
    assert "fetch -> client" in str(async_info.value)
    assert isinstance(async_info.value.__cause__, TimeoutError)


def test_key_error_inside_an_artifact_is_a_build_error() -> None:
    """A user's KeyError while building is wrapped, so no bare KeyError reaches the caller."""

    @artifact
    def lookup_table() -> dict[str, int]:
        return {}["missing-key"]  # type: ignore[no-any-return]

    @artifact
    async def async_lookup() -> int:
        return {}["missing-async-key"]  # type: ignore[no-any-return]

    @predictor
    def use(t: Annotated[dict[str, int], lookup_table]) -> dict[str, int]:
        return t

    @predictor
    def use_async_from_sync(v: Annotated[int, async_lookup]) -> int:
        return v

    with pytest.raises(BuildError) as info:
        use()
    assert isinstance(info.value.__cause__, KeyError)
    assert "use -> lookup_table" in str(info.value)
    # a sync predictor outside any event loop: daidai builds the async artifact itself
    with pytest.raises(BuildError) as async_info:
        use_async_from_sync()
    assert isinstance(async_info.value.__cause__, KeyError)
    assert "use_async_from_sync -> async_lookup" in str(async_info.value)


def test_a_failed_build_is_retried_on_next_use() -> None:
    attempts: list[int] = []

    @artifact
    def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("transient")
        return "ok"

    @predictor
    def use(f: Annotated[str, flaky]) -> str:
        return f

    with ModelManager():
        with pytest.raises(BuildError):
            use()
        assert use() == "ok"
        assert use() == "ok"
    assert len(attempts) == 2


def test_errors_in_a_predictor_body_are_not_wrapped() -> None:
    @artifact
    def model() -> str:
        return "m"

    @predictor
    def classify(m: Annotated[str, model]) -> str:
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input") as info:
        classify()
    assert not isinstance(info.value, DaidaiError)


def test_dependencies_built_before_a_failure_are_torn_down_with_the_manager() -> None:
    events: list[str] = []

    @artifact
    def weights() -> Iterator[str]:
        events.append("setup weights")
        yield "w"
        events.append("teardown weights")

    @artifact
    def model(w: Annotated[str, weights]) -> str:
        raise RuntimeError("boom")

    with ModelManager(), pytest.raises(BuildError):
        model()
    assert events == ["setup weights", "teardown weights"]


# ------------------------------------------------------------------------------- CycleError
def test_two_component_cycle_is_reported_with_its_path() -> None:
    @artifact
    def a(x: "Annotated[str, b]") -> str:
        return "a"

    @artifact
    def b(x: Annotated[str, a]) -> str:
        return "b"

    with pytest.raises(CycleError) as info:
        a()
    assert isinstance(info.value, DaidaiError)
    assert not isinstance(info.value, RecursionError)
    assert "a -> b -> a" in str(info.value)

    with pytest.raises(CycleError) as from_b:
        b()
    assert "b -> a -> b" in str(from_b.value)


def test_three_component_cycle_through_a_predictor() -> None:
    @artifact
    def a(x: "Annotated[str, b]") -> str:
        return "a"

    @artifact
    def b(x: "Annotated[str, c]") -> str:
        return "b"

    @artifact
    def c(x: Annotated[str, a]) -> str:
        return "c"

    @predictor
    def run(x: Annotated[str, a]) -> str:
        return x

    with pytest.raises(CycleError) as info:
        run()
    assert "a -> b -> c -> a" in str(info.value)
    with pytest.raises(CycleError, match="a -> b -> c -> a"):
        ModelManager(preload=[run])
    with ModelManager() as manager, pytest.raises(CycleError, match="c -> a -> b -> c"):
        manager.load(c)


def test_self_cycle() -> None:
    @artifact
    def loop(x: "Annotated[str, loop]") -> str:
        return x

    with pytest.raises(CycleError, match="loop -> loop"):
        loop()


def _outcome_within(seconds: float, fn: Any) -> tuple[bool, Any]:
    """Run ``fn`` in a daemon thread: ``(finished, result or exception)``; a hang is reported
    as ``finished=False`` instead of hanging the test suite."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(fn())
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return (not thread.is_alive(), outcome[0] if outcome else None)


def test_cycle_through_a_predictor_called_while_building() -> None:
    @artifact
    def model(score: "Annotated[Callable[[], str], scorer]") -> str:
        return "model+" + score()

    @predictor
    def scorer(m: Annotated[str, model]) -> str:
        return m

    finished, result = _outcome_within(3, model)
    assert finished, "a dependency cycle must be reported, not hang"
    assert isinstance(result, CycleError), result
    assert re.search(r"(model -> scorer -> model|scorer -> model -> scorer)", str(result))


def test_cycle_through_direct_calls_in_build_bodies_is_reported_not_a_hang() -> None:
    """``a``'s body calls ``b()`` whose body calls ``a()``: a cycle daidai can see at run time."""

    @artifact
    def first_cyclic() -> str:
        return "a+" + second_cyclic()

    @artifact
    def second_cyclic() -> str:
        return "b+" + first_cyclic()

    finished, result = _outcome_within(3, first_cyclic)
    assert finished, "first_cyclic() -> second_cyclic() -> first_cyclic() hung (deadlock)"
    assert isinstance(result, CycleError), repr(result)
    assert "first_cyclic -> second_cyclic -> first_cyclic" in str(result)


def test_artifact_calling_itself_while_building_is_reported_not_a_hang() -> None:
    @artifact
    def selfish() -> str:
        return "again " + selfish()

    finished, result = _outcome_within(3, selfish)
    assert finished, "selfish() calling selfish() while building hung (deadlock)"
    assert isinstance(result, CycleError), repr(result)
    assert "selfish -> selfish" in str(result)


def test_cycle_never_builds_anything() -> None:
    built: list[str] = []

    @artifact
    def leaf() -> str:
        built.append("leaf")
        return "leaf"

    @artifact
    def a(x: "Annotated[str, b]", y: Annotated[str, leaf]) -> str:
        built.append("a")
        return "a"

    @artifact
    def b(x: Annotated[str, a]) -> str:
        built.append("b")
        return "b"

    with pytest.raises(CycleError):
        a()
    assert "a" not in built
    assert "b" not in built


def test_long_acyclic_chain_is_not_a_recursion_error() -> None:
    """A deep but valid chain builds; only real cycles are errors."""

    def make_link(dep: Any) -> Any:
        if dep is None:

            @artifact
            def link() -> int:
                return 0

            return link

        @artifact
        def link_on(x: Annotated[int, dep]) -> int:
            return x + 1

        return link_on

    last: Any = None
    for _ in range(200):
        last = make_link(last)
    with ModelManager():
        assert last() == 199


# ------------------------------------------------------------------------ ComponentNotFound
@artifact
def tokenizer() -> str:
    return "tok"


@artifact
def embeddings_for_errors() -> str:
    return "emb"


def test_unknown_component_by_name_suggests_a_near_match() -> None:
    with pytest.raises(ComponentNotFound) as info, ModelManager() as manager:
        manager.load("tokenzer")
    error = info.value
    assert isinstance(error, LookupError)
    assert isinstance(error, DaidaiError)
    assert not isinstance(error, KeyError)
    message = str(error)
    assert "tokenzer" in message
    assert "did you mean 'tokenizer'" in message.lower()
    # lists what exists
    assert "embeddings_for_errors" in message


def test_unknown_component_without_a_near_match_lists_what_exists() -> None:
    with pytest.raises(ComponentNotFound) as info:
        ModelManager().load("zqxwvyutsr")
    message = str(info.value)
    assert "zqxwvyutsr" in message
    assert "did you mean" not in message.lower()
    assert "tokenizer" in message
    assert "embeddings_for_errors" in message


def test_unknown_component_by_name_in_preload_and_config() -> None:
    with pytest.raises(ComponentNotFound, match="tokenizer"):
        ModelManager(preload=["tokenzer"])
    with pytest.raises(ComponentNotFound, match="tokenizer"):
        ModelManager({"tokenzer": {}})
    with pytest.raises(ComponentNotFound, match="tokenizer"):
        ModelManager(config={"tokenzer": {}})


def test_loading_by_name_works_for_the_real_name() -> None:
    with ModelManager() as manager:
        assert manager.load("embeddings_for_errors") == "emb"


# ------------------------------------------------------------------------- no bare KeyError
def test_not_a_component_is_a_daidai_error() -> None:
    def plain() -> int:
        return 1

    with pytest.raises(DaidaiError) as info, ModelManager() as manager:
        manager.load(plain)
    assert not isinstance(info.value, KeyError)
    with pytest.raises(DaidaiError):
        ModelManager(preload=[plain])
    with pytest.raises(DaidaiError):
        ModelManager(config={plain: {"x": 1}})


def test_misuse_never_surfaces_as_a_bare_key_error() -> None:
    @artifact
    def model(size: str = "base") -> str:
        return size

    @predictor
    def classify(text: str, m: Annotated[str, model]) -> str:
        return text

    attempts = [
        lambda: model(sise="xl"),
        lambda: ModelManager({model: {"sise": "xl"}}),
        lambda: ModelManager().load("modle"),
        lambda: classify(),
        lambda: classify("x", unknown=1),
    ]
    for attempt in attempts:
        with pytest.raises(Exception) as info:  # noqa: PT011 - the type is what is checked
            attempt()
        assert type(info.value) is not KeyError, info.value
        assert isinstance(info.value, (DaidaiError, TypeError)), repr(info.value)


def test_config_error_for_configuring_a_predictor() -> None:
    @predictor
    def classify(text: str) -> str:
        return text

    with pytest.raises(ConfigError):
        ModelManager(config={classify: {"text": "x"}})
