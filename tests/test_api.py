"""Point 1 of the core issue: the public names and what the decorators keep from the function.

DESIGN.md 1.1: ``@artifact`` / ``@artifact(scope=..., name=...)``, ``@predictor`` /
``@predictor()``, ``asset`` an alias of ``artifact``; decorated functions keep their name,
docstring, signature and return annotation, and calling them returns the instance (artifact)
or runs the function (predictor).
"""

import asyncio
import inspect
import typing
from collections.abc import AsyncIterator, Iterator
from typing import Annotated

import pytest

import daidai
from daidai import (
    DaidaiError,
    ModelManager,
    ScopeMismatch,
    artifact,
    asset,
    predictor,
)


class Model:
    def __init__(self, size: str = "base") -> None:
        self.size = size


class Conn:
    def __init__(self) -> None:
        self.closed = False


# ------------------------------------------------------------------------------- public names
def test_public_names_are_importable_from_the_package() -> None:
    from daidai import (  # noqa: F401 - importing them is the test
        DaidaiError,
        ModelManager,
        ScopeMismatch,
        artifact,
        asset,
        predictor,
    )

    for name in ("artifact", "predictor", "ModelManager", "asset", "ScopeMismatch", "DaidaiError"):
        assert name in daidai.__all__, name


def test_asset_is_an_alias_of_artifact() -> None:
    assert asset is artifact


def test_asset_decorates_like_artifact() -> None:
    built: list[int] = []

    @asset
    def legacy() -> int:
        built.append(1)
        return 41

    @asset(scope="session")
    def legacy_session() -> int:
        return 1

    @predictor
    def use(m: Annotated[int, legacy], s: Annotated[int, legacy_session]) -> int:
        return m + s

    assert use() == 42
    assert use() == 42
    assert built == [1]


def test_errors_share_the_daidai_base_class() -> None:
    assert issubclass(ScopeMismatch, DaidaiError)
    assert issubclass(DaidaiError, Exception)
    for name in (
        "BuildError",
        "ComponentNotFound",
        "ConfigError",
        "CycleError",
        "ScopeMismatch",
        "WrongAnnotation",
    ):
        assert issubclass(getattr(daidai, name), DaidaiError), name


# ------------------------------------------------------------------------ decorator call forms
def test_bare_artifact_returns_its_instance() -> None:
    calls: list[str] = []

    @artifact
    def model() -> Model:
        calls.append("built")
        return Model()

    first = model()
    assert isinstance(first, Model)
    assert model() is first
    assert calls == ["built"]


def test_artifact_with_empty_parentheses() -> None:
    @artifact()
    def model() -> Model:
        return Model("paren")

    assert model().size == "paren"


def test_artifact_with_scope_and_name_arguments() -> None:
    built: list[str] = []

    @artifact(scope="session", name="api_named_model")
    def some_function_name() -> Model:
        built.append("x")
        return Model("named")

    # the name given with name= is how the component is found by name
    with ModelManager():
        with ModelManager() as inner:
            by_name = inner.load("api_named_model")
            assert by_name.size == "named"
            assert some_function_name() is by_name
        # session scope: the instance outlives the inner manager and is shared
        assert some_function_name() is by_name
    assert built == ["x"]
    # the Python name is unchanged
    assert some_function_name.__name__ == "some_function_name"


@pytest.mark.parametrize("scope", ["session", "namespace", "call"])
def test_artifact_accepts_each_scope(scope: str) -> None:
    @artifact(scope=scope)
    def scoped() -> str:
        return scope

    @predictor
    def use(v: Annotated[str, scoped]) -> str:
        return v

    assert use() == scope


def test_artifact_accepts_a_scope_enum() -> None:
    @artifact(scope=daidai.Scope.SESSION)
    def scoped() -> int:
        return 1

    with ModelManager():
        with ModelManager():
            first = scoped()
        assert scoped() is first  # session: outlived the inner manager


def test_artifact_rejects_an_unknown_scope_naming_the_allowed_ones() -> None:
    with pytest.raises(daidai.ConfigError) as info:

        @artifact(scope="forever")
        def scoped() -> int:
            return 1

    message = str(info.value)
    assert "forever" in message
    for allowed in ("session", "namespace", "call"):
        assert allowed in message


def test_bare_predictor_runs_the_function() -> None:
    @artifact
    def model() -> Model:
        return Model("m")

    @predictor
    def classify(text: str, m: Annotated[Model, model]) -> str:
        return f"{text}/{m.size}"

    assert classify("hello") == "hello/m"
    assert classify(text="again") == "again/m"


def test_predictor_with_empty_parentheses() -> None:
    @artifact
    def model() -> Model:
        return Model("m")

    @predictor()
    def classify(text: str, m: Annotated[Model, model]) -> str:
        return f"{text}/{m.size}"

    assert classify("hi") == "hi/m"


def test_predictor_without_dependencies_is_a_plain_call() -> None:
    @predictor
    def double(x: int, factor: int = 2) -> int:
        return x * factor

    assert double(3) == 6
    assert double(3, 3) == 9
    assert double(x=3, factor=4) == 12


def test_generator_artifact_returns_the_yielded_value_and_tears_down() -> None:
    events: list[str] = []

    @artifact
    def conn() -> Iterator[Conn]:
        c = Conn()
        events.append("open")
        yield c
        c.closed = True
        events.append("close")

    with ModelManager():
        c = conn()
        assert isinstance(c, Conn)
        assert conn() is c
        assert events == ["open"]
    assert events == ["open", "close"]
    assert c.closed


# ------------------------------------------------------------------ what the wrapper preserves
def _plain_model(size: str = "base", *, layers: int = 2) -> Model:
    """Build the model."""
    return Model(size)


def _same_signature(a: inspect.Signature, b: inspect.Signature) -> None:
    assert list(a.parameters) == list(b.parameters)
    for name, param in a.parameters.items():
        other = b.parameters[name]
        assert param.kind == other.kind, name
        assert param.default == other.default, name
        assert param.annotation == other.annotation, name
    assert a.return_annotation == b.return_annotation


def test_artifact_keeps_name_doc_signature_and_return_annotation() -> None:
    def weights(path: str = "w.pt", *, dtype: str = "f32") -> dict[str, str]:
        """Load the weights."""
        return {"path": path, "dtype": dtype}

    original = inspect.signature(weights)
    decorated = artifact(weights)
    assert decorated.__name__ == "weights"
    assert decorated.__qualname__ == weights.__qualname__
    assert decorated.__module__ == __name__
    assert decorated.__doc__ == "Load the weights."
    _same_signature(inspect.signature(decorated), original)
    assert inspect.signature(decorated).return_annotation == dict[str, str]
    assert typing.get_type_hints(decorated)["return"] == dict[str, str]
    assert decorated() == {"path": "w.pt", "dtype": "f32"}


def test_predictor_keeps_name_doc_signature_and_return_annotation() -> None:
    @artifact
    def model() -> Model:
        return Model("x")

    def classify(text: str, m: Annotated[Model, model], *, top: int = 1) -> str:
        """Classify ``text``."""
        return f"{text}:{m.size}:{top}"

    original = inspect.signature(classify)
    decorated = predictor(classify)
    assert decorated.__name__ == "classify"
    assert decorated.__qualname__ == classify.__qualname__
    assert decorated.__doc__ == "Classify ``text``."
    _same_signature(inspect.signature(decorated), original)
    hints = typing.get_type_hints(decorated, localns={"model": model}, include_extras=True)
    assert hints["return"] is str
    assert hints["text"] is str
    # the signature stays the same after the first call (the wrapper specializes itself)
    assert decorated("a") == "a:x:1"
    assert decorated("b", top=3) == "b:x:3"
    _same_signature(inspect.signature(decorated), original)
    assert decorated.__name__ == "classify"


def test_signature_is_kept_for_module_level_components() -> None:
    decorated_model = artifact(_plain_model)
    _same_signature(inspect.signature(decorated_model), inspect.signature(_plain_model))
    assert decorated_model.__doc__ == "Build the model."
    assert decorated_model.__name__ == "_plain_model"


def test_decorated_with_arguments_keeps_metadata() -> None:
    def tokenizer(vocab: str = "v.txt") -> list[str]:
        """Split the vocabulary."""
        return vocab.split(".")

    decorated = artifact(scope="session", name="api_tok_meta")(tokenizer)
    assert decorated.__name__ == "tokenizer"
    assert decorated.__doc__ == "Split the vocabulary."
    _same_signature(inspect.signature(decorated), inspect.signature(tokenizer))

    def predict(x: int) -> int:
        """Predict."""
        return x + 1

    decorated_predict = predictor()(predict)
    assert decorated_predict.__name__ == "predict"
    assert decorated_predict.__doc__ == "Predict."
    _same_signature(inspect.signature(decorated_predict), inspect.signature(predict))
    assert decorated_predict(1) == 2


def test_wrapped_original_is_reachable() -> None:
    def model() -> Model:
        return Model()

    decorated = artifact(model)
    assert inspect.unwrap(decorated) is model


# ------------------------------------------------------------------------------------ async
def test_async_predictor_is_a_coroutine_function_and_runs() -> None:
    @artifact
    def model() -> Model:
        return Model("async")

    @predictor
    async def aclassify(text: str, m: Annotated[Model, model]) -> str:
        """Classify asynchronously."""
        await asyncio.sleep(0)
        return f"{text}:{m.size}"

    assert inspect.iscoroutinefunction(aclassify)
    assert aclassify.__name__ == "aclassify"
    assert aclassify.__doc__ == "Classify asynchronously."
    assert asyncio.run(aclassify("t")) == "t:async"
    # still a coroutine function after it specialized itself on first call
    assert inspect.iscoroutinefunction(aclassify)
    assert asyncio.run(aclassify("u")) == "u:async"


def test_sync_predictor_is_not_a_coroutine_function() -> None:
    @predictor
    def classify(text: str) -> str:
        return text

    assert not inspect.iscoroutinefunction(classify)
    assert classify("x") == "x"
    assert not inspect.iscoroutinefunction(classify)


def test_async_artifacts_return_awaitables() -> None:
    @artifact
    async def amodel() -> Model:
        await asyncio.sleep(0)
        return Model("coro")

    @artifact
    async def aconn() -> AsyncIterator[Conn]:
        yield Conn()

    assert inspect.iscoroutinefunction(amodel)

    async def main() -> tuple[Model, Model, Conn]:
        async with ModelManager():
            first = await amodel()
            second = await amodel()
            conn = await aconn()
            return first, second, conn

    first, second, conn = asyncio.run(main())
    assert first is second
    assert first.size == "coro"
    assert isinstance(conn, Conn)


def test_predictor_receives_async_artifact_value_when_async() -> None:
    @artifact
    async def amodel() -> Model:
        return Model("awaited")

    @predictor
    async def use(m: Annotated[Model, amodel]) -> str:
        return m.size

    assert asyncio.run(use()) == "awaited"
