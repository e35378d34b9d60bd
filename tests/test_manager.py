"""ModelManager (DESIGN.md 1.4) and teardown (DESIGN.md 1.5).

Components are defined inside each test, so every test has its own definitions (they are
registered by ``module:qualname``). Builds are counted and teardowns recorded in lists, so each
test fails if daidai builds too often, shares the wrong instance or tears down in the wrong order.
"""

import asyncio
import subprocess
import textwrap
from collections.abc import Callable
from typing import Annotated, Any

import pytest

import daidai
from daidai import ModelManager, artifact, current_manager, predictor


class Model:
    """A stand-in for a loaded model that remembers how it was configured."""

    def __init__(self, name: str, size: str = "base") -> None:
        self.name = name
        self.size = size

    def __repr__(self) -> str:
        return f"Model({self.name!r}, size={self.size!r})"


# --------------------------------------------------------------------------------- preload
def test_preload_list_builds_eagerly_and_shares_the_instance() -> None:
    builds: list[str] = []

    @artifact
    def model(size: str = "base") -> Model:
        builds.append(size)
        return Model("m", size)

    @predictor
    def classify(text: str, m: Annotated[Model, model]) -> tuple[str, Model]:
        return text, m

    with ModelManager([model]) as mm:
        assert builds == ["base"]  # built by the constructor, before any call
        instance = mm.load(model)
        assert model() is instance
        assert classify("x") == ("x", instance)
        assert classify("y")[1] is instance
        assert builds == ["base"]


def test_preload_accepts_a_predictor_and_builds_what_it_needs() -> None:
    builds: list[str] = []

    @artifact
    def tokenizer() -> str:
        builds.append("tokenizer")
        return "tok"

    @artifact
    def model(tok: Annotated[str, tokenizer]) -> Model:
        builds.append("model")
        return Model(tok)

    @predictor
    def classify(text: str, m: Annotated[Model, model]) -> str:
        return f"{m.name}:{text}"

    with ModelManager(preload=[classify]):
        assert builds == ["tokenizer", "model"]
        assert classify("a") == "tok:a"
        assert classify("b") == "tok:b"
        assert builds == ["tokenizer", "model"]


def test_preload_mapping_configures_and_preloads() -> None:
    builds: list[str] = []

    @artifact
    def model(size: str = "base") -> Model:
        builds.append(size)
        return Model("m", size)

    @predictor
    def classify(m: Annotated[Model, model]) -> Model:
        return m

    @artifact
    def pipeline(m: Annotated[Model, model]) -> tuple[str, Model]:
        return "pipeline", m

    with ModelManager({model: {"size": "large"}}) as mm:
        assert builds == ["large"]  # preloaded with its configuration
        instance = mm.load(model)
        assert instance.size == "large"
        # a dependent that asks for `model` with no config gets the configured instance
        assert classify() is instance
        assert pipeline()[1] is instance
        assert model() is instance
        assert builds == ["large"]


def test_preload_mapping_accepts_empty_config() -> None:
    builds: list[str] = []

    @artifact
    def model(size: str = "base") -> Model:
        builds.append(size)
        return Model("m", size)

    with ModelManager({model: {}}):
        assert builds == ["base"]


def test_preload_rejects_a_bare_component() -> None:
    @artifact
    def model() -> Model:
        return Model("m")

    with pytest.raises(daidai.ConfigError, match="list"):
        ModelManager(model)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------- config=
def test_config_configures_without_preloading() -> None:
    builds: list[str] = []

    @artifact
    def model(size: str = "base") -> Model:
        builds.append(size)
        return Model("m", size)

    @artifact
    def pipeline(m: Annotated[Model, model]) -> tuple[str, Model]:
        builds.append("pipeline")
        return "pipeline", m

    @predictor
    def classify(m: Annotated[Model, model]) -> Model:
        return m

    with ModelManager(config={model: {"size": "xl"}}) as mm:
        assert builds == []  # nothing is built until something asks for it
        used = classify()
        assert used.size == "xl"
        assert builds == ["xl"]
        assert model() is used
        assert mm.load(model) is used
        assert pipeline()[1] is used
        assert classify() is used
        assert builds == ["xl", "pipeline"]


def test_config_by_name_and_merged_per_key_with_preload_mapping() -> None:
    builds: list[tuple[str, int]] = []

    @artifact
    def tm_config_by_name_model(size: str = "base", layers: int = 1) -> tuple[str, int]:
        builds.append((size, layers))
        return size, layers

    with ModelManager(
        {tm_config_by_name_model: {"layers": 3}},
        config={"tm_config_by_name_model": {"size": "xl"}},
    ):
        assert builds == [("xl", 3)]


def test_direct_call_keywords_beat_manager_config() -> None:
    @artifact
    def model(size: str = "base") -> Model:
        return Model("m", size)

    with ModelManager(config={model: {"size": "xl"}}):
        assert model().size == "xl"
        assert model(size="small").size == "small"
        assert model(size="small") is model(size="small")
        assert model(size="small") is not model()


# -------------------------------------------------------------------------------- namespace
def test_namespace_attribute() -> None:
    with ModelManager() as default_mm:
        assert default_mm.namespace == "default"
    with ModelManager(namespace="prod") as prod:
        assert prod.namespace == "prod"
        assert current_manager() is prod
        assert current_manager().namespace == "prod"


# -------------------------------------------------------------------------------- overrides
@pytest.mark.parametrize("by", ["component", "name"])
def test_overrides_replace_the_artifact_everywhere(by: str) -> None:
    builds: list[str] = []

    @artifact
    def model() -> Model:
        builds.append("model")
        return Model("real")

    @artifact
    def pipeline(m: Annotated[Model, model]) -> tuple[str, Model]:
        builds.append("pipeline")
        return "pipeline", m

    @predictor
    def classify(text: str, m: Annotated[Model, model]) -> tuple[str, Model]:
        return text, m

    @predictor
    def run(p: Annotated[tuple[str, Model], pipeline]) -> Model:
        return p[1]

    fake = Model("fake")
    key: Any = model if by == "component" else "model"
    with ModelManager(overrides={key: fake}) as mm:
        assert classify("x") == ("x", fake)
        assert classify("x")[1] is fake
        assert run() is fake
        assert model() is fake
        assert mm.load(model) is fake
    assert builds == ["pipeline"]  # the real model was never built


def test_overrides_with_preload_never_build_the_real_artifact() -> None:
    builds: list[str] = []

    @artifact
    def model() -> Model:
        builds.append("model")
        return Model("real")

    @predictor
    def classify(m: Annotated[Model, model]) -> Model:
        return m

    fake = Model("fake")
    with ModelManager([classify], overrides={model: fake}):
        assert classify() is fake
    assert builds == []


def test_overrides_apply_to_nested_managers_and_end_with_the_manager() -> None:
    builds: list[str] = []

    @artifact
    def model() -> Model:
        builds.append("model")
        return Model("real")

    @predictor
    def classify(m: Annotated[Model, model]) -> Model:
        return m

    fake = Model("fake")
    with ModelManager(overrides={model: fake}):
        with ModelManager():
            assert classify() is fake
        assert classify() is fake
    assert builds == []
    assert classify().name == "real"
    assert builds == ["model"]


def test_overrides_accept_falsy_values() -> None:
    builds: list[str] = []

    @artifact
    def model() -> Model:
        builds.append("model")
        return Model("real")

    @predictor
    def classify(m: Annotated[Model | None, model]) -> Model | None:
        return m

    with ModelManager(overrides={model: None}) as mm:
        assert classify() is None
        assert classify() is None
        assert model() is None
        assert mm.load(model) is None
    assert builds == []


def test_inner_manager_override_rebuilds_dependents_on_the_fake() -> None:
    builds: list[str] = []

    @artifact
    def model() -> Model:
        builds.append("model")
        return Model("real")

    @artifact
    def pipeline(m: Annotated[Model, model]) -> tuple[str, Model]:
        builds.append(f"pipeline({m.name})")
        return "pipeline", m

    @predictor
    def run(p: Annotated[tuple[str, Model], pipeline]) -> Model:
        return p[1]

    fake = Model("fake")
    with ModelManager([pipeline]):
        real = run()
        assert real.name == "real"
        with ModelManager(overrides={model: fake}):
            assert run() is fake
            assert pipeline()[1] is fake
        assert run() is real
    assert builds == ["model", "pipeline(real)", "pipeline(fake)"]


def test_manager_config_beats_annotation_config_for_dependents() -> None:
    @artifact
    def model(size: str = "base", layers: int = 1) -> tuple[str, int]:
        return size, layers

    @predictor
    def classify(m: Annotated[tuple[str, int], model, {"size": "small", "layers": 2}]) -> Any:
        return m

    assert classify() == ("small", 2)
    with ModelManager(config={model: {"size": "xl"}}):
        assert classify() == ("xl", 2)  # merged per key: the manager wins on "size" only


# ------------------------------------------------------------------------------------- load
def test_load_with_config_returns_one_instance_per_configuration() -> None:
    builds: list[str] = []

    @artifact
    def model(size: str = "base") -> Model:
        builds.append(size)
        return Model("m", size)

    with ModelManager() as mm:
        large = mm.load(model, size="large")
        assert large.size == "large"
        assert mm.load(model, size="large") is large
        base = mm.load(model)
        assert base.size == "base"
        assert base is not large
        assert model(size="large") is large
        assert model() is base
        assert builds == ["large", "base"]


def test_load_by_name() -> None:
    builds: list[str] = []

    @artifact
    def tm_load_by_name_weights(size: str = "base") -> Model:
        builds.append(size)
        return Model("w", size)

    with ModelManager() as mm:
        instance = mm.load("tm_load_by_name_weights")
        assert instance is tm_load_by_name_weights()
        assert mm.load("tm_load_by_name_weights", size="xl").size == "xl"
        assert builds == ["base", "xl"]


def test_load_unknown_name_is_a_lookup_error() -> None:
    with ModelManager() as mm, pytest.raises(daidai.ComponentNotFound):
        mm.load("tm_no_such_component_anywhere")


def test_load_a_predictor_preloads_its_dependencies() -> None:
    builds: list[str] = []

    @artifact
    def model() -> Model:
        builds.append("model")
        return Model("m")

    @predictor
    def classify(m: Annotated[Model, model]) -> Model:
        return m

    with ModelManager() as mm:
        loaded = mm.load(classify)
        assert builds == ["model"]
        assert loaded() is model()
        assert builds == ["model"]


# ------------------------------------------------------------------------------------ close
def test_close_is_idempotent_and_tears_down_once() -> None:
    events: list[str] = []

    @artifact
    def model():  # type: ignore[no-untyped-def]
        events.append("setup")
        yield Model("m")
        events.append("teardown")

    mm = ModelManager([model])
    assert events == ["setup"]
    mm.close()
    assert events == ["setup", "teardown"]
    mm.close()
    mm.close()
    assert events == ["setup", "teardown"]
    assert mm.closed
    with pytest.raises(daidai.DaidaiError, match="closed"):
        mm.load(model)


def test_close_after_with_exit_is_harmless() -> None:
    events: list[str] = []

    @artifact
    def model():  # type: ignore[no-untyped-def]
        yield "m"
        events.append("teardown")

    with ModelManager([model]) as mm:
        pass
    mm.close()
    assert events == ["teardown"]


def test_with_returns_the_manager_and_closes_it() -> None:
    events: list[str] = []

    @artifact
    def model():  # type: ignore[no-untyped-def]
        events.append("setup")
        yield Model("m")
        events.append("teardown")

    manager = ModelManager([model])
    with manager as entered:
        assert entered is manager
        assert events == ["setup"]
    assert events == ["setup", "teardown"]
    assert manager.closed


def test_async_with_builds_and_closes() -> None:
    events: list[str] = []

    @artifact
    def model():  # type: ignore[no-untyped-def]
        events.append("setup")
        yield Model("m")
        events.append("teardown")

    @predictor
    def classify(m: Annotated[Model, model]) -> Model:
        return m

    async def main() -> None:
        async with ModelManager([model]) as mm:
            assert isinstance(mm, ModelManager)
            assert events == ["setup"]
            assert classify() is mm.load(model)
            assert events == ["setup"]
        assert events == ["setup", "teardown"]
        assert mm.closed

    asyncio.run(main())


# ---------------------------------------------------------------------- without a with block
def test_construction_without_with_is_current_until_close() -> None:
    builds: list[int] = []
    events: list[str] = []

    @artifact
    def model():  # type: ignore[no-untyped-def]
        builds.append(1)
        instance = Model(f"m{len(builds)}")
        yield instance
        events.append(f"teardown {instance.name}")

    @predictor
    def ask(question: str, m: Annotated[Model, model]) -> Model:
        return m

    mm = ModelManager(preload=[ask])
    assert current_manager() is mm
    first = ask("q")
    assert first.name == "m1"
    assert ask("again") is first
    assert model() is first
    assert len(builds) == 1
    mm.close()
    assert events == ["teardown m1"]
    assert current_manager() is not mm

    # after close, a lazy call builds again, in the process-wide default manager
    second = ask("q")
    assert second is not first
    assert second.name == "m2"
    assert len(builds) == 2
    default = current_manager()
    assert default is not mm
    assert default.namespace == "default"
    assert ask("q") is second
    assert len(builds) == 2
    default.close()
    assert events == ["teardown m1", "teardown m2"]


def test_construction_without_with_then_lazy_builds_go_to_it() -> None:
    events: list[str] = []

    @artifact
    def model():  # type: ignore[no-untyped-def]
        yield Model("m")
        events.append("teardown")

    mm = ModelManager()
    instance = model()
    assert mm.instances() == 1
    assert model() is instance
    mm.close()
    assert events == ["teardown"]


def test_empty_with_is_harmless() -> None:
    builds: list[int] = []

    @artifact
    def model() -> Model:
        builds.append(1)
        return Model("m")

    with ModelManager() as mm:
        pass
    assert mm.closed
    assert mm.instances() == 0
    assert builds == []

    with ModelManager([model]):
        outer = model()
        with ModelManager():
            pass
        # closing the empty inner manager did not close or rebuild the outer's instance
        assert model() is outer
    assert builds == [1]


def test_empty_with_leaves_no_current_manager_behind() -> None:
    with ModelManager() as mm:
        pass
    assert current_manager() is not mm
    assert not current_manager().closed


# ------------------------------------------------------------------------------------ nesting
def test_nested_manager_reuses_enclosing_instances() -> None:
    events: list[str] = []

    @artifact
    def model():  # type: ignore[no-untyped-def]
        events.append("setup")
        yield Model("outer")
        events.append("teardown")

    @predictor
    def classify(m: Annotated[Model, model]) -> Model:
        return m

    with ModelManager([model]) as outer:
        instance = outer.load(model)
        with ModelManager() as inner:
            assert current_manager() is inner
            assert model() is instance
            assert classify() is instance
            assert inner.load(model) is instance
            assert inner.instances() == 0
        assert events == ["setup"]  # the inner manager did not tear down the outer's model
        assert classify() is instance
    assert events == ["setup", "teardown"]


def test_inner_manager_that_preloads_gets_its_own_instance_and_dependents() -> None:
    events: list[str] = []
    counter = iter(range(1, 100))

    @artifact
    def model():  # type: ignore[no-untyped-def]
        name = f"model{next(counter)}"
        events.append(f"setup {name}")
        yield Model(name)
        events.append(f"teardown {name}")

    @artifact
    def pipeline(m: Annotated[Model, model]):  # type: ignore[no-untyped-def]
        events.append(f"setup pipeline({m.name})")
        yield ("pipeline", m)
        events.append(f"teardown pipeline({m.name})")

    @predictor
    def classify(m: Annotated[Model, model]) -> Model:
        return m

    @predictor
    def run(p: Annotated[tuple[str, Model], pipeline]) -> Model:
        return p[1]

    with ModelManager([model]):
        outer_model = model()
        assert run() is outer_model
        with ModelManager([model]):
            inner_model = model()
            assert inner_model is not outer_model
            assert classify() is inner_model
            # the dependent is built on the inner manager's model, not the outer's pipeline
            assert run() is inner_model
        assert events == [
            "setup model1",
            "setup pipeline(model1)",
            "setup model2",
            "setup pipeline(model2)",
            "teardown pipeline(model2)",
            "teardown model2",
        ]
        assert model() is outer_model
        assert classify() is outer_model
        assert run() is outer_model
    assert events[-2:] == ["teardown pipeline(model1)", "teardown model1"]


def test_inner_manager_that_configures_gets_its_own_instance_and_dependents() -> None:
    builds: list[str] = []

    @artifact
    def model(size: str = "base") -> Model:
        builds.append(size)
        return Model("m", size)

    @artifact
    def pipeline(m: Annotated[Model, model]) -> tuple[str, Model]:
        builds.append(f"pipeline({m.size})")
        return "pipeline", m

    @predictor
    def run(p: Annotated[tuple[str, Model], pipeline]) -> Model:
        return p[1]

    with ModelManager([model, pipeline]):
        outer_model = model()
        with ModelManager(config={model: {"size": "xl"}}):
            assert builds == ["base", "pipeline(base)"]  # config= does not preload
            inner_model = run()
            assert inner_model.size == "xl"
            assert model() is inner_model
            assert pipeline()[1] is inner_model
        assert run() is outer_model
        assert pipeline()[1] is outer_model
    assert builds == ["base", "pipeline(base)", "xl", "pipeline(xl)"]


def test_inner_manager_same_config_as_outer_still_gets_its_own_instance() -> None:
    builds: list[str] = []

    @artifact
    def model(size: str = "base") -> Model:
        builds.append(size)
        return Model("m", size)

    with ModelManager({model: {"size": "xl"}}):
        outer = model()
        with ModelManager({model: {"size": "xl"}}):
            inner = model()
            assert inner is not outer
        assert model() is outer
    assert builds == ["xl", "xl"]


def test_inner_config_merges_with_outer_config_per_key() -> None:
    @artifact
    def model(size: str = "base", layers: int = 1) -> tuple[str, int]:
        return size, layers

    with ModelManager(config={model: {"size": "xl", "layers": 2}}):
        assert model() == ("xl", 2)
        with ModelManager(config={model: {"layers": 5}}):
            assert model() == ("xl", 5)
        assert model() == ("xl", 2)


def test_new_builds_go_to_the_innermost_manager() -> None:
    events: list[str] = []

    @artifact
    def model():  # type: ignore[no-untyped-def]
        events.append("setup")
        yield Model("m")
        events.append("teardown")

    with ModelManager() as outer:
        with ModelManager() as inner:
            instance = model()
            assert inner.instances() == 1
            assert outer.instances() == 0
        assert events == ["setup", "teardown"]
        # built again, now in the outer manager
        assert model() is not instance
        assert outer.instances() == 1
    assert events == ["setup", "teardown", "setup", "teardown"]


def test_readme_namespaces_example_uses_the_enclosing_managers_instance() -> None:
    builds: list[str] = []
    events: list[str] = []

    @artifact
    def model_a():  # type: ignore[no-untyped-def]
        builds.append("a")
        yield Model("a")
        events.append("teardown a")

    @artifact
    def model_b():  # type: ignore[no-untyped-def]
        builds.append("b")
        yield Model("b")
        events.append("teardown b")

    @predictor
    def predict_a(text: str, m: Annotated[Model, model_a]) -> tuple[str, Model]:
        return text, m

    @predictor
    def predict_b(text: str, m: Annotated[Model, model_b]) -> tuple[str, Model]:
        return text, m

    with ModelManager([model_a], namespace="prod") as prod:
        prod_a = prod.load(model_a)
        with ModelManager([model_b], namespace="staging") as staging:
            assert current_manager() is staging
            prod_result = predict_a("test")
            staging_result = predict_b("test")
            assert prod_result == ("test", prod_a)
            assert prod_result[1] is prod_a
            assert staging_result[1] is staging.load(model_b)
            assert builds == ["a", "b"]
            assert staging.instances() == 1
        assert events == ["teardown b"]
        assert predict_a("again")[1] is prod_a
    assert events == ["teardown b", "teardown a"]
    assert builds == ["a", "b"]


def test_nested_manager_closed_with_its_parent() -> None:
    events: list[str] = []

    @artifact
    def outer_thing():  # type: ignore[no-untyped-def]
        yield "outer"
        events.append("outer")

    @artifact
    def inner_thing():  # type: ignore[no-untyped-def]
        yield "inner"
        events.append("inner")

    outer = ModelManager([outer_thing])
    inner = ModelManager([inner_thing])
    outer.close()
    assert inner.closed
    assert events == ["inner", "outer"]


# ------------------------------------------------------------------------- default manager
def test_lazy_use_without_manager_uses_a_default_manager() -> None:
    builds: list[int] = []

    @artifact
    def model() -> Model:
        builds.append(1)
        return Model("m")

    @predictor
    def classify(m: Annotated[Model, model]) -> Model:
        return m

    first = classify()
    assert classify() is first
    assert model() is first
    assert builds == [1]
    default = current_manager()
    assert default.namespace == "default"
    assert current_manager() is default


def test_default_manager_is_closed_at_interpreter_exit(
    run_python: Callable[[str], subprocess.CompletedProcess[str]],
) -> None:
    code = textwrap.dedent(
        """
        from typing import Annotated
        from daidai import artifact, predictor

        @artifact
        def dependency():
            print("setup dependency", flush=True)
            yield "dep"
            print("teardown dependency", flush=True)

        @artifact
        def model(dep: Annotated[str, dependency]):
            print("setup model", flush=True)
            yield "model"
            print("teardown model", flush=True)

        @predictor
        def ask(question, m: Annotated[str, model]):
            return f"{m}:{question}"

        print(ask("q"), flush=True)
        print(ask("again"), flush=True)
        print("end of script", flush=True)
        """
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "setup dependency",
        "setup model",
        "model:q",
        "model:again",
        "end of script",
        "teardown model",
        "teardown dependency",
    ]
    assert "Traceback" not in result.stderr


def test_manager_left_open_is_closed_at_interpreter_exit(
    run_python: Callable[[str], subprocess.CompletedProcess[str]],
) -> None:
    code = textwrap.dedent(
        """
        from daidai import ModelManager, artifact

        @artifact
        def model():
            yield "model"
            print("teardown model", flush=True)

        mm = ModelManager([model])
        print("end of script", flush=True)
        """
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["end of script", "teardown model"]


# -------------------------------------------------------------------------------- teardown
def test_generator_teardown_for_a_preloaded_artifact() -> None:
    events: list[str] = []

    @artifact
    def connection():  # type: ignore[no-untyped-def]
        events.append("open")
        try:
            yield "conn"
        finally:
            events.append("close")

    with ModelManager([connection]):
        assert events == ["open"]
        assert connection() == "conn"
        assert events == ["open"]
    assert events == ["open", "close"]


def test_generator_teardown_for_a_lazily_built_artifact() -> None:
    events: list[str] = []

    @artifact
    def connection():  # type: ignore[no-untyped-def]
        events.append("open")
        yield "conn"
        events.append("close")

    @predictor
    def query(sql: str, conn: Annotated[str, connection]) -> str:
        return f"{conn}:{sql}"

    with ModelManager():
        assert events == []
        assert query("select 1") == "conn:select 1"
        assert query("select 2") == "conn:select 2"
        assert events == ["open"]
    assert events == ["open", "close"]


def test_generator_teardown_of_lazy_default_manager_instances_on_close() -> None:
    events: list[str] = []

    @artifact
    def connection():  # type: ignore[no-untyped-def]
        yield "conn"
        events.append("close")

    assert connection() == "conn"
    current_manager().close()
    assert events == ["close"]


def _chain_of_generators(events: list[str]) -> tuple[Any, Any, Any]:
    @artifact
    def base():  # type: ignore[no-untyped-def]
        events.append("setup base")
        yield "base"
        events.append("teardown base")

    @artifact
    def middle(b: Annotated[str, base]):  # type: ignore[no-untyped-def]
        events.append("setup middle")
        yield f"middle({b})"
        events.append("teardown middle")

    @artifact
    def top(m: Annotated[str, middle], b: Annotated[str, base]):  # type: ignore[no-untyped-def]
        events.append("setup top")
        yield f"top({m}, {b})"
        events.append("teardown top")

    return base, middle, top


def test_dependents_torn_down_before_dependencies_preloaded() -> None:
    events: list[str] = []
    _base, _middle, top = _chain_of_generators(events)

    with ModelManager([top]):
        assert top() == "top(middle(base), base)"
    assert events == [
        "setup base",
        "setup middle",
        "setup top",
        "teardown top",
        "teardown middle",
        "teardown base",
    ]


def test_dependents_torn_down_before_dependencies_lazy_in_any_order() -> None:
    events: list[str] = []
    base, middle, top = _chain_of_generators(events)

    @artifact
    def unrelated():  # type: ignore[no-untyped-def]
        events.append("setup unrelated")
        yield "u"
        events.append("teardown unrelated")

    with ModelManager():
        base()
        unrelated()
        top()
        assert middle() == "middle(base)"
    teardowns = [e for e in events if e.startswith("teardown")]
    assert len(teardowns) == 4
    order = {e.removeprefix("teardown "): i for i, e in enumerate(teardowns)}
    assert order["top"] < order["middle"] < order["base"]
    assert events.count("setup base") == 1
    assert events.count("setup middle") == 1


def test_dependent_in_inner_manager_torn_down_before_outer_dependency() -> None:
    events: list[str] = []
    base, _middle, top = _chain_of_generators(events)

    outer = ModelManager([base])
    ModelManager([top])  # nested, left open: closed with its parent
    outer.close()
    assert events == [
        "setup base",
        "setup middle",
        "setup top",
        "teardown top",
        "teardown middle",
        "teardown base",
    ]


def _failing_teardowns(events: list[str]) -> tuple[Any, Any, Any]:
    @artifact
    def first():  # type: ignore[no-untyped-def]
        yield "first"
        events.append("teardown first")
        raise ValueError("first failed")

    @artifact
    def second():  # type: ignore[no-untyped-def]
        yield "second"
        events.append("teardown second")

    @artifact
    def third():  # type: ignore[no-untyped-def]
        yield "third"
        events.append("teardown third")
        raise KeyError("third failed")

    return first, second, third


def test_every_finalizer_runs_and_errors_are_aggregated_on_close() -> None:
    events: list[str] = []
    first, second, third = _failing_teardowns(events)

    mm = ModelManager([first, second, third])
    with pytest.raises(daidai.TeardownError) as info:
        mm.close()
    assert events == ["teardown third", "teardown second", "teardown first"]
    group = info.value
    assert isinstance(group, ExceptionGroup)
    assert isinstance(group, daidai.DaidaiError)
    assert [type(e) for e in group.exceptions] == [KeyError, ValueError]
    assert "third failed" in str(group.exceptions[0])
    assert "first failed" in str(group.exceptions[1])
    # a second close does not run the finalizers again nor raise again
    mm.close()
    assert events == ["teardown third", "teardown second", "teardown first"]


def test_every_finalizer_runs_and_errors_are_aggregated_on_with_exit() -> None:
    events: list[str] = []
    first, second, third = _failing_teardowns(events)

    with pytest.raises(daidai.TeardownError) as info, ModelManager([first, second, third]):
        pass
    assert events == ["teardown third", "teardown second", "teardown first"]
    assert sorted(type(e).__name__ for e in info.value.exceptions) == ["KeyError", "ValueError"]


def test_teardown_errors_of_nested_managers_are_aggregated() -> None:
    events: list[str] = []
    first, second, third = _failing_teardowns(events)

    outer = ModelManager([first])
    ModelManager([second, third])
    with pytest.raises(daidai.TeardownError) as info:
        outer.close()
    assert events == ["teardown third", "teardown second", "teardown first"]
    assert [type(e) for e in info.value.exceptions] == [KeyError, ValueError]


def test_body_exception_is_not_hidden_by_a_failing_teardown() -> None:
    events: list[str] = []
    first, second, third = _failing_teardowns(events)

    with (
        pytest.raises(RuntimeError, match="the body failed") as info,
        ModelManager([first, second, third]),
    ):
        raise RuntimeError("the body failed")
    assert type(info.value) is RuntimeError
    assert events == ["teardown third", "teardown second", "teardown first"]
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "first failed" in notes
    assert "third failed" in notes


def test_body_exception_is_not_hidden_by_a_failing_teardown_async() -> None:
    events: list[str] = []
    first, second, third = _failing_teardowns(events)

    async def main() -> None:
        async with ModelManager([first, second, third]):
            raise RuntimeError("the body failed")

    with pytest.raises(RuntimeError, match="the body failed") as info:
        asyncio.run(main())
    assert events == ["teardown third", "teardown second", "teardown first"]
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "first failed" in notes
    assert "third failed" in notes


def test_body_exception_propagates_with_successful_teardown() -> None:
    events: list[str] = []

    @artifact
    def model():  # type: ignore[no-untyped-def]
        yield "m"
        events.append("teardown")

    with pytest.raises(LookupError, match="body") as info, ModelManager([model]):
        raise LookupError("body")
    assert events == ["teardown"]
    assert not getattr(info.value, "__notes__", [])


def test_teardown_runs_when_the_body_raises() -> None:
    events: list[str] = []

    @artifact
    def model():  # type: ignore[no-untyped-def]
        events.append("setup")
        yield "m"
        events.append("teardown")

    @predictor
    def use(m: Annotated[str, model]) -> str:
        return m

    def body() -> None:
        with ModelManager():
            use()
            _ = 1 / 0

    with pytest.raises(ZeroDivisionError):
        body()
    assert events == ["setup", "teardown"]


def test_failed_preload_tears_down_what_was_already_built() -> None:
    events: list[str] = []

    @artifact
    def good():  # type: ignore[no-untyped-def]
        events.append("setup good")
        yield "good"
        events.append("teardown good")

    @artifact
    def bad() -> str:
        raise OSError("cannot load")

    with pytest.raises(daidai.BuildError) as info:
        ModelManager([good, bad])
    assert isinstance(info.value.__cause__, OSError)
    assert events == ["setup good", "teardown good"]
    assert current_manager().namespace == "default"


def test_override_by_an_unknown_name_is_rejected_with_a_near_match() -> None:
    @artifact
    def tokenizer_for_override_check() -> str:
        return "real"

    with pytest.raises(
        daidai.ComponentNotFound, match=r"(?i)did you mean 'tokenizer_for_override_check'"
    ):
        ModelManager(overrides={"tokenizer_for_overide_check": "fake"})


def test_override_by_component_id() -> None:
    @artifact
    def id_overridden() -> str:
        return "real"

    component_id = id_overridden.__daidai__.id  # type: ignore[attr-defined]
    with ModelManager(overrides={component_id: "fake"}):
        assert id_overridden() == "fake"


def test_closed_children_are_not_kept_by_a_long_lived_parent() -> None:
    with ModelManager() as parent:
        for _ in range(5):
            with ModelManager():
                pass
        assert parent._children == []
