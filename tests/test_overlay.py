"""The process-wide test overlay behind the pytest plugin (DESIGN.md 6)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated

import pytest

from daidai import DaidaiError, ModelManager, artifact, predictor
from daidai import overlay as overlays


def test_overrides_reach_threads_and_dependents_and_never_leak() -> None:
    log: list[str] = []

    @artifact(scope="session")
    def ov_model() -> str:
        return "real"

    @artifact(scope="session")
    def ov_pipeline(m: Annotated[str, ov_model]) -> Iterator[str]:
        log.append(f"setup pipeline on {m}")
        yield f"pipeline({m})"
        log.append(f"teardown pipeline on {m}")

    @predictor
    def ov_run(p: Annotated[str, ov_pipeline]) -> str:
        return p

    with ModelManager(preload=[ov_run]):
        assert ov_run() == "pipeline(real)"  # warm
        layer = overlays.activate({"ov_model": "fake"}, "test_a")
        try:
            assert ov_run() == "pipeline(fake)"
            with ThreadPoolExecutor(2) as pool:
                assert list(pool.map(lambda _: ov_run(), range(4))) == ["pipeline(fake)"] * 4
            with ModelManager():  # a manager opened inside the test sees it too
                assert ov_run() == "pipeline(fake)"
        finally:
            layer.close()
        # the fake-built pipeline died with the overlay; the real one is still there
        assert log == [
            "setup pipeline on real",
            "setup pipeline on fake",
            "teardown pipeline on fake",
        ]
        assert ov_run() == "pipeline(real)"
    assert log[-1] == "teardown pipeline on real"


def test_only_one_overlay_at_a_time() -> None:
    layer = overlays.activate({}, "first")
    try:
        with pytest.raises(DaidaiError, match="already active"):
            overlays.activate({}, "second")
    finally:
        layer.close()
    assert overlays.active() is None
