"""Reading a component's signature: which parameters are injected and which are configuration.

The forms (DESIGN.md 1.2)::

    m: Annotated[Model, model]                  # inject artifact or predictor ``model``
    m: Annotated[Model, model, {"size": "xl"}]  # ... built with this configuration
    m=model                                     # a default that is a component
    size: str = "base"                          # configuration (artifacts) or input (predictors)

Annotations are evaluated on first use, not at decoration, so a component may name components
defined after it, and ``from __future__ import annotations`` works for components defined inside
functions (names are looked up in the decorating frame's locals and among components defined in
the same enclosing function).
"""

from __future__ import annotations

import inspect
import io
import pathlib
import typing
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Annotated, Any, get_args, get_origin

import attrs

from daidai import registry
from daidai.component import Component, component_of
from daidai.errors import WrongAnnotation

_FILE_TYPES: tuple[Any, ...] = (pathlib.Path, bytes, str, typing.BinaryIO, typing.TextIO, io.IOBase)
_ITERATOR_ORIGINS = {typing.Iterator, typing.Iterable, typing.Generator}


@attrs.frozen
class Dependency:
    """A parameter that daidai fills with another component's instance (or callable)."""

    param: str
    target: Component
    config: Mapping[str, Any]


@attrs.frozen
class Spec:
    """A parsed signature. ``fast_arity`` is set when warm calls may pass inputs positionally.

    ``fast_arity = n`` means: the first ``n`` parameters are inputs and every injected parameter
    comes right after them, so ``fn(*inputs, *injected_values)`` is a correct call.
    """

    signature: inspect.Signature
    dependencies: tuple[Dependency, ...]
    config_params: Mapping[str, inspect.Parameter]
    accepts_any_config: bool
    inputs: tuple[str, ...]
    fast_arity: int | None
    dependency_params: frozenset[str] = attrs.field(init=False)
    positional_only: tuple[str, ...] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        # Derived once: both are read on every cold build.
        object.__setattr__(self, "dependency_params", frozenset(d.param for d in self.dependencies))
        object.__setattr__(
            self,
            "positional_only",
            tuple(
                p.name for p in self.signature.parameters.values() if p.kind is p.POSITIONAL_ONLY
            ),
        )


def parse_spec(component: Component) -> Spec:
    """Parse ``component``'s signature; raise :class:`WrongAnnotation` naming what is wrong."""
    signature = inspect.signature(component.fn)
    hints = _resolved_annotations(component, signature)
    dependencies: list[Dependency] = []
    config_params: dict[str, inspect.Parameter] = {}
    inputs: list[str] = []
    accepts_any_config = False
    for param in signature.parameters.values():
        dependency = _dependency_of(component, param, hints.get(param.name, param.annotation))
        if dependency is not None:
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise WrongAnnotation(
                    f"{component.label}: parameter {param.name!r} cannot be injected because it "
                    "is *args or **kwargs; give it its own named parameter"
                )
            dependencies.append(dependency)
        elif component.kind == "predictor":
            inputs.append(param.name)
        elif param.kind is param.VAR_KEYWORD:
            accepts_any_config = True
        elif param.kind is param.VAR_POSITIONAL:
            raise WrongAnnotation(
                f"{component.label}: artifacts take configuration by keyword; *{param.name} "
                "cannot receive any. Use **kwargs or named parameters."
            )
        else:
            config_params[param.name] = param
    return Spec(
        signature=signature,
        dependencies=tuple(dependencies),
        config_params=MappingProxyType(config_params),
        accepts_any_config=accepts_any_config,
        inputs=tuple(inputs),
        fast_arity=_fast_arity(signature, {d.param for d in dependencies}),
    )


def _fast_arity(signature: inspect.Signature, injected: set[str]) -> int | None:
    params = list(signature.parameters.values())
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    arity = 0
    while arity < len(params) and params[arity].name not in injected:
        if params[arity].kind not in positional or params[arity].default is not params[0].empty:
            return None
        arity += 1
    rest = params[arity:]
    if len(rest) != len(injected) or any(
        p.name not in injected or p.kind is not p.POSITIONAL_OR_KEYWORD for p in rest
    ):
        return None
    return arity


def _dependency_of(component: Component, param: inspect.Parameter, hint: Any) -> Dependency | None:
    if get_origin(hint) is Annotated:
        base, *metadata = get_args(hint)
        for index, item in enumerate(metadata):
            target = component_of(item)
            if target is not None:
                config = _config_after(component, param, metadata[index + 1 :])
                if config and target.kind == "predictor":
                    raise WrongAnnotation(
                        f"{component.label}: parameter {param.name!r} gives configuration "
                        f"{dict(config)!r} to {target.label}; predictors take inputs, not "
                        "configuration. Configure the artifacts it depends on instead."
                    )
                return Dependency(param.name, target, config)
        if any(isinstance(item, str) for item in metadata) and _is_file_type(base):
            raise WrongAnnotation(
                f"{component.label}: parameter {param.name!r} declares a file dependency "
                f"({next(m for m in metadata if isinstance(m, str))!r}); file dependencies are "
                "not part of this daidai release yet. Open the file inside the artifact instead."
            )
    target = component_of(param.default)
    if target is not None:
        return Dependency(param.name, target, MappingProxyType({}))
    return None


def _config_after(
    component: Component, param: inspect.Parameter, rest: list[Any]
) -> Mapping[str, Any]:
    for item in rest:
        if isinstance(item, Mapping):
            bad = [key for key in item if not isinstance(key, str)]
            if bad:
                raise WrongAnnotation(
                    f"{component.label}: configuration keys of parameter {param.name!r} must be "
                    f"strings (parameter names), got {bad!r}"
                )
            return MappingProxyType(dict(item))
    return MappingProxyType({})


def _is_file_type(base: Any) -> bool:
    if base in _FILE_TYPES:
        return True
    origin = get_origin(base)
    if origin is None:
        return False
    import collections.abc as cabc

    return origin in _ITERATOR_ORIGINS or origin in (cabc.Iterator, cabc.Iterable, cabc.Generator)


def _resolved_annotations(component: Component, signature: inspect.Signature) -> dict[str, Any]:
    """Evaluate each string annotation, naming the parameter and the missing name on failure."""
    fn = inspect.unwrap(component.fn)
    globalns = getattr(fn, "__globals__", {})
    localns = _EnclosingNames(component)
    resolved: dict[str, Any] = {}
    for param in signature.parameters.values():
        annotation = param.annotation
        if not isinstance(annotation, str):
            resolved[param.name] = annotation
            continue
        try:
            resolved[param.name] = _evaluate(annotation, globalns, localns)
        except NameError as exc:
            raise WrongAnnotation(
                f"{component.label}: cannot evaluate the annotation of parameter "
                f"{param.name!r} ({annotation!r}): name {exc.name!r} is not defined. Define or "
                f"import {exc.name!r} before {component.name!r} is first used (at module level, "
                "or earlier in the same function)."
            ) from exc
        except Exception as exc:
            raise WrongAnnotation(
                f"{component.label}: cannot evaluate the annotation of parameter "
                f"{param.name!r} ({annotation!r}): {exc}"
            ) from exc
    return resolved


def _evaluate(annotation: str, globalns: dict[str, Any], localns: Mapping[str, Any]) -> Any:
    """Evaluate a string annotation, tolerating names that only exist for type checkers.

    Only ``Annotated[...]`` can declare an injection, so a plain annotation that names a type
    imported under ``if TYPE_CHECKING:`` is kept as a string. Inside ``Annotated`` a missing
    name is tolerated in the base type but not in the metadata, where it is the component.
    """
    missing: dict[str, type] = {}
    namespace = _WithPlaceholders(localns, missing)
    while True:
        try:
            value = eval(annotation, globalns, namespace)
        except NameError as exc:
            if "Annotated" not in annotation:
                return annotation
            if exc.name is None or exc.name in missing or len(missing) > 20:
                raise
            missing[exc.name] = type(exc.name, (), {"__daidai_placeholder__": True})
            continue
        if missing and get_origin(value) is Annotated:
            placeholders = [m for m in get_args(value)[1:] if m in missing.values()]
            if placeholders:
                name = placeholders[0].__name__
                raise NameError(f"name {name!r} is not defined", name=name)
        return value


class _WithPlaceholders(Mapping[str, Any]):
    def __init__(self, names: Mapping[str, Any], placeholders: dict[str, type]) -> None:
        self._names = names
        self._placeholders = placeholders

    def __getitem__(self, name: str) -> Any:
        try:
            return self._names[name]
        except KeyError:
            return self._placeholders[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


class _EnclosingNames(Mapping[str, Any]):
    """Names visible where a component was decorated but not in its module's globals."""

    def __init__(self, component: Component) -> None:
        self._component = component
        frame = component.decoration_frame
        self._locals: Mapping[str, Any] = frame.f_locals if frame is not None else {}

    def __getitem__(self, name: str) -> Any:
        if name in self._locals:
            return self._locals[name]
        qualname = self._component.qualname
        module = self._component.module
        while ".<locals>." in qualname:
            qualname = qualname.rsplit(".<locals>.", 1)[0]
            sibling = registry.get(f"{module}:{qualname}.<locals>.{name}")
            if sibling is not None:
                return sibling.wrapper
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._locals)

    def __len__(self) -> int:
        return len(self._locals)
