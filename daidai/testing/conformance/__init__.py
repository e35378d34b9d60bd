"""Conformance suites for fetcher, serializer, storage and driver plugins.

Each suite is a plain class of pytest tests. Subclass it in a test module under a name pytest
collects (``Test...``) and define the fixtures it asks for; every test of the suite then runs
against your implementation::

    import pytest
    from daidai.testing import StorageConformance
    from my_plugin import RedisStorage

    class TestRedisStorage(StorageConformance):
        @pytest.fixture
        def storage(self, redis_url):
            store = RedisStorage(redis_url)
            yield store
            store.close()

A fixture the suite needs but you did not define fails the tests with a message naming it.
Optional fixtures have defaults you may override (``missing_url``, ``rejected_values``,
``storage_path``, ...). A test that cannot apply to your plugin can be switched off by name,
with its reason, in the subclass::

    test_large_value = pytest.mark.skip(reason="the service caps values at 1 MB")(
        StorageConformance.test_large_value
    )

The suites exercise only what the protocols of :mod:`daidai.catalog` promise, plus the
properties daidai relies on: exact bytes, atomic writes, keys that cannot escape, errors of the
documented types.
"""

from daidai.testing.conformance.driver import ConformanceError, DriverConformance
from daidai.testing.conformance.fetcher import FetcherConformance
from daidai.testing.conformance.serializer import SerializerConformance
from daidai.testing.conformance.storage import StorageConformance

__all__ = [
    "ConformanceError",
    "DriverConformance",
    "FetcherConformance",
    "SerializerConformance",
    "StorageConformance",
]
