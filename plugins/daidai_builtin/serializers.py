"""Built-in serializers: ``json``, ``text``, ``bytes``, ``npy`` (with numpy) and ``pickle``.

:data:`PREFERENCE` is the order daidai prefers them in: safe, portable formats first, pickle
(which can run arbitrary code when loaded) last. Each serializer's ``accepts`` is exact: it
says yes only to values that come back equal *and of the same type*, so trying them in order
of preference picks the safest format that round-trips (``[1, 2]`` -> json, ``(1, 2)`` ->
pickle, a float64 array -> npy, an object array -> pickle). The one exception, documented on
:class:`BytesSerializer`, is ``bytearray``, which loads back as (equal) ``bytes``.

numpy is optional: ``npy`` is registered only when numpy can be imported, and numpy is
imported only when an array is actually stored or loaded.
"""

from __future__ import annotations

import importlib.util
import io
import json
import pickle
import sys
from typing import TYPE_CHECKING, Any, Final

from daidai.plugins import hookimpl

if TYPE_CHECKING:
    from daidai.catalog import Register

__all__ = [
    "PREFERENCE",
    "BytesSerializer",
    "JsonSerializer",
    "NpySerializer",
    "PickleSerializer",
    "TextSerializer",
    "daidai_register_serializers",
]

PREFERENCE: Final = ("json", "text", "bytes", "npy", "pickle")
"""Built-in serializer names, most preferred first."""

_JSON_SCALARS: Final = frozenset({str, int, float, bool, type(None)})
_MAX_JSON_DEPTH: Final = 200  # well below the recursion limits of json and of this check
_MAX_INT_BITS: Final = 14_000  # int <-> str conversion is limited to 4300 digits by default


class JsonSerializer:
    """Trees of ``dict`` (string keys), ``list``, ``str``, ``int``, ``float``, ``bool`` and
    ``None``, exactly those types (no tuples, subclasses or non-string keys, which would not
    come back as they went in). Key order is kept; NaN and infinities use Python's JSON
    extensions, which ``json.loads`` reads back."""

    name = "json"
    safe = True

    def accepts(self, value: Any) -> bool:
        try:
            return _is_json_tree(value, 0, set())
        except RecursionError:
            return False

    def dumps(self, value: Any) -> bytes:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=True)
        return text.encode("utf-8", "surrogatepass")

    def loads(self, data: bytes) -> Any:
        return json.loads(bytes(data).decode("utf-8", "surrogatepass"))


def _is_json_tree(value: Any, depth: int, seen: set[int]) -> bool:
    kind = type(value)
    if kind in _JSON_SCALARS:
        return kind is not int or value.bit_length() <= _MAX_INT_BITS
    if kind is not list and kind is not dict:
        return False
    if depth >= _MAX_JSON_DEPTH or id(value) in seen:  # too deep, or a cycle
        return False
    seen.add(id(value))
    try:
        if kind is list:
            return all(_is_json_tree(item, depth + 1, seen) for item in value)
        return all(
            type(key) is str and _is_json_tree(item, depth + 1, seen) for key, item in value.items()
        )
    finally:
        seen.discard(id(value))


class TextSerializer:
    """``str``, stored as UTF-8 (lone surrogates survive)."""

    name = "text"
    safe = True

    def accepts(self, value: Any) -> bool:
        return type(value) is str

    def dumps(self, value: Any) -> bytes:
        if type(value) is not str:
            raise TypeError(f"the text serializer stores str, not {type(value).__name__}")
        text: str = value
        return text.encode("utf-8", "surrogatepass")

    def loads(self, data: bytes) -> Any:
        return bytes(data).decode("utf-8", "surrogatepass")


class BytesSerializer:
    """``bytes`` and ``bytearray``, stored as they are. Both load as ``bytes``."""

    name = "bytes"
    safe = True

    def accepts(self, value: Any) -> bool:
        return type(value) is bytes or type(value) is bytearray

    def dumps(self, value: Any) -> bytes:
        if not self.accepts(value):
            raise TypeError(f"the bytes serializer stores bytes, not {type(value).__name__}")
        return bytes(value)

    def loads(self, data: bytes) -> Any:
        return bytes(data)


class NpySerializer:
    """numpy arrays in the ``.npy`` format, never pickled: arrays whose dtype holds Python
    objects are refused (``accepts`` is False), and loading never unpickles. Exactly
    ``numpy.ndarray`` (not subclasses such as masked arrays or ``np.matrix``)."""

    name = "npy"
    safe = True

    def accepts(self, value: Any) -> bool:
        numpy = sys.modules.get("numpy")  # no numpy loaded: the value cannot be an array
        if numpy is None or type(value) is not numpy.ndarray:
            return False
        return not value.dtype.hasobject

    def dumps(self, value: Any) -> bytes:
        import numpy as np

        if not self.accepts(value):
            raise TypeError(
                "the npy serializer stores numpy arrays without Python objects, not "
                f"{type(value).__name__}"
            )
        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        return buffer.getvalue()

    def loads(self, data: bytes) -> Any:
        import numpy as np

        return np.load(io.BytesIO(data), allow_pickle=False)


class PickleSerializer:
    """Anything :mod:`pickle` can store: the fallback. Loading runs code named in the data,
    so ``safe`` is False and daidai verifies a stored object's digest before loading it."""

    name = "pickle"
    safe = False

    def accepts(self, value: Any) -> bool:
        # A trial run into a sink that keeps nothing: the only reliable test, and it costs no
        # memory. Pickle comes last in the preference order, so only values that nothing
        # safer accepts pay for it.
        try:
            pickle.Pickler(_Discard(), protocol=pickle.HIGHEST_PROTOCOL).dump(value)
        except Exception:
            return False
        return True

    def dumps(self, value: Any) -> bytes:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)

    def loads(self, data: bytes) -> Any:
        return pickle.loads(data)  # the caller verified the digest first (safe=False)


class _Discard:
    """A write-only file that forgets everything written to it."""

    def write(self, data: Any) -> int:
        return len(data)


@hookimpl
def daidai_register_serializers(register: Register) -> None:
    register("json", JsonSerializer())
    register("text", TextSerializer())
    register("bytes", BytesSerializer())
    if importlib.util.find_spec("numpy") is not None:
        register("npy", NpySerializer())
    else:
        register.hint("npy", "The npy format stores numpy arrays: pip install numpy.")
    register("pickle", PickleSerializer())
