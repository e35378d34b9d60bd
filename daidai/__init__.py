"""daidai: artifacts as scoped fixtures for ML services.

Declare long-lived values with :func:`artifact`, the functions users call with
:func:`predictor`, and control lifetimes with :class:`ModelManager`::

    from typing import Annotated
    from daidai import ModelManager, artifact, predictor

    @artifact
    def model(size: str = "base") -> Model: ...

    @predictor
    def classify(text: str, m: Annotated[Model, model]) -> str: ...

    classify("hello")                      # lazy: builds what it needs, once
    with ModelManager(preload=[classify]):  # eager, torn down on exit
        classify("hello")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from daidai.api import ArtifactDecorator, PredictorDecorator, artifact, asset, predictor
    from daidai.errors import (
        BuildError,
        ComponentNotFound,
        ConfigError,
        CycleError,
        DaidaiError,
        FileDependencyError,
        IntegrityError,
        OfflineError,
        ScopeMismatch,
        TeardownError,
        WrongAnnotation,
    )
    from daidai.manager import ModelManager, current_manager
    from daidai.scope import Scope

__version__ = "0.1.0.dev0"

# Names are imported on first access, so that importing a submodule (the pytest plugin is
# loaded before coverage starts) does not import the whole core.
_EXPORTS = {
    "ArtifactDecorator": "daidai.api",
    "PredictorDecorator": "daidai.api",
    "artifact": "daidai.api",
    "asset": "daidai.api",
    "predictor": "daidai.api",
    "BuildError": "daidai.errors",
    "ComponentNotFound": "daidai.errors",
    "ConfigError": "daidai.errors",
    "CycleError": "daidai.errors",
    "DaidaiError": "daidai.errors",
    "FileDependencyError": "daidai.errors",
    "IntegrityError": "daidai.errors",
    "OfflineError": "daidai.errors",
    "ScopeMismatch": "daidai.errors",
    "TeardownError": "daidai.errors",
    "WrongAnnotation": "daidai.errors",
    "ModelManager": "daidai.manager",
    "current_manager": "daidai.manager",
    "Scope": "daidai.scope",
}

__all__ = [
    "ArtifactDecorator",
    "BuildError",
    "ComponentNotFound",
    "ConfigError",
    "CycleError",
    "DaidaiError",
    "FileDependencyError",
    "IntegrityError",
    "ModelManager",
    "OfflineError",
    "PredictorDecorator",
    "Scope",
    "ScopeMismatch",
    "TeardownError",
    "WrongAnnotation",
    "__version__",
    "artifact",
    "asset",
    "current_manager",
    "predictor",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'daidai' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
