"""Injection with ``from __future__ import annotations`` (DESIGN.md 1.2, core issue point 2).

Every annotation in this module is a string. daidai evaluates them lazily, on first use, so a
component may name components and classes defined later in the module, and components defined
inside a test function may refer to each other and to classes local to that function. A name
that cannot be resolved is a ``daidai.WrongAnnotation`` (also a ``TypeError``) naming the name
and the parameter, raised on first use and not when the function is decorated.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any

import pytest

import daidai
from daidai import DaidaiError, ModelManager, WrongAnnotation, artifact, predictor

if TYPE_CHECKING:  # imported for type checkers only, as linters recommend
    from decimal import Decimal
    from fractions import Fraction


# --------------------------------------------------- module level, referring to later names
@predictor
def early_classify(text: str, m: Annotated[LateModel, late_model, {"size": "xl"}]) -> str:
    return f"{text}:{m.size}"


@artifact
def late_model(size: str = "base") -> LateModel:
    LATE_BUILDS.append(size)
    return LateModel(size)


class LateModel:
    def __init__(self, size: str) -> None:
        self.size = size


LATE_BUILDS: list[str] = []


def test_module_level_forward_references_resolve_on_first_use() -> None:
    LATE_BUILDS.clear()
    assert early_classify("a") == "a:xl"
    assert early_classify("b") == "b:xl"
    assert LATE_BUILDS == ["xl"]


def test_annotations_really_are_strings_here() -> None:
    assert isinstance(inspect_annotation(early_classify, "m"), str)


def inspect_annotation(fn: Callable[..., Any], name: str) -> Any:
    import inspect

    return inspect.signature(fn).parameters[name].annotation


# ------------------------------------------------------- components local to a test function
def test_local_components_refer_to_each_other_and_to_a_local_class() -> None:
    builds: list[str] = []

    class Tokenizer:
        def __init__(self, vocab: list[str]) -> None:
            self.vocab = vocab

    class Encoder:
        def __init__(self, tokenizer: Tokenizer, dim: int) -> None:
            self.tokenizer = tokenizer
            self.dim = dim

    @artifact
    def tokenizer(vocab: str = "a b") -> Tokenizer:
        builds.append("tokenizer")
        return Tokenizer(vocab.split())

    @artifact
    def encoder(tok: Annotated[Tokenizer, tokenizer], dim: int = 8) -> Encoder:
        builds.append(f"encoder{dim}")
        return Encoder(tok, dim)

    @predictor
    def encode(
        text: str,
        enc: Annotated[Encoder, encoder, {"dim": 4}],
        tok: Annotated[Tokenizer, tokenizer],
    ) -> str:
        assert enc.tokenizer is tok
        return f"{text}:{enc.dim}:{len(tok.vocab)}"

    assert encode("x") == "x:4:2"
    with ModelManager():
        assert encode("y") == "y:4:2"
        assert encode("y") == "y:4:2"
    assert builds == ["tokenizer", "encoder4", "tokenizer", "encoder4"]


def test_local_component_refers_to_one_defined_after_it() -> None:
    class Model:
        def __init__(self, size: str) -> None:
            self.size = size

    @predictor
    def classify(text: str, m: Annotated[Model, model]) -> str:
        return f"{text}:{m.size}"

    @artifact
    def model(size: str = "later") -> Model:
        return Model(size)

    assert classify("x") == "x:later"


def test_local_class_defined_after_the_component_but_before_first_use() -> None:
    """Hints are resolved on first use: a local class defined by then must be found."""

    @predictor
    def classify(text: str, m: Annotated[Model, model]) -> str:
        return f"{text}:{m.name}"

    class Model:
        name = "defined later"

    @artifact
    def model() -> Model:
        return Model()

    assert classify("x") == "x:defined later"


def test_local_default_value_form_and_predictor_dependency() -> None:
    class Model:
        name = "local"

    @artifact
    def model() -> Model:
        return Model()

    @predictor
    def embed(text: str, m=model) -> str:  # type: ignore[no-untyped-def]
        return f"{text}/{m.name}"

    @predictor
    def pipeline(text: str, embedder: Annotated[Callable[[str], str], embed]) -> str:
        return embedder(text).upper()

    assert pipeline("a") == "A/LOCAL"


def test_local_generator_and_async_artifacts() -> None:
    events: list[str] = []

    class Conn:
        pass

    @artifact
    def conn() -> Iterator[Conn]:
        events.append("open")
        yield Conn()
        events.append("close")

    @artifact
    async def aconf(value: int = 3) -> int:
        return value

    @predictor
    async def query(c: Annotated[Conn, conn], n: Annotated[int, aconf, {"value": 5}]) -> str:
        return f"{type(c).__name__}:{n}"

    async def main() -> str:
        async with ModelManager():
            return await query()

    assert asyncio.run(main()) == "Conn:5"
    assert events == ["open", "close"]


def test_components_made_by_a_factory_function() -> None:
    def make(prefix: str) -> Callable[[str], str]:
        class Box:
            def __init__(self, value: str) -> None:
                self.value = value

        @artifact
        def box() -> Box:
            return Box(prefix)

        @predictor
        def show(text: str, b: Annotated[Box, box]) -> str:
            return f"{b.value}{text}"

        return show

    first = make("1:")
    assert first("a") == "1:a"
    second = make("2:")
    assert second("b") == "2:b"


# ------------------------------------------------------------------- unresolvable names
def test_unresolvable_name_is_reported_on_first_use_not_at_decoration() -> None:
    # decorating must not raise: the name could be defined later
    @predictor
    def classify(text: str, m: Annotated[Any, no_such_component]) -> str:  # noqa: F821
        return text

    with pytest.raises(WrongAnnotation) as info:
        classify("x")
    error = info.value
    assert isinstance(error, TypeError)
    assert isinstance(error, DaidaiError)
    message = str(error)
    assert "no_such_component" in message
    assert "'m'" in message or '"m"' in message or "parameter m" in message
    assert "classify" in message
    # the second use reports the same problem (nothing half-initialised)
    with pytest.raises(WrongAnnotation, match="no_such_component"):
        classify("x")


def test_unresolvable_name_in_an_artifact() -> None:
    @artifact
    def model(w: Annotated[int, missing_weights]) -> str:  # noqa: F821
        return "m"

    with pytest.raises(daidai.WrongAnnotation) as info:
        model()
    message = str(info.value)
    assert "missing_weights" in message
    assert "'w'" in message
    assert "model" in message


def test_type_checking_only_types_of_inputs_and_config_are_not_needed_at_run_time() -> None:
    """Plain parameters are inputs or configuration: daidai has no use for their types, so
    types imported only under ``TYPE_CHECKING`` (idiomatic with postponed annotations) must
    not stop the component from working."""

    @artifact
    def model(scale: Decimal | None = None) -> str:
        return "m"

    @predictor
    def classify(ratio: Fraction, m: Annotated[str, model]) -> str:
        return f"{ratio}:{m}"

    assert classify("1/2") == "1/2:m"
    assert model() == "m"


def test_unresolvable_name_reported_when_preloading() -> None:
    @artifact
    def model(dep: Annotated[int, undefined_dependency]) -> int:  # noqa: F821
        return dep

    @predictor
    def classify(m: Annotated[int, model]) -> int:
        return m

    with pytest.raises(TypeError) as info:  # WrongAnnotation is a TypeError
        ModelManager(preload=[classify])
    assert isinstance(info.value, WrongAnnotation)
    assert "undefined_dependency" in str(info.value)
    assert "dep" in str(info.value)


def test_unresolvable_name_inside_a_dependency_is_named() -> None:
    @artifact
    def weights(w: Annotated[int, missing_weights_source]) -> int:  # noqa: F821
        return w

    @artifact
    def model(w: Annotated[int, weights]) -> int:
        return w

    @predictor
    def classify(m: Annotated[int, model]) -> int:
        return m

    with pytest.raises(WrongAnnotation) as info:
        classify()
    assert "missing_weights_source" in str(info.value)
    assert "weights" in str(info.value)
