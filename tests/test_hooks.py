"""Lifecycle hooks: tracing builds, teardowns and predictor calls (DESIGN.md 4)."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Annotated, Any

import pytest

from daidai import BuildError, ModelManager, artifact, predictor
from daidai.lifecycle import ArtifactSetup, ArtifactTeardown, CallRecord, PredictorCall
from daidai.plugins import hookimpl, plugin_manager


class Tracer:
    """Wraps every step and records what it saw before and after each."""

    def __init__(self) -> None:
        self.events: list[str] = []

    @hookimpl(wrapper=True)
    def daidai_artifact_setup(self, setup: ArtifactSetup) -> Generator[None, None, None]:
        self.events.append(f"before setup {setup.component.name} {dict(setup.config)}")
        yield
        self.events.append(f"after setup {setup.component.name} -> {setup.value!r}")

    @hookimpl(wrapper=True)
    def daidai_artifact_teardown(self, teardown: ArtifactTeardown) -> Generator[None, None, None]:
        self.events.append(f"before teardown {teardown.component.name}")
        yield
        self.events.append(f"after teardown {teardown.component.name}")

    @hookimpl(wrapper=True)
    def daidai_predictor_call(self, call: PredictorCall) -> Generator[None, None, None]:
        self.events.append(f"call {call.component.name}{tuple(call.args)}")
        yield
        self.events.append(f"result {call.result!r}")


class Recorder:
    def __init__(self) -> None:
        self.records: list[CallRecord] = []

    @hookimpl
    def daidai_record_call(self, record: CallRecord) -> None:
        self.records.append(record)


def _components() -> tuple[Any, Any, list[str]]:
    log: list[str] = []

    @artifact
    def hooked_model(size: str = "s") -> Iterator[str]:
        log.append("build")
        yield f"model-{size}"
        log.append("close")

    @predictor
    def hooked_classify(text: str, m: Annotated[str, hooked_model]) -> str:
        return f"{m}:{text}"

    return hooked_model, hooked_classify, log


def test_manager_plugins_see_every_step_inside_their_wrapper() -> None:
    _model, classify, log = _components()
    tracer = Tracer()
    with ModelManager(plugins=[tracer]):
        assert classify("a") == "model-s:a"
        assert classify("b") == "model-s:b"  # warm, and still seen
    assert tracer.events == [
        "before setup hooked_model {'size': 's'}",
        "after setup hooked_model -> 'model-s'",
        "call hooked_classify('a', 'model-s')",
        "result 'model-s:a'",
        "call hooked_classify('b', 'model-s')",
        "result 'model-s:b'",
        "before teardown hooked_model",
        "after teardown hooked_model",
    ]
    assert log == ["build", "close"]  # the default behaviour still ran inside the wrappers


def test_manager_plugins_apply_to_nested_managers_only() -> None:
    _model, classify, _log = _components()
    tracer = Tracer()
    with ModelManager(plugins=[tracer]):
        with ModelManager(namespace="inner"):
            classify("x")
        # built, called and torn down in the inner manager, all seen
        assert [e.split()[0] for e in tracer.events] == [
            "before",
            "after",
            "call",
            "result",
            "before",
            "after",
        ]
    seen = len(tracer.events)
    with ModelManager():
        classify("y")
    assert len(tracer.events) == seen  # a sibling manager without the plugin is not traced


def test_a_plugin_registered_later_sees_calls_that_were_already_warm() -> None:
    _model, classify, _log = _components()
    tracer = Tracer()
    with ModelManager() as manager:
        classify("warm")
        classify("warm")
        assert manager._warm  # default plugins: the frameless warm path is used
        pm = plugin_manager()
        pm.register(tracer, name="late-tracer", layer="entrypoint")
        try:
            classify("seen")
        finally:
            pm.unregister(name="late-tracer")
        classify("unseen")
        assert manager._warm  # warm again once no plugin watches
    assert tracer.events == ["call hooked_classify('seen', 'model-s')", "result 'model-s:seen'"]


def test_record_call_reports_builds_calls_and_failures() -> None:
    _model, classify, _log = _components()

    @artifact
    def broken_for_recorder() -> str:
        raise ValueError("nope")

    recorder = Recorder()
    with ModelManager(plugins=[recorder]):
        classify("x")
        with pytest.raises(BuildError):
            broken_for_recorder()
    kinds = [(r.kind, r.component.name, type(r.error).__name__) for r in recorder.records]
    assert kinds == [
        ("artifact", "hooked_model", "NoneType"),
        ("predictor", "hooked_classify", "NoneType"),
        ("artifact", "broken_for_recorder", "ValueError"),
    ]
    assert all(r.duration >= 0 for r in recorder.records)
    assert recorder.records[0].config == {"size": "s"}


def test_a_failing_recorder_never_breaks_the_call(caplog: pytest.LogCaptureFixture) -> None:
    _model, classify, _log = _components()

    class Broken:
        @hookimpl
        def daidai_record_call(self, record: CallRecord) -> None:
            raise RuntimeError("recorder down")

    with ModelManager(plugins=[Broken()]):
        assert classify("x") == "model-s:x"
    assert "daidai_record_call implementation failed" in caplog.text
