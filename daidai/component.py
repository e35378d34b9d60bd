"""What daidai knows about one decorated function.

A :class:`Component` is attached to the decorated function as ``__daidai__``; the decorated
function itself is what users pass around (``Annotated[Model, model]``, ``preload=[classify]``).
The signature is parsed lazily (see :mod:`daidai.inject`) so components may refer to components
defined later in the module or inside the same function.
"""

from __future__ import annotations

import inspect
import sys
import threading
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from daidai.scope import Scope

if TYPE_CHECKING:
    from daidai.inject import Spec

Kind = Literal["artifact", "predictor"]


class Component:
    """A decorated artifact or predictor: its function, identity, scope and parsed signature."""

    __slots__ = (
        "__weakref__",
        "_spec",
        "_spec_lock",
        "decoration_frame",
        "fn",
        "id",
        "is_async",
        "is_async_generator",
        "is_generator",
        "kind",
        "line",
        "name",
        "path",
        "scope",
        "wrapper",
    )

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        kind: Kind,
        scope: Scope,
        name: str | None,
        decoration_frame: types.FrameType | None,
    ) -> None:
        self.fn = fn
        self.kind: Kind = kind
        self.scope = scope
        self.name = name or fn.__name__
        module = getattr(fn, "__module__", None) or "__main__"
        qualname = getattr(fn, "__qualname__", self.name)
        self.id = f"{module}:{qualname}" + (f"#{name}" if name else "")
        code = getattr(inspect.unwrap(fn), "__code__", None)
        self.path: str = code.co_filename if code else "<unknown>"
        self.line: int = code.co_firstlineno if code else 0
        self.is_async_generator = inspect.isasyncgenfunction(fn)
        self.is_generator = inspect.isgeneratorfunction(fn)
        self.is_async = self.is_async_generator or inspect.iscoroutinefunction(fn)
        # Kept only until the signature is parsed: names local to the decorating function may
        # be defined after the decorator ran, and are read from the frame on first use.
        self.decoration_frame = decoration_frame
        self.wrapper: Callable[..., Any] = fn
        self._spec: Spec | None = None
        self._spec_lock = threading.Lock()

    @property
    def location(self) -> str:
        """``file:line`` of the definition, for error messages and ``daidai list``."""
        return f"{self.path}:{self.line}"

    @property
    def label(self) -> str:
        """How messages name the component: its name and where it is defined."""
        return f"{self.kind} {self.name!r} ({self.location})"

    @property
    def module(self) -> str:
        return self.id.partition(":")[0]

    @property
    def qualname(self) -> str:
        return self.id.partition(":")[2].partition("#")[0]

    @property
    def spec(self) -> Spec:
        """The parsed signature, computed on first use (hints may name later definitions)."""
        spec = self._spec
        if spec is None:
            from daidai.inject import parse_spec

            with self._spec_lock:
                spec = self._spec
                if spec is None:
                    spec = self._spec = parse_spec(self)
                    self.decoration_frame = None
        return spec

    def __repr__(self) -> str:
        return f"<daidai {self.kind} {self.id} scope={self.scope.label}>"


def component_of(obj: Any) -> Component | None:
    """The component behind a decorated function, or ``None`` for anything else."""
    found = getattr(obj, "__daidai__", None)
    return found if isinstance(found, Component) else None


def decorating_frame(depth: int) -> types.FrameType | None:
    """The decorating frame when decoration happens inside a function, else ``None``.

    Hints that name a class or component local to that function cannot be evaluated from the
    function's globals; the frame's locals (read when the hints are first evaluated, so later
    definitions count) let them resolve.
    """
    frame = sys._getframe(depth + 1)
    if frame.f_code.co_flags & inspect.CO_NEWLOCALS:
        return frame
    return None
