"""The objects lifecycle hooks receive (see :mod:`daidai.hookspecs`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import attrs

from daidai.component import Component

_UNSET: Any = type("Unset", (), {"__repr__": lambda self: "<unset>", "__slots__": ()})()


@attrs.define(eq=False)
class ArtifactSetup:
    """One artifact build. ``run()`` builds with the configuration and dependencies given."""

    component: Component
    config: Mapping[str, Any]
    builder: Callable[[], Any] = attrs.field(repr=False)
    value: Any = _UNSET

    @property
    def done(self) -> bool:
        return self.value is not _UNSET

    def run(self) -> Any:
        self.value = self.builder()
        return self.value


@attrs.define(eq=False)
class ArtifactTeardown:
    """One artifact teardown. ``run()`` runs the artifact's finalizer."""

    component: Component
    finalizer: Callable[[], Any] = attrs.field(repr=False)
    result: Any = _UNSET
    """What the finalizer returned (an awaitable for async artifacts, awaited by daidai)."""

    @property
    def done(self) -> bool:
        return self.result is not _UNSET

    def run(self) -> Any:
        self.result = self.finalizer()
        return self.result


@attrs.define(eq=False)
class PredictorCall:
    """One predictor call with its final arguments (injected values included)."""

    component: Component
    args: list[Any]
    kwargs: dict[str, Any]
    result: Any = _UNSET

    @property
    def done(self) -> bool:
        return self.result is not _UNSET

    def run(self) -> Any:
        self.result = self.component.fn(*self.args, **self.kwargs)
        return self.result


@attrs.define(eq=False)
class CallRecord:
    """What :func:`~daidai.hookspecs.daidai_record_call` receives."""

    kind: Literal["artifact", "predictor"]
    component: Component
    config: Mapping[str, Any]
    started: float
    """``time.time()`` at the start."""
    duration: float
    """Seconds, from ``time.perf_counter()``."""
    error: BaseException | None = None
