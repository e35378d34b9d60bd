"""Tools for testing daidai plugins and the code that uses daidai.

The conformance suites (:mod:`daidai.testing.conformance`) are pytest test classes that a
fetcher, serializer, storage or driver plugin subclasses to check itself::

    from daidai.testing import StorageConformance

    class TestMyStorage(StorageConformance):
        @pytest.fixture
        def storage(self, tmp_path):
            return MyStorage(tmp_path / "store")

They are loaded on first access, so importing :mod:`daidai.testing` does not import pytest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from daidai.testing.conformance import (
        ConformanceError,
        DriverConformance,
        FetcherConformance,
        SerializerConformance,
        StorageConformance,
    )

__all__ = [
    "ConformanceError",
    "DriverConformance",
    "FetcherConformance",
    "SerializerConformance",
    "StorageConformance",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from daidai.testing import conformance

        return getattr(conformance, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
