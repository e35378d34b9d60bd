"""Point 2 of the core issue: declaring what a component needs (DESIGN.md 1.2, 1.6 call time).

The forms: ``Annotated[T, component]``, ``Annotated[T, component, {config}]``, a default value
that is a component (``m=model``), and configuration parameters with defaults. A predictor may
depend on another predictor (it receives the callable). A predictor's keyword argument naming
an injected parameter replaces it for that call, and nothing is built for it.

``from __future__ import annotations`` cases live in ``test_future_annotations.py``.
"""

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import pytest

from daidai import ModelManager, artifact, predictor


class Model:
    def __init__(self, size: str = "base", weights: Any = None) -> None:
        self.size = size
        self.weights = weights


class Counter:
    """Counts builds per key."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()

    def hit(self, key: str) -> None:
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1

    def __getitem__(self, key: str) -> int:
        return self.counts.get(key, 0)


# --------------------------------------------------------------------- the injection forms
def test_annotated_component_is_injected() -> None:
    builds = Counter()

    @artifact
    def model() -> Model:
        builds.hit("model")
        return Model("annotated")

    @predictor
    def classify(text: str, m: Annotated[Model, model]) -> str:
        return f"{text}:{m.size}"

    assert classify("a") == "a:annotated"
    assert classify("b") == "b:annotated"
    assert builds["model"] == 1


def test_annotated_component_with_configuration() -> None:
    seen: list[str] = []

    @artifact
    def model(size: str = "base") -> Model:
        seen.append(size)
        return Model(size)

    @predictor
    def classify(m: Annotated[Model, model, {"size": "large"}]) -> str:
        return m.size

    assert classify() == "large"
    assert classify() == "large"
    assert seen == ["large"]


def test_default_value_that_is_a_component() -> None:
    builds = Counter()

    @artifact
    def model() -> Model:
        builds.hit("model")
        return Model("default-form")

    @predictor
    def classify(text: str, m=model) -> str:  # type: ignore[no-untyped-def]
        return f"{text}:{m.size}"

    assert classify("x") == "x:default-form"
    assert classify("y") == "y:default-form"
    assert builds["model"] == 1


def test_default_value_and_annotated_forms_share_one_instance() -> None:
    builds = Counter()

    @artifact
    def model() -> Model:
        builds.hit("model")
        return Model()

    @predictor
    def by_default(m=model) -> Model:  # type: ignore[no-untyped-def]
        return m  # type: ignore[no-any-return]

    @predictor
    def by_annotation(m: Annotated[Model, model]) -> Model:
        return m

    with ModelManager():
        assert by_default() is by_annotation()
    assert builds["model"] == 1


def test_artifact_depends_on_artifact_in_both_forms() -> None:
    @artifact
    def weights() -> list[float]:
        return [0.5, 0.25]

    @artifact
    def vocab() -> list[str]:
        return ["a", "b"]

    @artifact
    def model(w: Annotated[list[float], weights], v=vocab) -> Model:  # type: ignore[no-untyped-def]
        return Model(size=f"{len(v)} words", weights=w)

    @predictor
    def describe(m: Annotated[Model, model]) -> tuple[str, Any]:
        return m.size, m.weights

    assert describe() == ("2 words", [0.5, 0.25])
    assert model().weights is weights()


def test_configuration_parameters_with_defaults() -> None:
    seen: list[tuple[str, int, bool]] = []

    @artifact
    def model(size: str = "base", layers: int = 12, *, fp16: bool = False) -> Model:
        seen.append((size, layers, fp16))
        return Model(size)

    assert model().size == "base"
    assert seen == [("base", 12, False)]
    model(layers=24, fp16=True)
    assert seen[-1] == ("base", 24, True)


def test_configuration_parameters_mix_with_dependencies() -> None:
    @artifact
    def weights(path: str = "w.pt") -> str:
        return f"weights from {path}"

    @artifact
    def model(w: Annotated[str, weights], size: str = "base", *, dtype: str = "f32") -> Model:
        return Model(f"{size}/{dtype}", weights=w)

    @predictor
    def describe(m: Annotated[Model, model, {"dtype": "bf16"}]) -> str:
        return f"{m.size} {m.weights}"

    assert describe() == "base/bf16 weights from w.pt"
    direct = model(size="xl")
    assert direct.size == "xl/f32"
    assert direct.weights == "weights from w.pt"


def test_predictor_inputs_and_their_defaults() -> None:
    @artifact
    def model() -> Model:
        return Model("m")

    @predictor
    def classify(
        text: str,
        m: Annotated[Model, model],
        threshold: float = 0.5,
        *,
        top_k: int = 1,
        **extra: Any,
    ) -> tuple[str, str, float, int, dict[str, Any]]:
        return text, m.size, threshold, top_k, extra

    assert classify("a") == ("a", "m", 0.5, 1, {})
    assert classify("a", threshold=0.9) == ("a", "m", 0.9, 1, {})
    assert classify(text="b", top_k=3, flag=True) == ("b", "m", 0.5, 3, {"flag": True})
    with ModelManager():
        # warm path (second call) and slow path agree
        assert classify("c", top_k=2) == ("c", "m", 0.5, 2, {})
        assert classify("c", top_k=2) == ("c", "m", 0.5, 2, {})


def test_injected_parameter_before_inputs() -> None:
    @artifact
    def model() -> Model:
        return Model("first")

    @predictor
    def classify(m: Annotated[Model, model], text: str, suffix: str = "!") -> str:
        return f"{m.size}:{text}{suffix}"

    assert classify(text="x") == "first:x!"
    with ModelManager():
        assert classify(text="y", suffix="?") == "first:y?"
        assert classify(text="y", suffix="?") == "first:y?"


def test_positional_only_and_varargs_inputs() -> None:
    @artifact
    def model() -> Model:
        return Model("m")

    @predictor
    def join(first: str, /, *rest: str, m: Annotated[Model, model]) -> str:
        return "+".join((first, *rest, m.size))

    assert join("a") == "a+m"
    assert join("a", "b", "c") == "a+b+c+m"
    with ModelManager():
        assert join("a", "b") == "a+b+m"
        assert join("a", "b") == "a+b+m"


def test_missing_input_is_a_type_error_naming_it() -> None:
    @artifact
    def model() -> Model:
        return Model()

    @predictor
    def classify(text: str, m: Annotated[Model, model]) -> str:
        return text

    with pytest.raises(TypeError, match="text"):
        classify()
    with pytest.raises(TypeError):
        classify("a", "b", "c")  # type: ignore[call-arg]


def test_predictor_keywords_never_configure_artifacts() -> None:
    seen: list[str] = []

    @artifact
    def model(size: str = "base") -> Model:
        seen.append(size)
        return Model(size)

    @predictor
    def classify(text: str, m: Annotated[Model, model]) -> str:
        return m.size

    with pytest.raises(TypeError, match="size"):
        classify("x", size="xl")
    assert "xl" not in seen


# ------------------------------------------------------------------------ predictor to predictor
def test_predictor_depends_on_predictor_and_receives_a_callable() -> None:
    builds = Counter()

    @artifact
    def model() -> Model:
        builds.hit("model")
        return Model("inner")

    @predictor
    def embed(text: str, m: Annotated[Model, model]) -> str:
        return f"embed({text},{m.size})"

    @predictor
    def pipeline(text: str, embedder: Annotated[Callable[[str], str], embed]) -> str:
        assert callable(embedder)
        return f"pipeline[{embedder(text)}]"

    with ModelManager():
        assert pipeline("b") == "pipeline[embed(b,inner)]"
        assert pipeline("c") == "pipeline[embed(c,inner)]"
        assert embed("d") == "embed(d,inner)"
    assert builds["model"] == 1
    assert pipeline("a") == "pipeline[embed(a,inner)]"


def test_predictor_dependency_by_default_value() -> None:
    @artifact
    def model() -> Model:
        return Model("dv")

    @predictor
    def embed(text: str, m: Annotated[Model, model]) -> str:
        return f"{text}-{m.size}"

    @predictor
    def pipeline(text: str, embedder=embed) -> str:  # type: ignore[no-untyped-def]
        return embedder(text).upper()  # type: ignore[no-any-return]

    assert pipeline("x") == "X-DV"


def test_injected_predictor_is_bound_to_its_own_artifacts() -> None:
    @artifact
    def model(size: str = "base") -> Model:
        return Model(size)

    @predictor
    def embed(text: str, m: Annotated[Model, model]) -> str:
        return m.size

    @predictor
    def pipeline(embedder: Annotated[Callable[[str], str], embed]) -> str:
        return embedder("x")

    with ModelManager(config={model: {"size": "configured"}}):
        assert pipeline() == "configured"


def test_predictor_can_be_replaced_at_call_time() -> None:
    @predictor
    def embed(text: str) -> str:
        return "real"

    @predictor
    def pipeline(text: str, embedder: Annotated[Callable[[str], str], embed]) -> str:
        return embedder(text)

    assert pipeline("x", embedder=lambda text: f"fake {text}") == "fake x"
    assert pipeline("x") == "real"


# --------------------------------------------------------------------- call-time replacement
def test_call_time_keyword_replaces_and_skips_building() -> None:
    builds = Counter()

    @artifact
    def weights() -> str:
        builds.hit("weights")
        return "w"

    @artifact
    def model(w: Annotated[str, weights]) -> Model:
        builds.hit("model")
        return Model("real", weights=w)

    @predictor
    def classify(text: str, m: Annotated[Model, model]) -> str:
        return f"{text}:{m.size}"

    fake = Model("fake")
    assert classify("x", m=fake) == "x:fake"
    assert builds["model"] == 0
    assert builds["weights"] == 0
    with ModelManager():
        assert classify("y", m=fake) == "y:fake"
        assert classify("y", m=fake) == "y:fake"
        assert builds["model"] == 0
        assert builds["weights"] == 0
        # the replacement is for that call only
        assert classify("z") == "z:real"
        assert classify("z", m=fake) == "z:fake"
    assert builds["model"] == 1


def test_call_time_replacement_by_position() -> None:
    builds = Counter()

    @artifact
    def model() -> Model:
        builds.hit("model")
        return Model("real")

    @predictor
    def classify(text: str, m: Annotated[Model, model]) -> str:
        return m.size

    assert classify("x", Model("positional")) == "positional"
    assert builds["model"] == 0


def test_call_time_replacement_of_one_of_two_dependencies() -> None:
    builds = Counter()

    @artifact
    def model() -> Model:
        builds.hit("model")
        return Model("real")

    @artifact
    def tokenizer() -> str:
        builds.hit("tokenizer")
        return "tok"

    @predictor
    def classify(text: str, m: Annotated[Model, model], tok: Annotated[str, tokenizer]) -> str:
        return f"{m.size}/{tok}"

    assert classify("x", tok="fake-tok") == "real/fake-tok"
    assert builds["tokenizer"] == 0
    assert builds["model"] == 1
    assert classify("x", m=Model("fake")) == "fake/tok"
    assert builds["model"] == 1
    assert builds["tokenizer"] == 1


def test_call_time_replacement_with_falsy_values() -> None:
    builds = Counter()

    @artifact
    def model() -> Any:
        builds.hit("model")
        return "real"

    @predictor
    def show(m: Annotated[Any, model]) -> Any:
        return m

    for falsy in (None, 0, "", [], False):
        assert show(m=falsy) == falsy
        assert type(show(m=falsy)) is type(falsy)
    assert builds["model"] == 0


# ---------------------------------------------------------------------------------- lifecycle
def test_generator_artifact_injected_and_torn_down() -> None:
    events: list[str] = []

    @artifact
    def conn() -> Iterator[str]:
        events.append("open")
        yield "conn"
        events.append("close")

    @predictor
    def query(sql: str, c: Annotated[str, conn]) -> str:
        return f"{c}:{sql}"

    with ModelManager():
        assert query("select") == "conn:select"
        assert query("select") == "conn:select"
        assert events == ["open"]
    assert events == ["open", "close"]


def test_async_predictor_gets_injected_values() -> None:
    @artifact
    def model() -> Model:
        return Model("sync-dep")

    @artifact
    async def amodel() -> Model:
        return Model("async-dep")

    @predictor
    async def classify(text: str, m: Annotated[Model, model], a: Annotated[Model, amodel]) -> str:
        return f"{text}:{m.size}:{a.size}"

    async def main() -> list[str]:
        async with ModelManager():
            return [await classify("x"), await classify("y"), await classify("z", a=Model("fake"))]

    assert asyncio.run(main()) == [
        "x:sync-dep:async-dep",
        "y:sync-dep:async-dep",
        "z:sync-dep:fake",
    ]


def test_components_defined_inside_a_function_without_future_annotations() -> None:
    class LocalModel:
        def __init__(self, name: str) -> None:
            self.name = name

    def build_components() -> Callable[[str], str]:
        @artifact
        def local_model(name: str = "local") -> LocalModel:
            return LocalModel(name)

        @predictor
        def local_predict(text: str, m: Annotated[LocalModel, local_model]) -> str:
            return f"{text}:{m.name}"

        return local_predict

    assert build_components()("x") == "x:local"


def test_configuration_given_to_a_predictor_dependency_is_rejected() -> None:
    """Predictors take inputs, not configuration: a config mapping for one is a mistake."""
    from daidai import ConfigError

    @predictor
    def embed(text: str) -> str:
        return text

    def define_and_use() -> str:
        @predictor
        def pipeline(text: str, e: Annotated[Callable[[str], str], embed, {"size": "xl"}]) -> str:
            return e(text)

        return pipeline("x")

    with pytest.raises(ConfigError, match="embed"):
        define_and_use()  # at decoration or, at the latest, on first use
