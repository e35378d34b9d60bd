"""Calling predictors and artifacts: generated fast wrappers and the general slow path.

A warm predictor call must cost little more than a plain call, so each predictor gets a wrapper
generated with its exact parameter list (the technique attrs uses for ``__init__``). The wrapper
looks up the serving manager and that manager's tuple of already-resolved injected values, then
calls the user's function directly. Anything unusual (an injected parameter passed by the caller,
a missing input, a cold manager, call-scoped artifacts, a predictor that calls other predictors)
takes :func:`call_predictor`, which plans, builds and refills the warm cache.

Generated code needs the parsed signature, which may only be available at first call (hints
naming later definitions). Until then the wrapper runs a stub that generates the real code and
swaps it into the *same* function object (``__code__``/``__defaults__``), so references users
already hold keep working and get fast.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from daidai.callscope import CallScope, ambient_frame, needs_scope, register_wrapper_code
from daidai.component import Component
from daidai.errors import WrongAnnotation
from daidai.lifecycle import CallRecord, PredictorCall
from daidai.manager import ModelManager, _current, _Process, current_manager
from daidai.plugins import DaidaiPluginManager
from daidai.realize import realize_async, realize_sync, record_call
from daidai.resolve import CallFrame, Planner, plan_dependencies
from daidai.store import MISSING

NOT_GIVEN: Any = type("NotGiven", (), {"__repr__": lambda self: "<injected>", "__slots__": ()})()
REQUIRED: Any = type("Required", (), {"__repr__": lambda self: "<required>", "__slots__": ()})()

_PREFIX = "_daidai_"


# ------------------------------------------------------------------------------ predictor wrappers
def make_predictor_wrapper(component: Component) -> Callable[..., Any]:
    """Create the function users call. Specialized now if the signature parses, else later."""
    namespace: dict[str, Any] = {
        f"{_PREFIX}c": component,
        f"{_PREFIX}get": _current.get,
        f"{_PREFIX}process": _Process,
        f"{_PREFIX}fn": component.fn,
        f"{_PREFIX}slow": call_predictor,
        f"{_PREFIX}aslow": acall_predictor,
        f"{_PREFIX}first": _specialize_then_call,
        "__builtins__": __builtins__,
    }
    keyword = "async def" if component.is_async else "def"
    awaiting = "await " if component.is_async else ""
    source = (
        f"{keyword} {_safe_name(component)}(*args, **kwargs):\n"
        f"    return {awaiting}{_PREFIX}first({_PREFIX}c, args, kwargs)\n"
    )
    exec(compile(source, f"<daidai wrapper of {component.id}>", "exec"), namespace)
    wrapper: Callable[..., Any] = namespace[_safe_name(component)]
    namespace[f"{_PREFIX}self"] = wrapper
    return wrapper


def specialize(component: Component) -> None:
    """Replace the wrapper's code by code generated for the parsed signature."""
    wrapper = component.wrapper
    namespace = wrapper.__globals__
    spec = component.spec
    params = list(spec.signature.parameters.values())
    if any(p.name.startswith(_PREFIX) for p in params):
        raise WrongAnnotation(
            f"{component.label}: parameter names starting with {_PREFIX!r} are reserved"
        )
    injected = [d.param for d in spec.dependencies]
    header, call, arguments, checks = [], [], [], []
    needs_default = False
    keyword_only_started = False
    for index, param in enumerate(params):
        name = param.name
        if param.kind is param.VAR_POSITIONAL:
            header.append(f"*{name}")
            call.append(f"*{name}")
            keyword_only_started = True
        elif param.kind is param.VAR_KEYWORD:
            header.append(f"**{name}")
            call.append(f"**{name}")
        else:
            if param.kind is param.KEYWORD_ONLY and not keyword_only_started:
                header.append("*")
                keyword_only_started = True
            if name in injected:
                default = f"{_PREFIX}not_given"
                checks.append(f"{name} is {_PREFIX}not_given")
                value = f"{_PREFIX}v[{injected.index(name)}]"
                needs_default = param.kind is not param.KEYWORD_ONLY or needs_default
            elif param.default is not param.empty:
                namespace[f"{_PREFIX}d{index}"] = param.default
                default = f"{_PREFIX}d{index}"
                value = name
                needs_default = param.kind is not param.KEYWORD_ONLY or needs_default
            elif needs_default and param.kind is not param.KEYWORD_ONLY:
                default = f"{_PREFIX}required"
                checks.append(f"{name} is not {_PREFIX}required")
                value = name
            else:
                default = None
                value = name
            header.append(name if default is None else f"{name}={default}")
            last_positional_only = param.kind is param.POSITIONAL_ONLY and (
                index + 1 == len(params) or params[index + 1].kind is not param.POSITIONAL_ONLY
            )
            if last_positional_only:
                header.append("/")
            call.append(f"{name}={value}" if param.kind is param.KEYWORD_ONLY else value)
        arguments.append(f"{name!r}: {name}")
    namespace[f"{_PREFIX}not_given"] = NOT_GIVEN
    namespace[f"{_PREFIX}required"] = REQUIRED
    condition = " and ".join(["_daidai_m is not None", *checks])
    keyword = "async def" if component.is_async else "def"
    awaiting = "await " if component.is_async else ""
    slow = f"{_PREFIX}aslow" if component.is_async else f"{_PREFIX}slow"
    # Async predictors always take the slow path: it opens their call scope (a context
    # variable), which costs little next to creating and awaiting a coroutine.
    fast = (
        ""
        if component.is_async
        else (
            f"    _daidai_m = {_PREFIX}get(None)\n"
            f"    if _daidai_m is None:\n"
            f"        _daidai_m = {_PREFIX}process.latest\n"
            f"    if {condition}:\n"
            f"        {_PREFIX}v = _daidai_m._warm.get({_PREFIX}c)\n"
            f"        if {_PREFIX}v is not None:\n"
            f"            return {_PREFIX}fn({', '.join(call)})\n"
        )
    )
    source = (
        f"{keyword} {_safe_name(component)}({', '.join(header)}):\n"
        f"{fast}"
        f"    return {awaiting}{slow}({_PREFIX}c, {{{', '.join(arguments)}}})\n"
    )
    scratch = dict(namespace)
    exec(compile(source, f"<daidai wrapper of {component.id}>", "exec"), scratch)
    generated = scratch[_safe_name(component)]
    namespace.update({k: v for k, v in scratch.items() if k.startswith(_PREFIX)})
    wrapper.__defaults__ = generated.__defaults__
    wrapper.__kwdefaults__ = generated.__kwdefaults__
    wrapper.__code__ = generated.__code__
    if not component.is_async:
        register_wrapper_code(generated.__code__, component)


def _safe_name(component: Component) -> str:
    name = component.fn.__name__
    return name if name.isidentifier() and not name.startswith(_PREFIX) else "predictor"


def _specialize_then_call(
    component: Component, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    specialize(component)
    return component.wrapper(*args, **kwargs)


# ----------------------------------------------------------------------------------- slow path
def call_predictor(component: Component, arguments: dict[str, Any]) -> Any:
    """Resolve what the warm path could not, run the predictor, refill the warm cache."""
    given = _check_arguments(component, arguments)
    manager = current_manager()
    with CallScope(component, may_adopt=True) as scope:
        arguments.update(_resolve(manager, component, given, scope.frame))
        return _invoke(manager, component, arguments)


async def acall_predictor(component: Component, arguments: dict[str, Any]) -> Any:
    """The async twin of :func:`call_predictor`: async artifacts are awaited on this loop."""
    given = _check_arguments(component, arguments)
    manager = current_manager()
    async with CallScope(component, may_adopt=False) as scope:
        arguments.update(await _aresolve(manager, component, given, scope.frame))
        return await _ainvoke(manager, component, arguments)


def _check_arguments(component: Component, arguments: dict[str, Any]) -> frozenset[str]:
    missing = [name for name, value in arguments.items() if value is REQUIRED]
    if missing:
        raise TypeError(
            f"{component.name}() missing required argument(s): {', '.join(map(repr, missing))}"
        )
    return frozenset(p for p in component.spec.dependency_params if arguments[p] is not NOT_GIVEN)


def _resolve(
    manager: ModelManager, component: Component, given: frozenset[str], frame: CallFrame
) -> dict[str, Any]:
    cached = None if given else manager._warm_framed.get(component)
    if cached is not None:
        return dict(cached)
    planner = Planner(manager, frame)
    values = {
        param: realize_sync(plan, component.name)
        for param, plan in plan_dependencies(planner, component, given)
    }
    if not given:
        _remember(manager, component, planner, values)
    return values


async def _aresolve(
    manager: ModelManager, component: Component, given: frozenset[str], frame: CallFrame
) -> dict[str, Any]:
    cached = None if given else manager._warm_framed.get(component)
    if cached is not None:
        return dict(cached)
    planner = Planner(manager, frame)
    values = {
        param: await realize_async(plan)
        for param, plan in plan_dependencies(planner, component, given)
    }
    if not given:
        _remember(manager, component, planner, values)
    return values


def _remember(
    manager: ModelManager, component: Component, planner: Planner, values: dict[str, Any]
) -> None:
    """Cache resolved values unless they die with this call (call scope) or this test
    (overlay). The frameless warm path is only for calls no plugin needs to see."""
    if planner.uses_call_scope or planner.uses_overlay or manager.closed:
        return
    manager._warm_framed[component] = tuple(values.items())
    plugins = manager.plugins_for(component)
    observed = plugins.is_active("daidai_predictor_call") or plugins.is_active("daidai_record_call")
    if not (observed or component.is_async or needs_scope(component)):
        manager._warm[component] = tuple(values[d.param] for d in component.spec.dependencies)


def _invoke(manager: ModelManager, component: Component, arguments: dict[str, Any]) -> Any:
    args, kwargs = _call_arguments(component, arguments)
    plugins = manager.plugins_for(component)
    if not plugins.is_active("daidai_record_call"):
        return _run(plugins, component, args, kwargs)
    started, clock = time.time(), time.perf_counter()
    try:
        result = _run(plugins, component, args, kwargs)
    except BaseException as exc:
        _record_predictor(plugins, component, started, clock, exc)
        raise
    _record_predictor(plugins, component, started, clock, None)
    return result


async def _ainvoke(manager: ModelManager, component: Component, arguments: dict[str, Any]) -> Any:
    """Like :func:`_invoke`; the coroutine is awaited inside the timing."""
    args, kwargs = _call_arguments(component, arguments)
    plugins = manager.plugins_for(component)
    if not plugins.is_active("daidai_record_call"):
        return await _run(plugins, component, args, kwargs)
    started, clock = time.time(), time.perf_counter()
    try:
        result = await _run(plugins, component, args, kwargs)
    except BaseException as exc:
        _record_predictor(plugins, component, started, clock, exc)
        raise
    _record_predictor(plugins, component, started, clock, None)
    return result


def _run(
    plugins: DaidaiPluginManager, component: Component, args: list[Any], kwargs: dict[str, Any]
) -> Any:
    """Call the predictor, through the predictor-call hook when a plugin implements it."""
    if not plugins.is_active("daidai_predictor_call"):
        return component.fn(*args, **kwargs)
    call = PredictorCall(component, args, kwargs)
    plugins.hook.daidai_predictor_call(call=call)
    return call.result


def _record_predictor(
    plugins: DaidaiPluginManager,
    component: Component,
    started: float,
    clock: float,
    error: BaseException | None,
) -> None:
    duration = time.perf_counter() - clock
    record = CallRecord("predictor", component, {}, started, duration, error)
    record_call(plugins, record)


def _call_arguments(
    component: Component, arguments: dict[str, Any]
) -> tuple[list[Any], dict[str, Any]]:
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for param in component.spec.signature.parameters.values():
        value = arguments[param.name]
        if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
            args.append(value)
        elif param.kind is param.VAR_POSITIONAL:
            args.extend(value)
        elif param.kind is param.KEYWORD_ONLY:
            kwargs[param.name] = value
        else:
            kwargs.update(value)
    return args, kwargs


# ------------------------------------------------------------------------------ artifact wrappers
def make_artifact_wrapper(component: Component) -> Callable[..., Any]:
    """``model()`` returns the instance in the serving manager; keywords configure it."""
    if component.is_async:

        async def async_artifact(*args: Any, **config: Any) -> Any:
            _no_positional(component, args)
            return await aload_artifact(component, config)

        return async_artifact

    def artifact(*args: Any, **config: Any) -> Any:
        if not config and not args:
            manager = _current.get(None) or _Process.latest
            if manager is not None:
                value = manager._warm_artifacts.get(component, MISSING)
                if value is not MISSING:
                    return value
        _no_positional(component, args)
        return load_artifact(component, config)

    return artifact


def _no_positional(component: Component, args: tuple[Any, ...]) -> None:
    if args:
        raise TypeError(
            f"{component.name}() takes configuration as keyword arguments only, e.g. "
            f"{component.name}(size='xl'); got {len(args)} positional argument(s)"
        )


def load_artifact(component: Component, config: dict[str, Any]) -> Any:
    manager = current_manager()
    planner = Planner(manager, ambient_frame())
    plan = planner.reference(
        component, annotation_config={}, direct_config=config, dependent=None, chain=()
    )
    value = realize_sync(plan, component.name)
    if not (config or planner.uses_call_scope or planner.uses_overlay or manager.closed):
        manager._warm_artifacts[component] = value
    return value


async def aload_artifact(component: Component, config: dict[str, Any]) -> Any:
    manager = current_manager()
    planner = Planner(manager, ambient_frame())
    plan = planner.reference(
        component, annotation_config={}, direct_config=config, dependent=None, chain=()
    )
    return await realize_async(plan)
