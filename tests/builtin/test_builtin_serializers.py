"""The built-in serializers against the conformance suite, and their order of preference."""

from __future__ import annotations

import collections
import dataclasses
import enum
import io
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from daidai.catalog import Serializer
from daidai.plugins import plugin_manager
from daidai.testing import SerializerConformance
from daidai_builtin.serializers import (
    PREFERENCE,
    BytesSerializer,
    JsonSerializer,
    NpySerializer,
    PickleSerializer,
    TextSerializer,
)


class Color(enum.IntEnum):
    RED = 1


@dataclasses.dataclass(frozen=True)
class Point:
    x: float
    y: float


def _cyclic() -> list[Any]:
    items: list[Any] = []
    items.append(items)
    return items


def _deep(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


class TestJson(SerializerConformance):
    @pytest.fixture
    def serializer(self) -> Serializer:
        return JsonSerializer()

    @pytest.fixture
    def sample_values(self) -> Sequence[Any]:
        return [
            {"a": 1, "b": [1.5, None, True, False, "é"], "c": {"d": {}}},
            {"z": 1, "a": 2},  # key order is kept
            [],
            {},
            "",
            "text with a lone surrogate \ud800 and an emoji 🙂",
            0,
            -1,
            2**80,
            1e308,
            -0.0,
            0.1,
            float("inf"),
            float("nan"),
            [[[[]]]],
            None,
            True,
        ]

    @pytest.fixture
    def rejected_values(self) -> Sequence[Any]:
        return [
            (1, 2),
            {1: "int key"},
            {"a": (1,)},
            {"s"},
            b"bytes",
            object(),
            collections.OrderedDict(a=1),
            Color.RED,
            np.float64(1.0),
            np.arange(3),
            _cyclic(),
            _deep(1000),
            10**5000,
            Point(1, 2),
        ]


class TestText(SerializerConformance):
    @pytest.fixture
    def serializer(self) -> Serializer:
        return TextSerializer()

    @pytest.fixture
    def sample_values(self) -> Sequence[Any]:
        return ["", "hello", "émoji 🙂", "lone \ud800 surrogate", "a\x00b", "\r\n\r", "x" * 100_000]

    @pytest.fixture
    def rejected_values(self) -> Sequence[Any]:
        class Sub(str):
            pass

        return [b"bytes", 1, None, Sub("subclass"), ["list"]]


class TestBytes(SerializerConformance):
    @pytest.fixture
    def serializer(self) -> Serializer:
        return BytesSerializer()

    @pytest.fixture
    def sample_values(self) -> Sequence[Any]:
        return [b"", b"\x00", bytes(range(256)), b"x" * 3_000_000]

    @pytest.fixture
    def rejected_values(self) -> Sequence[Any]:
        return ["text", 1, memoryview(b"view"), [1, 2], np.frombuffer(b"ab", dtype=np.uint8)]


def test_bytearray_loads_as_equal_bytes() -> None:
    serializer = BytesSerializer()
    assert serializer.accepts(bytearray(b"abc"))
    assert serializer.loads(serializer.dumps(bytearray(b"abc"))) == b"abc"


class TestNpy(SerializerConformance):
    @pytest.fixture
    def serializer(self) -> Serializer:
        return NpySerializer()

    @pytest.fixture
    def sample_values(self) -> Sequence[Any]:
        return [
            np.arange(12, dtype=np.float64).reshape(3, 4),
            np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3)),
            np.array([1, -2, 3], dtype=np.int8),
            np.array([True, False]),
            np.array([1 + 2j, np.nan], dtype=np.complex128),
            np.array([np.nan, 1.0, np.inf]),
            np.array(3.5),  # zero-dimensional
            np.empty((0, 3)),
            np.array(["a", "héllo"]),
            np.array(["2024-01-01", "NaT"], dtype="datetime64[D]"),
            np.zeros(2, dtype=[("x", "<f4"), ("name", "U3")]),
            np.random.default_rng(0).random((700, 700)),  # a few MB
        ]

    @pytest.fixture
    def rejected_values(self) -> Sequence[Any]:
        return [
            np.array([{"a": 1}, None], dtype=object),
            np.zeros(2, dtype=[("x", "<f4"), ("o", "O")]),
            np.ma.masked_array([1, 2], mask=[0, 1]),
            np.float64(1.0),
            [1.0, 2.0],
            b"bytes",
        ]


def test_npy_never_unpickles() -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="allow_pickle"):
        NpySerializer().loads(buffer.getvalue())


def test_npy_keeps_the_memory_layout() -> None:
    array = np.asfortranarray(np.arange(6).reshape(2, 3))
    loaded = NpySerializer().loads(NpySerializer().dumps(array))
    assert loaded.flags.f_contiguous


class TestPickle(SerializerConformance):
    @pytest.fixture
    def serializer(self) -> Serializer:
        return PickleSerializer()

    @pytest.fixture
    def sample_values(self) -> Sequence[Any]:
        return [(1, 2), {1: "a", (2, 3): "b"}, Point(1.0, 2.5), Color.RED, 1 + 2j, [1, "x"]]

    @pytest.fixture
    def rejected_values(self) -> Sequence[Any]:
        return [lambda: 1, threading.Lock(), (i for i in range(3)), [1, lambda: 2]]


def test_only_pickle_is_unsafe() -> None:
    assert [s.safe for s in (JsonSerializer(), TextSerializer(), BytesSerializer())] == [
        True,
        True,
        True,
    ]
    assert NpySerializer().safe is True
    assert PickleSerializer().safe is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": [1, 2.5]}, "json"),
        ("text", "json"),
        (b"raw", "bytes"),
        (bytearray(b"raw"), "bytes"),
        (np.ones(3), "npy"),
        ((1, 2), "pickle"),
        (np.array([None], dtype=object), "pickle"),
        (Point(0, 0), "pickle"),
    ],
)
def test_first_accepting_serializer_in_preference_order(value: Any, expected: str) -> None:
    catalog = plugin_manager().catalog("serializer")
    chosen = next(name for name in PREFERENCE if catalog.get(name).accepts(value))
    assert chosen == expected


def test_text_is_chosen_when_json_is_not_wanted() -> None:
    catalog = plugin_manager().catalog("serializer")
    accepting = [name for name in PREFERENCE if catalog.get(name).accepts("text")]
    assert accepting == ["json", "text", "pickle"]
