"""The conformance suite for serializer plugins."""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Sequence
from typing import Any

import pytest

from daidai.catalog import Serializer
from daidai.testing.conformance._common import _required


class SerializerConformance:
    """Tests for a :class:`daidai.catalog.Serializer`.

    Required fixtures:

    * ``serializer``: the serializer under test;
    * ``sample_values``: values it must accept and round-trip (equal and of the same type;
      numpy arrays are compared with ``np.array_equal``, dtype and shape).

    Optional fixture: ``rejected_values``, values its ``accepts`` must refuse (default: none).
    Override :meth:`assert_same` if your values need another notion of equality.
    """

    @pytest.fixture
    def serializer(self) -> Serializer:
        raise _required("serializer", "the serializer under test")

    @pytest.fixture
    def sample_values(self) -> Sequence[Any]:
        raise _required("sample_values", "a list of values the serializer must round-trip")

    @pytest.fixture
    def rejected_values(self) -> Sequence[Any]:
        return []

    def assert_same(self, expected: Any, actual: Any) -> None:
        """Fail unless ``actual`` (loaded) is the same value as ``expected`` (stored)."""
        assert _same(expected, actual), f"{actual!r} came back for {expected!r}"

    def test_is_a_serializer(self, serializer: Serializer) -> None:
        assert isinstance(serializer, Serializer)
        assert isinstance(serializer.name, str)
        assert serializer.name
        assert isinstance(serializer.safe, bool)

    def test_accepts_the_sample_values(
        self, serializer: Serializer, sample_values: Sequence[Any]
    ) -> None:
        assert sample_values, "sample_values is empty: give the suite something to store"
        refused = [v for v in sample_values if serializer.accepts(v) is not True]
        assert not refused, f"accepts() is not True for {refused!r}"

    def test_round_trip(self, serializer: Serializer, sample_values: Sequence[Any]) -> None:
        for value in sample_values:
            data = serializer.dumps(value)
            assert isinstance(data, bytes), f"dumps() gave {type(data).__name__}, not bytes"
            self.assert_same(value, serializer.loads(data))

    def test_dumps_is_deterministic(
        self, serializer: Serializer, sample_values: Sequence[Any]
    ) -> None:
        for value in sample_values:
            assert serializer.dumps(value) == serializer.dumps(value), repr(value)

    def test_loads_does_not_keep_a_reference_to_the_buffer(
        self, serializer: Serializer, sample_values: Sequence[Any]
    ) -> None:
        for value in sample_values:
            buffer = bytearray(serializer.dumps(value))
            loaded = serializer.loads(bytes(buffer))
            buffer[:] = b"\x00" * len(buffer)
            self.assert_same(value, loaded)

    def test_rejected_values(self, serializer: Serializer, rejected_values: Sequence[Any]) -> None:
        accepted = [v for v in rejected_values if serializer.accepts(v) is not False]
        assert not accepted, f"accepts() is not False for {accepted!r}"

    def test_accepts_answers_for_any_value(self, serializer: Serializer) -> None:
        odd: list[Any] = [
            object(),
            lambda: None,
            threading.Lock(),
            iter([]),
            type,
            sys,
            float("nan"),
            NotImplemented,
            Ellipsis,
        ]
        for value in odd:
            assert isinstance(serializer.accepts(value), bool), repr(value)


def _same(expected: Any, actual: Any) -> bool:
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(expected, numpy.ndarray):
        if type(actual) is not type(expected):
            return False
        if actual.dtype != expected.dtype or actual.shape != expected.shape:
            return False
        try:
            return bool(numpy.array_equal(expected, actual, equal_nan=True))
        except TypeError:  # equal_nan needs a numeric dtype
            return bool(numpy.array_equal(expected, actual))
    if type(actual) is not type(expected):
        return False
    if isinstance(expected, float) and math.isnan(expected):
        return math.isnan(actual)
    if isinstance(expected, list | tuple):
        return len(expected) == len(actual) and all(map(_same, expected, actual))
    if isinstance(expected, dict):
        same_keys = list(expected) == list(actual)
        return same_keys and all(_same(expected[k], actual[k]) for k in expected)
    return bool(expected == actual)


# ===================================================================================== storages
