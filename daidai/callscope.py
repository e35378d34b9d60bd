"""The call scope: the lifetime of one *outermost* predictor call.

Call-scoped artifacts are built once per outermost predictor call and shared by the predictor
calls nested in it. The slow path marks a call with a context variable; the warm path of a
synchronous predictor marks nothing, because setting a context variable would triple the cost
of a warm call. Two mechanisms keep nested calls sharing one scope anyway:

1. *Known nesting.* A predictor that injects a predictor, or whose code names one (its
   bytecode's global names and closure cells), never takes the frameless warm path.
2. *Discovered nesting.* When a call-scoped artifact is needed and the Python stack shows an
   enclosing predictor call running frameless (a call through a helper, a dict, a method), the
   enclosing predictor is marked so its later calls open a scope, and the current call *adopts*
   the enclosing call: the scope is published to the context and a per-thread profile hook
   (``sys.setprofile``) ends it when the enclosing call returns. If another profiler owns the
   hook, the nested call keeps a scope of its own for that one call.
"""

from __future__ import annotations

import inspect
import logging
import sys
import types
from collections.abc import Iterator
from typing import Any

from daidai.component import Component, component_of
from daidai.errors import TeardownError
from daidai.manager import _call_frame, _Process
from daidai.resolve import CallFrame

logger = logging.getLogger("daidai")

_wrapper_codes: dict[types.CodeType, Component] = {}
_known_nesting: dict[Component, bool] = {}


def register_wrapper_code(code: types.CodeType, component: Component) -> None:
    """Remember a generated frameless wrapper's code so stack walks can recognise it."""
    _wrapper_codes[code] = component


def needs_scope(component: Component) -> bool:
    """Whether every call of ``component`` must open a call scope (no frameless warm path)."""
    known = _known_nesting.get(component)
    if known is None:
        known = any(d.target.kind == "predictor" for d in component.spec.dependencies) or any(
            (other := component_of(value)) is not None and other.kind == "predictor"
            for value in _referenced_values(component.fn)
        )
        _known_nesting[component] = known
    return known


class CallScope:
    """Opens the call scope for an outermost call, joins the open one for a nested call."""

    __slots__ = ("adopted", "caller", "frame", "owner", "token")

    def __init__(self, component: Component, *, may_adopt: bool) -> None:
        existing = _call_frame.get()
        self.owner = existing is None
        self.adopted = False
        if existing is None:
            self.frame = CallFrame(component.name)
            if may_adopt:
                self.frame.on_first_store = self._adopt_enclosing_call
        else:
            self.frame = existing

    def __enter__(self) -> CallScope:
        if self.owner:
            self.token = _call_frame.set(self.frame)
            # __enter__ <- call_predictor <- the predictor's wrapper <- its caller
            self.caller: types.FrameType | None = sys._getframe(3)
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self.caller = None  # no frame reference outlives the call
        if self.owner and not self.adopted:
            _call_frame.reset(self.token)
            if self.frame.store is not None:
                _report(self.frame.store.close(), exc, self.frame.label)

    async def __aenter__(self) -> CallScope:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if self.owner:
            _call_frame.reset(self.token)
            if self.frame.store is not None:
                _report(await self.frame.store.aclose(), exc, self.frame.label)

    def _adopt_enclosing_call(self, frame: CallFrame) -> None:
        outer = _outermost_frameless_call(self.caller)
        if outer is not None and _end_with(outer, self.token, frame):
            self.adopted = True


def ambient_frame() -> CallFrame | None:
    """The open call scope, adopting a frameless enclosing predictor call if there is one."""
    frame = _call_frame.get()
    if frame is not None:
        return frame
    outer = _outermost_frameless_call(sys._getframe(1))
    if outer is None:
        return None
    frame = CallFrame(_wrapper_codes[outer.f_code].name)
    token = _call_frame.set(frame)
    if not _end_with(outer, token, frame):
        _call_frame.reset(token)
        return None
    return frame


def _outermost_frameless_call(start: types.FrameType | None) -> types.FrameType | None:
    """The outermost warm-path predictor frame at or above ``start``, marked as nesting."""
    outer = None
    frame = start
    while frame is not None:
        if frame.f_code in _wrapper_codes:
            outer = frame
        frame = frame.f_back
    if outer is not None:
        _mark_nesting(_wrapper_codes[outer.f_code])
    return outer


def _mark_nesting(component: Component) -> None:
    """From now on ``component`` opens a call scope: drop it from every warm cache."""
    _known_nesting[component] = True
    with _Process.lock:
        managers = [*_Process.open, *([_Process.default] if _Process.default else [])]
    for manager in managers:
        manager._warm.pop(component, None)


def _end_with(outer: types.FrameType, token: Any, frame: CallFrame) -> bool:
    """Close ``frame`` when the ``outer`` Python frame returns; False if we cannot hook it."""
    if sys.getprofile() is not None:
        return False

    def on_return(current: types.FrameType, event: str, arg: Any) -> None:
        if event != "return" or current is not outer:
            return
        sys.setprofile(None)
        _call_frame.reset(token)
        if frame.store is not None:
            errors = frame.store.close()
            if errors:
                logger.error(
                    "daidai: call-scoped teardown failed after %s()",
                    frame.label,
                    exc_info=TeardownError("call-scoped teardown failed", errors),
                )

    sys.setprofile(on_return)
    return True


def _report(errors: list[Exception], exc: BaseException | None, label: str) -> None:
    if not errors:
        return
    group = TeardownError(f"{len(errors)} call-scoped teardown(s) failed after {label}()", errors)
    if exc is None:
        raise group
    for error in errors:
        exc.add_note(f"daidai: teardown also failed: {type(error).__name__}: {error}")


def _referenced_values(fn: Any) -> Iterator[Any]:
    fn = inspect.unwrap(fn)
    code = getattr(fn, "__code__", None)
    if code is None:
        return
    globals_ = getattr(fn, "__globals__", {})
    for name in _global_names(code):
        if name in globals_:
            yield globals_[name]
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            yield cell.cell_contents
        except ValueError:
            continue


def _global_names(code: types.CodeType) -> Iterator[str]:
    """Names the code may load as globals: ``co_names`` (a superset that also holds attribute
    names, so at worst a predictor opens a call scope it did not need; far cheaper than
    disassembling)."""
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _global_names(const)
