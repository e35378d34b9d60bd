"""Point 3 of the core issue: configuration and identity (DESIGN.md 1.3).

Configuration merges per key, highest first: keyword arguments of a direct call, the innermost
manager's config, outer managers' config, ``Annotated[..., {...}]``, signature defaults. An
instance is identified by its resolved configuration (and dependencies): two configurations
give two instances, the same configuration one. Callable and unhashable values take part in
the identity; falsy values, and values whose ``__bool__`` raises, are cached like any other.
"""

import dataclasses
import threading
from collections.abc import Callable
from typing import Annotated, Any

import numpy as np
import pytest

from daidai import ConfigError, DaidaiError, ModelManager, artifact, predictor


class Builds:
    """Records every build with its configuration."""

    def __init__(self) -> None:
        self.log: list[Any] = []
        self.lock = threading.Lock()

    def add(self, item: Any) -> None:
        with self.lock:
            self.log.append(item)

    def __len__(self) -> int:
        return len(self.log)


class Explosive:
    """A value that refuses truth-testing and comparison, like a numpy array."""

    def __init__(self, tag: str) -> None:
        self.tag = tag

    def __bool__(self) -> bool:
        raise ValueError("truth value of an Explosive is ambiguous")

    def __eq__(self, other: object) -> bool:
        raise ValueError("Explosive cannot be compared")

    __hash__ = None  # type: ignore[assignment]


# ---------------------------------------------------------------------------- precedence
def _five_key_artifact(builds: Builds) -> Callable[..., dict[str, str]]:
    @artifact
    def settings(
        a: str = "sig", b: str = "sig", c: str = "sig", d: str = "sig", e: str = "sig"
    ) -> dict[str, str]:
        config = {"a": a, "b": b, "c": c, "d": d, "e": e}
        builds.add(config)
        return config

    return settings


def test_precedence_through_a_predictor() -> None:
    builds = Builds()
    settings = _five_key_artifact(builds)

    @predictor
    def use(
        s: Annotated[dict[str, str], settings, {"a": "ann", "b": "ann", "c": "ann", "d": "ann"}],
    ) -> dict[str, str]:
        return s

    assert use() == {"a": "ann", "b": "ann", "c": "ann", "d": "ann", "e": "sig"}
    with ModelManager(config={settings: {"a": "outer", "b": "outer", "c": "outer"}}):
        assert use() == {"a": "outer", "b": "outer", "c": "outer", "d": "ann", "e": "sig"}
        with ModelManager(config={settings: {"a": "inner", "b": "inner"}}):
            assert use() == {"a": "inner", "b": "inner", "c": "outer", "d": "ann", "e": "sig"}
            # direct call keywords beat every manager
            assert settings(a="direct") == {
                "a": "direct",
                "b": "inner",
                "c": "outer",
                "d": "sig",
                "e": "sig",
            }
        # the inner manager's configuration ended with it
        assert use() == {"a": "outer", "b": "outer", "c": "outer", "d": "ann", "e": "sig"}


def test_precedence_of_a_direct_call() -> None:
    builds = Builds()
    settings = _five_key_artifact(builds)

    assert settings() == dict.fromkeys("abcde", "sig")
    assert settings(e="direct") == {**dict.fromkeys("abcd", "sig"), "e": "direct"}
    with ModelManager(config={settings: {"a": "outer", "b": "outer"}}):
        assert settings() == {**dict.fromkeys("cde", "sig"), "a": "outer", "b": "outer"}
        with ModelManager({settings: {"a": "inner"}}) as inner:
            assert settings() == {**dict.fromkeys("cde", "sig"), "a": "inner", "b": "outer"}
            assert settings(a="direct", c="direct") == {
                "a": "direct",
                "b": "outer",
                "c": "direct",
                "d": "sig",
                "e": "sig",
            }
            assert inner.load(settings, b="load") == {
                "a": "inner",
                "b": "load",
                "c": "sig",
                "d": "sig",
                "e": "sig",
            }
            # a direct call's configuration is for that call only
            assert settings()["a"] == "inner"


def test_manager_config_beats_annotated_config() -> None:
    @artifact
    def model(size: str = "base") -> str:
        return size

    @predictor
    def use(m: Annotated[str, model, {"size": "annotated"}]) -> str:
        return m

    assert use() == "annotated"
    with ModelManager(config={model: {"size": "manager"}}):
        assert use() == "manager"
    with ModelManager({model: {"size": "preloaded"}}):
        assert use() == "preloaded"


def test_preload_mapping_configures_and_preloads_config_only_configures() -> None:
    builds = Builds()

    @artifact
    def model(size: str = "base") -> str:
        builds.add(size)
        return size

    with ModelManager({model: {"size": "large"}}):
        assert builds.log == ["large"]
        assert model() == "large"
        assert builds.log == ["large"]
    with ModelManager(config={model: {"size": "small"}}):
        assert builds.log == ["large"]  # not preloaded
        assert model() == "small"
        assert builds.log == ["large", "small"]


# ------------------------------------------------------------------ reaching dependents
def test_manager_config_reaches_predictors_and_artifacts_that_depend_on_it() -> None:
    builds = Builds()

    @artifact
    def model(size: str = "base") -> str:
        builds.add(("model", size))
        return f"model-{size}"

    @artifact
    def pipeline(m: Annotated[str, model]) -> str:
        builds.add(("pipeline", m))
        return f"pipeline({m})"

    @predictor
    def classify(text: str, m: Annotated[str, model]) -> str:
        return f"{text}:{m}"

    @predictor
    def run(text: str, p: Annotated[str, pipeline]) -> str:
        return f"{text}:{p}"

    with ModelManager(config={model: {"size": "xl"}}):
        assert classify("a") == "a:model-xl"
        assert run("b") == "b:pipeline(model-xl)"
        assert pipeline() == "pipeline(model-xl)"
        assert model() == "model-xl"
    assert builds.log == [("model", "xl"), ("pipeline", "model-xl")]


def test_manager_config_of_a_deep_dependency_rebuilds_its_dependents() -> None:
    builds = Builds()

    @artifact
    def weights(path: str = "default.pt") -> str:
        builds.add(("weights", path))
        return path

    @artifact
    def model(w: Annotated[str, weights]) -> str:
        builds.add(("model", w))
        return f"model({w})"

    @predictor
    def classify(m: Annotated[str, model]) -> str:
        return m

    with ModelManager():
        assert classify() == "model(default.pt)"
        with ModelManager(config={weights: {"path": "tuned.pt"}}):
            assert classify() == "model(tuned.pt)"
        assert classify() == "model(default.pt)"
    assert builds.log == [
        ("weights", "default.pt"),
        ("model", "default.pt"),
        ("weights", "tuned.pt"),
        ("model", "tuned.pt"),
    ]


def test_inner_manager_without_config_reuses_the_outer_configured_instance() -> None:
    builds = Builds()

    @artifact
    def model(size: str = "base") -> object:
        builds.add(size)
        return object()

    @predictor
    def use(m: Annotated[object, model]) -> object:
        return m

    with ModelManager(config={model: {"size": "outer"}}):
        outer_instance = use()
        with ModelManager():
            assert use() is outer_instance
        with ModelManager(config={model: {"size": "inner"}}):
            inner_instance = use()
            assert inner_instance is not outer_instance
        assert use() is outer_instance
    assert builds.log == ["outer", "inner"]


# ---------------------------------------------------------------------- identity by config
def test_two_configurations_give_two_instances() -> None:
    builds = Builds()

    @artifact
    def model(size: str = "base") -> object:
        builds.add(size)
        return object()

    @predictor
    def use_small(m: Annotated[object, model, {"size": "small"}]) -> object:
        return m

    @predictor
    def use_large(m: Annotated[object, model, {"size": "large"}]) -> object:
        return m

    @predictor
    def use_small_again(m: Annotated[object, model, {"size": "small"}]) -> object:
        return m

    with ModelManager():
        small, large = use_small(), use_large()
        assert small is not large
        assert use_small_again() is small
        assert model(size="small") is small
        assert model(size="large") is large
        assert use_small() is small
        assert builds.log == ["small", "large"]


def test_explicit_default_is_the_same_configuration() -> None:
    builds = Builds()

    @artifact
    def model(size: str = "base") -> object:
        builds.add(size)
        return object()

    with ModelManager():
        assert model() is model(size="base")
    assert builds.log == ["base"]


def test_identity_includes_dependencies() -> None:
    builds = Builds()

    @artifact
    def model(size: str = "base") -> str:
        return size

    @artifact
    def pipeline(m: Annotated[str, model]) -> object:
        builds.add(m)
        return object()

    @predictor
    def run_a(p: Annotated[object, pipeline]) -> object:
        return p

    with ModelManager():
        first = run_a()
        with ModelManager(config={model: {"size": "xl"}}):
            assert run_a() is not first
        assert run_a() is first
    assert builds.log == ["base", "xl"]


# ---------------------------------------------------------------- callable config values
def test_different_callables_give_different_instances() -> None:
    builds = Builds()

    @artifact
    def model(activation: Callable[[float], float] | None = None) -> object:
        builds.add(activation)
        return object()

    def relu(x: float) -> float:
        return max(0.0, x)

    def tanh_like(x: float) -> float:
        return x / (1 + abs(x))

    double = lambda x: x * 2  # noqa: E731
    halve = lambda x: x / 2  # noqa: E731

    with ModelManager():
        with_relu = model(activation=relu)
        assert model(activation=relu) is with_relu
        assert model(activation=tanh_like) is not with_relu
        with_double = model(activation=double)
        with_halve = model(activation=halve)
        assert with_double is not with_halve
        assert model(activation=double) is with_double
        assert model(activation=halve) is with_halve
        assert model() not in (with_relu, with_double, with_halve)
    assert builds.log == [relu, tanh_like, double, halve, None]


def test_different_classes_with_the_same_qualname_are_different_config() -> None:
    """Classes are callables too: two classes made by one factory are two configurations."""
    builds = Builds()

    def make_layer(width: int) -> type:
        class Layer:
            pass

        Layer.width = width  # type: ignore[attr-defined]
        return Layer

    @artifact
    def model(layer: type) -> int:
        builds.add(layer)
        return layer.width  # type: ignore[attr-defined, no-any-return]

    narrow, wide = make_layer(1), make_layer(2)
    assert narrow.__qualname__ == wide.__qualname__
    with ModelManager():
        assert model(layer=narrow) == 1
        assert model(layer=wide) == 2
        assert model(layer=narrow) == 1
    assert builds.log == [narrow, wide]


def test_callable_objects_with_different_state_are_different_config() -> None:
    builds = Builds()

    class Scaler:
        def __init__(self, k: float) -> None:
            self.k = k

        def __call__(self, x: float) -> float:
            return x * self.k

    @artifact
    def model(fn: Callable[[float], float]) -> float:
        builds.add(fn)
        return fn(1.0)

    with ModelManager():
        assert model(fn=Scaler(2.0)) == 2.0
        assert model(fn=Scaler(3.0)) == 3.0
        assert model(fn=Scaler(2.0)) == 2.0
    assert len(builds) == 2


def test_closures_with_different_captured_values_are_different_config() -> None:
    builds = Builds()

    def scaler(factor: float) -> Callable[[float], float]:
        def scale(x: float) -> float:
            return x * factor

        return scale

    @artifact
    def model(transform: Callable[[float], float]) -> float:
        builds.add(transform)
        return transform(1.0)

    with ModelManager():
        assert model(transform=scaler(2.0)) == 2.0
        assert model(transform=scaler(3.0)) == 3.0
        assert model(transform=scaler(2.0)) == 2.0
    assert len(builds) == 2


def test_callable_config_through_manager_and_annotation() -> None:
    builds = Builds()

    def upper(text: str) -> str:
        return text.upper()

    def lower(text: str) -> str:
        return text.lower()

    @artifact
    def normalizer(fn: Callable[[str], str] = str.strip) -> Callable[[str], str]:
        builds.add(fn)
        return fn

    @predictor
    def normalize(text: str, n: Annotated[Callable[[str], str], normalizer, {"fn": upper}]) -> str:
        return n(text)

    with ModelManager():
        assert normalize("Ab") == "AB"
        assert normalize("cd") == "CD"
        with ModelManager(config={normalizer: {"fn": lower}}):
            assert normalize("Ab") == "ab"
    assert builds.log == [upper, lower]


# --------------------------------------------------------------- unhashable config values
def test_list_and_dict_config_values_take_part_in_identity() -> None:
    builds = Builds()

    @artifact
    def model(layers: Any = None) -> object:
        builds.add(layers)
        return object()

    with ModelManager():
        a = model(layers=[64, 32])
        assert model(layers=[64, 32]) is a  # an equal list: same instance
        b = model(layers=[64, 16])
        assert b is not a
        c = model(layers={"hidden": [64, 32], "act": "relu"})
        assert model(layers={"act": "relu", "hidden": [64, 32]}) is c  # key order is irrelevant
        d = model(layers={"hidden": [64, 32], "act": "gelu"})
        assert d is not c
        e = model(layers={"nested": {"deep": [1, {"x": [2]}]}})
        assert model(layers={"nested": {"deep": [1, {"x": [2]}]}}) is e
        assert model(layers={"nested": {"deep": [1, {"x": [3]}]}}) is not e
        s = model(layers={1, 2, 3})
        assert model(layers={3, 2, 1}) is s
    assert len(builds) == 7


def test_unhashable_config_through_manager_and_annotation() -> None:
    builds = Builds()

    @artifact
    def model(layers: list[int] | None = None) -> tuple[int, ...]:
        builds.add(layers)
        return tuple(layers or ())

    @predictor
    def use(m: Annotated[tuple[int, ...], model, {"layers": [1, 2]}]) -> tuple[int, ...]:
        return m

    with ModelManager():
        assert use() == (1, 2)
        assert use() == (1, 2)
        with ModelManager(config={model: {"layers": [3]}}):
            assert use() == (3,)
            assert use() == (3,)
        with ModelManager(config={model: {"layers": [3]}}):
            assert use() == (3,)
    assert builds.log == [[1, 2], [3], [3]]


def test_mutated_list_is_a_new_configuration() -> None:
    builds = Builds()

    @artifact
    def model(layers: list[int]) -> int:
        builds.add(list(layers))
        return sum(layers)

    layers = [1, 2]
    with ModelManager():
        assert model(layers=layers) == 3
        layers.append(3)
        assert model(layers=layers) == 6
    assert builds.log == [[1, 2], [1, 2, 3]]


def test_equal_dataclass_config_values_are_one_configuration() -> None:
    builds = Builds()

    @dataclasses.dataclass
    class Arch:
        layers: list[int]
        activation: str = "relu"

    @artifact
    def model(arch: Arch) -> object:
        builds.add(arch)
        return object()

    with ModelManager():
        a = model(arch=Arch([64, 32]))
        assert model(arch=Arch([64, 32])) is a
        assert model(arch=Arch([64, 32], "gelu")) is not a
        assert model(arch=Arch([64])) is not a
    assert len(builds) == 3


def test_annotated_config_equal_to_the_defaults_is_the_default_instance() -> None:
    builds = Builds()

    @artifact
    def model(size: str = "base") -> object:
        builds.add(size)
        return object()

    @predictor
    def use(m: Annotated[object, model, {"size": "base"}]) -> object:
        return m

    with ModelManager():
        assert use() is model()
    assert len(builds) == 1


# ------------------------------------------------------------------------ falsy config values
@pytest.mark.parametrize("value", [0, "", [], None, False, {}, 0.0, ()])
def test_falsy_config_values_are_cached(value: Any) -> None:
    builds = Builds()

    @artifact
    def model(option: Any = "default") -> object:
        builds.add(option)
        return object()

    @predictor
    def use(m: Annotated[object, model, {"option": value}]) -> object:
        return m

    with ModelManager():
        first = model(option=value)
        assert model(option=value) is first
        assert use() is first
        assert use() is first
        assert model() is not first
    assert len(builds) == 2


def test_falsy_config_from_manager_is_cached() -> None:
    builds = Builds()

    @artifact
    def model(threshold: float | None = 0.5) -> object:
        builds.add(threshold)
        return object()

    @predictor
    def use(m: Annotated[object, model]) -> object:
        return m

    for value in (0, None):
        with ModelManager(config={model: {"threshold": value}}):
            first = use()
            assert use() is first
            assert model() is first
    assert builds.log == [0, None]


# ------------------------------------------------------------------ falsy returned values
@pytest.mark.parametrize("returned", [0, "", [], None, False, {}, 0.0, set()])
def test_artifact_returning_a_falsy_value_is_built_once(returned: Any) -> None:
    builds = Builds()

    @artifact
    def falsy() -> Any:
        builds.add(1)
        return returned

    @artifact
    def dependent(value: Annotated[Any, falsy]) -> Any:
        builds.add(2)
        return value

    @predictor
    def use(value: Annotated[Any, falsy], d: Annotated[Any, dependent]) -> Any:
        return value

    # lazily, in the process-wide default manager
    assert falsy() == returned
    assert falsy() is falsy()
    assert use() is falsy()
    assert builds.log == [1, 2]
    # and inside a manager, both through the artifact and through a predictor
    with ModelManager() as manager:
        for _ in range(3):
            assert use() is returned
            assert falsy() is returned
            assert dependent() is returned
            assert manager.load(falsy) is returned
    assert builds.log == [1, 2, 1, 2]


def test_generator_artifact_yielding_none_is_built_once() -> None:
    events: list[str] = []

    @artifact
    def nothing() -> Any:
        events.append("setup")
        yield None
        events.append("teardown")

    @predictor
    def use(n: Annotated[Any, nothing]) -> Any:
        return n

    with ModelManager():
        assert use() is None
        assert use() is None
        assert nothing() is None
    assert events == ["setup", "teardown"]


@pytest.mark.parametrize("value", [None, 0, "", [], False])
def test_falsy_override_values_are_used(value: Any) -> None:
    builds = Builds()

    @artifact
    def model() -> str:
        builds.add(1)
        return "real"

    @predictor
    def use(m: Annotated[Any, model]) -> Any:
        return m

    with ModelManager(overrides={model: value}):
        assert use() is value
        assert use() is value
        assert model() is value
    assert len(builds) == 0


def test_preload_mapping_instance_is_what_dependents_get() -> None:
    builds = Builds()

    @artifact
    def model(size: str = "base") -> object:
        builds.add(size)
        return object()

    @predictor
    def use(m: Annotated[object, model]) -> object:
        return m

    with ModelManager({model: {"size": "xl"}}) as manager:
        assert builds.log == ["xl"]
        assert use() is manager.load(model)
        assert use() is model()
    assert builds.log == ["xl"]


# --------------------------------------------------------------- values whose bool raises
def test_numpy_array_config_values() -> None:
    builds = Builds()

    @artifact
    def model(weights: Any = None) -> object:
        builds.add(weights)
        return object()

    with ModelManager():
        a = model(weights=np.array([1.0, 2.0, 3.0]))
        assert model(weights=np.array([1.0, 2.0, 3.0])) is a
        assert model(weights=np.array([1.0, 2.0, 4.0])) is not a
        # same bytes, different dtype or shape: different configuration
        z32 = model(weights=np.zeros(4, dtype=np.int32))
        z64 = model(weights=np.zeros(2, dtype=np.int64))
        assert z32 is not z64
        flat = model(weights=np.zeros(4))
        square = model(weights=np.zeros((2, 2)))
        assert flat is not square
        # a view with the same content is the same configuration
        base = np.arange(6.0)
        view = model(weights=base[::2])
        assert model(weights=np.array([0.0, 2.0, 4.0])) is view
        # arrays nested inside a container
        nested = model(weights={"w": np.ones(3), "b": [np.zeros(1)]})
        assert model(weights={"w": np.ones(3), "b": [np.zeros(1)]}) is nested
    assert len(builds) == 8


def test_numpy_array_config_through_manager_and_annotation() -> None:
    builds = Builds()

    @artifact
    def model(weights: Any = None) -> float:
        builds.add(weights)
        return float(np.sum(weights)) if weights is not None else -1.0

    @predictor
    def use(m: Annotated[float, model, {"weights": np.array([1.0, 1.0])}]) -> float:
        return m

    with ModelManager():
        assert use() == 2.0
        assert use() == 2.0
        with ModelManager(config={model: {"weights": np.array([5.0])}}):
            assert use() == 5.0
            assert use() == 5.0
            assert model() == 5.0
    assert len(builds) == 2


def test_numpy_array_returned_by_an_artifact_is_cached() -> None:
    builds = Builds()

    @artifact
    def embeddings() -> np.ndarray:
        builds.add("embeddings")
        return np.arange(4.0)

    @artifact
    def index(e: Annotated[np.ndarray, embeddings]) -> np.ndarray:
        builds.add("index")
        return e * 2

    @predictor
    def score(
        i: int, e: Annotated[np.ndarray, embeddings], ix: Annotated[np.ndarray, index]
    ) -> float:
        return float(e[i] + ix[i])

    assert score(1) == 3.0
    assert embeddings() is embeddings()
    with ModelManager(preload=[score]):
        assert score(2) == 6.0
        assert score(3) == 9.0
        assert index() is index()
        np.testing.assert_array_equal(index(), np.arange(4.0) * 2)
    assert builds.log == ["embeddings", "index", "embeddings", "index"]


def test_empty_numpy_array_returned_is_cached() -> None:
    builds = Builds()

    @artifact
    def empty() -> np.ndarray:
        builds.add(1)
        return np.array([])

    with ModelManager():
        assert empty() is empty()
    assert len(builds) == 1


def test_objects_refusing_bool_and_equality_as_config_and_value() -> None:
    builds = Builds()
    first, second = Explosive("a"), Explosive("b")

    @artifact
    def model(option: Any = None) -> Explosive:
        builds.add(option)
        return Explosive("built")

    @predictor
    def use(m: Annotated[Explosive, model, {"option": first}]) -> Explosive:
        return m

    with ModelManager():
        from_predictor = use()
        assert use() is from_predictor
        assert model(option=first) is from_predictor
        assert model(option=second) is not from_predictor
        plain = model()
        assert model() is plain
    assert len(builds) == 3


# ------------------------------------------------------------------------- invalid config
def test_unknown_config_key_names_the_allowed_ones() -> None:
    @artifact
    def model(size: str = "base", layers: int = 2) -> str:
        return size

    with pytest.raises(ConfigError) as info:
        model(sise="xl")
    error = info.value
    assert isinstance(error, ValueError)
    assert isinstance(error, DaidaiError)
    message = str(error)
    assert "sise" in message
    assert "size" in message.replace("sise", "")
    assert "layers" in message
    assert "model" in message


def test_unknown_config_key_from_a_manager_or_annotation() -> None:
    builds = Builds()

    @artifact
    def model(size: str = "base") -> str:
        builds.add(size)
        return size

    @predictor
    def use(m: Annotated[str, model, {"colour": "red"}]) -> str:
        return m

    with pytest.raises(ConfigError, match="colour"):
        use()
    with pytest.raises(ConfigError, match="sise"):
        ModelManager({model: {"sise": "xl"}})

    @predictor
    def use_plain(m: Annotated[str, model]) -> str:
        return m

    with pytest.raises(ConfigError, match="sise"), ModelManager(config={model: {"sise": "xl"}}):
        use_plain()  # no later than first use
    assert builds.log == []


def test_non_string_config_keys_are_a_config_error() -> None:
    @artifact
    def model(size: str = "base") -> str:
        return size

    for bad in ({1: "a"}, {1: "a", "zz": "b"}, {("size",): "xl"}):
        # never a bare TypeError from sorting the keys
        with pytest.raises(ConfigError), ModelManager(config={model: bad}):
            model()


def test_missing_required_config_is_a_config_error() -> None:
    @artifact
    def model(path: str, size: str = "base") -> str:
        return f"{path}:{size}"

    @predictor
    def use(m: Annotated[str, model]) -> str:
        return m

    @predictor
    def use_configured(m: Annotated[str, model, {"path": "annotated.pt"}]) -> str:
        return m

    with pytest.raises(ConfigError) as info:
        model()
    assert "path" in str(info.value)
    assert isinstance(info.value, ValueError)
    with pytest.raises(ConfigError, match="path"):
        use()
    assert model(path="direct.pt") == "direct.pt:base"
    assert use_configured() == "annotated.pt:base"
    with ModelManager(config={model: {"path": "manager.pt"}}):
        assert use() == "manager.pt:base"
    with ModelManager({model: {"path": "preload.pt"}}):
        assert use() == "preload.pt:base"


def test_var_keyword_artifact_accepts_any_configuration() -> None:
    builds = Builds()

    @artifact
    def client(**configuration: Any) -> dict[str, Any]:
        builds.add(configuration)
        return configuration

    @predictor
    def ask(message: str, c: Annotated[dict[str, Any], client, {"timeout": 5}]) -> str:
        return f"{message}:{c}"

    with ModelManager():
        assert ask("hi") == "hi:{'timeout': 5}"
        assert client() == {}
        assert client(timeout=5, retries=2) == {"timeout": 5, "retries": 2}
        assert client(timeout=5) is not client(timeout=6)
        with ModelManager(config={client: {"timeout": 1, "base_url": "http://x"}}):
            assert ask("hi") == "hi:{'timeout': 1, 'base_url': 'http://x'}"
