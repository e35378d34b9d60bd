"""The decorators: ``@artifact`` (alias ``@asset``) and ``@predictor``.

Both work bare or with arguments and return a function that keeps the original's name,
docstring, signature (through ``__wrapped__``) and, for type checkers, its return type. The
:class:`~daidai.component.Component` describing it is attached as ``__daidai__``.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Protocol, TypeVar, overload

from daidai import registry
from daidai.calls import make_artifact_wrapper, make_predictor_wrapper, specialize
from daidai.component import Component, Kind, decorating_frame
from daidai.errors import WrongAnnotation
from daidai.scope import Scope

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


class ArtifactDecorator(Protocol):
    """What ``@artifact(...)`` with arguments returns: the same overloads as bare use."""

    @overload
    def __call__(self, fn: Callable[..., AsyncIterator[T]], /) -> Callable[..., Awaitable[T]]: ...
    @overload
    def __call__(self, fn: Callable[..., Iterator[T]], /) -> Callable[..., T]: ...
    @overload
    def __call__(self, fn: Callable[..., Awaitable[T]], /) -> Callable[..., Awaitable[T]]: ...
    @overload
    def __call__(self, fn: Callable[..., T], /) -> Callable[..., T]: ...


class PredictorDecorator(Protocol):
    """What ``@predictor(...)`` with arguments returns."""

    def __call__(self, fn: Callable[..., T], /) -> Callable[..., T]: ...


@overload
def artifact(fn: Callable[..., AsyncIterator[T]], /) -> Callable[..., Awaitable[T]]: ...
@overload
def artifact(fn: Callable[..., Iterator[T]], /) -> Callable[..., T]: ...
@overload
def artifact(fn: Callable[..., Awaitable[T]], /) -> Callable[..., Awaitable[T]]: ...
@overload
def artifact(fn: Callable[..., T], /) -> Callable[..., T]: ...
@overload
def artifact(*, scope: str | Scope = "namespace", name: str | None = None) -> ArtifactDecorator: ...
def artifact(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    scope: str | Scope = "namespace",
    name: str | None = None,
) -> Any:
    """Declare a long-lived value built once per scope and injected where it is needed.

    The function may be plain, a generator (code after its single ``yield`` is teardown), an
    ``async def`` or an async generator. Its parameters that are not injected are its
    configuration. ``scope`` is ``"session"``, ``"namespace"`` (default) or ``"call"``.
    Calling the decorated function returns the instance in the serving manager.
    """
    parsed_scope = Scope.parse(scope)
    if fn is None:
        frame = decorating_frame(1)
        return lambda f: _decorate(f, "artifact", parsed_scope, name, frame)
    return _decorate(fn, "artifact", parsed_scope, name, decorating_frame(1))


asset = artifact
"""The name daidai 0.0.7 used for :func:`artifact`; kept so old code keeps working."""


@overload
def predictor(fn: Callable[..., T], /) -> Callable[..., T]: ...
@overload
def predictor(*, name: str | None = None) -> PredictorDecorator: ...
def predictor(fn: Callable[..., Any] | None = None, /, *, name: str | None = None) -> Any:
    """Declare a function users call; its injected parameters are filled by daidai.

    Parameters that are not injected are its inputs. Keyword arguments naming an injected
    parameter replace it for that call (``classify("x", model=fake)``). ``async def``
    predictors are awaited by the caller.
    """
    if fn is None:
        frame = decorating_frame(1)
        return lambda f: _decorate(f, "predictor", Scope.CALL, name, frame)
    return _decorate(fn, "predictor", Scope.CALL, name, decorating_frame(1))


def _decorate(
    fn: Callable[..., Any],
    kind: Kind,
    scope: Scope,
    name: str | None,
    decoration_frame: Any,
) -> Callable[..., Any]:
    if not callable(fn) or isinstance(fn, type):
        raise WrongAnnotation(
            f"@{kind} decorates functions; got {fn!r}. Wrap construction in a function instead."
        )
    if getattr(fn, "__daidai__", None) is not None:
        raise WrongAnnotation(f"{fn!r} is already a daidai component; decorate it once")
    component = Component(fn, kind=kind, scope=scope, name=name, decoration_frame=decoration_frame)
    wrapper = (
        make_predictor_wrapper(component)
        if kind == "predictor"
        else make_artifact_wrapper(component)
    )
    functools.update_wrapper(wrapper, fn)
    wrapper.__daidai__ = component  # type: ignore[attr-defined]
    component.wrapper = wrapper
    registry.register(component)
    _parse_early(component)
    return wrapper


def _parse_early(component: Component) -> None:
    """Validate the signature now when its annotations can be evaluated; else at first use."""
    try:
        component.spec  # noqa: B018 - parsing is the point
    except WrongAnnotation as error:
        if isinstance(error.__cause__, NameError):
            return  # a later definition may make it resolvable: parse at first use
        raise
    if component.kind == "predictor":
        specialize(component)
