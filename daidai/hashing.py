"""Identity of configuration values.

An artifact instance is identified by its configuration, so every value must take part in the
key, including values that are unhashable (lists, dicts, numpy arrays) or callable. Simple
hashable values are kept as ``(type, value)`` so ``1``, ``1.0`` and ``True`` never collide;
anything else is replaced by a digest of its content computed without pickle or ``repr``
(memory addresses would make keys differ between runs).
"""

from __future__ import annotations

import enum
import hashlib
import math
import pathlib
import sys
import types
from collections.abc import Callable, Hashable, Mapping
from typing import Any

_SIMPLE = (str, int, float, bool, bytes, type(None), complex)

KeyPart = Hashable


def config_key(config: Mapping[str, Any]) -> tuple[tuple[str, KeyPart], ...]:
    """A hashable, order-independent key for a resolved configuration."""
    return tuple(sorted((name, value_key(value)) for name, value in config.items()))


def value_key(value: Any) -> KeyPart:
    """A hashable stand-in for ``value`` that is equal only for equal values of equal type."""
    cls = type(value)
    if cls in _SIMPLE:
        if cls is float and math.isnan(value):
            return (float, "nan")
        return (cls, value)
    return (cls.__module__ + "." + cls.__qualname__, digest(value))


def digest(value: Any) -> str:
    """A hex digest of ``value``'s content, stable across processes for plain data."""
    hasher = hashlib.blake2b(digest_size=16)
    _feed(hasher, value, set())
    return hasher.hexdigest()


def _feed(h: Any, value: Any, active: set[int]) -> None:
    """Write a type-tagged, unambiguous encoding of ``value`` into ``h``."""
    cls = type(value)
    tag = f"{cls.__module__}.{cls.__qualname__}".encode()
    h.update(len(tag).to_bytes(4, "little") + tag)
    if cls in _SIMPLE:
        data = value if isinstance(value, bytes) else repr(value).encode()
        h.update(len(data).to_bytes(8, "little") + data)
        return
    ident = id(value)
    if ident in active:  # a self-referencing container
        h.update(b"<cycle>")
        return
    active.add(ident)
    try:
        _feed_compound(h, value, active)
    finally:
        active.discard(ident)


def _feed_compound(h: Any, value: Any, active: set[int]) -> None:
    component = getattr(value, "__daidai__", None)
    if component is not None:
        _feed(h, component.id, active)
    elif isinstance(value, enum.Enum):
        _feed(h, value.name, active)
    elif isinstance(value, pathlib.PurePath):
        _feed(h, str(value), active)
    elif isinstance(value, Mapping):
        items = sorted(((digest(k), v) for k, v in value.items()), key=lambda kv: kv[0])
        h.update(len(items).to_bytes(8, "little"))
        for key_digest, item in items:
            h.update(key_digest.encode())
            _feed(h, item, active)
    elif isinstance(value, (set, frozenset)):
        for item_digest in sorted(digest(item) for item in value):
            h.update(item_digest.encode())
    elif isinstance(value, (list, tuple)):
        h.update(len(value).to_bytes(8, "little"))
        for item in value:
            _feed(h, item, active)
    elif hasattr(value, "__array_interface__") or hasattr(value, "dtype"):
        _feed_array(h, value)
    elif isinstance(value, (types.FunctionType, types.MethodType, types.BuiltinFunctionType)):
        _feed_callable(h, value, active)
    elif isinstance(value, type):
        _feed(h, f"{value.__module__}.{value.__qualname__}", active)
        if not _importable(value):  # a local class: its name does not identify it
            h.update(f"<id {id(value)}>".encode())
            _KEEPALIVE.append(value)
    else:
        _feed_object(h, value, active)


def _importable(cls: type) -> bool:
    """Whether ``module.qualname`` leads back to ``cls`` itself (so the name is an identity)."""
    target: Any = sys.modules.get(cls.__module__)
    for part in cls.__qualname__.split("."):
        target = getattr(target, part, None)
    return target is cls


def _feed_array(h: Any, value: Any) -> None:
    """Arrays are hashed by dtype, shape and bytes: never by ``==`` or ``bool``."""
    h.update(str(getattr(value, "dtype", "")).encode())
    h.update(str(getattr(value, "shape", "")).encode())
    tobytes = getattr(value, "tobytes", None)
    if callable(tobytes):
        h.update(tobytes())
    else:
        h.update(memoryview(value).tobytes())


def _feed_callable(h: Any, fn: Callable[..., Any], active: set[int]) -> None:
    """Functions are identified by where they live plus their code, defaults and closure."""
    if isinstance(fn, types.MethodType):
        _feed(h, fn.__self__, active)
        fn = fn.__func__
    _feed(h, f"{getattr(fn, '__module__', '')}:{getattr(fn, '__qualname__', '')}", active)
    code = getattr(fn, "__code__", None)
    if code is None:  # builtins: the qualified name is the identity
        return
    _feed_code(h, code)
    _feed(h, getattr(fn, "__defaults__", None), active)
    _feed(h, getattr(fn, "__kwdefaults__", None), active)
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            contents = cell.cell_contents
        except ValueError:  # an empty cell
            contents = "<empty cell>"
        _feed(h, contents, active)


def _feed_code(h: Any, code: types.CodeType) -> None:
    h.update(code.co_code)
    h.update(repr(code.co_names).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _feed_code(h, const)
        else:
            h.update(repr(const).encode())


def _feed_object(h: Any, value: Any, active: set[int]) -> None:
    """Other objects: their state when they expose one, else their identity in this process."""
    state = _object_state(value)
    if state is None:
        h.update(f"<id {id(value)}>".encode())
        _KEEPALIVE.append(value)  # the id must never be reused by another object
    else:
        _feed(h, state, active)


def _object_state(value: Any) -> Any:
    fields = getattr(type(value), "__attrs_attrs__", None) or getattr(
        value, "__dataclass_fields__", None
    )
    if fields is not None:
        names = [f.name for f in fields] if not isinstance(fields, dict) else list(fields)
        return {name: getattr(value, name) for name in names}
    state = getattr(value, "__dict__", None)
    if isinstance(state, dict) and state:
        return state
    slots = [s for c in type(value).__mro__ for s in getattr(c, "__slots__", ())]
    if slots:
        return {s: getattr(value, s, None) for s in slots if s != "__weakref__"}
    return None


# Objects identified by ``id`` are kept alive so a later object cannot inherit their key.
_KEEPALIVE: list[Any] = []
