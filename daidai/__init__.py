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
