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

from __future__ import annotations

import functools
import hashlib
import math
import random
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from daidai.catalog import Driver, Fetcher, MissingKey, RemoteInfo, Serializer, Storage

__all__ = [
    "ConformanceError",
    "DriverConformance",
    "FetcherConformance",
    "SerializerConformance",
    "StorageConformance",
]

LARGE = 5 * 1024 * 1024
"""Size of the "large payload" tests, in bytes."""


def _payload(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def _required(fixture: str, description: str) -> NotImplementedError:
    return NotImplementedError(
        f"the conformance suite needs a {fixture!r} fixture: {description}. "
        "Define it in your subclass of the suite (see daidai.testing.conformance)."
    )


def _run_threads(targets: Sequence[Callable[[], None]], timeout: float = 60.0) -> None:
    """Run each target in its own thread and re-raise the first failure here."""
    errors: list[BaseException] = []

    def guard(target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guard, args=(t,), daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), f"threads still running after {timeout}s"
    if errors:
        raise errors[0]


# ===================================================================================== fetchers
class FetcherConformance:
    """Tests for a :class:`daidai.catalog.Fetcher`.

    Required fixtures:

    * ``fetcher``: the fetcher under test;
    * ``make_remote``: a function taking ``bytes`` that creates a new remote file with that
      content and returns its URL (a different URL on each call).

    Optional fixtures: ``fetch_options`` (the options passed to every call, default ``{}``) and
    ``missing_url`` (a URL that does not exist; default: a new remote's URL plus a suffix).
    """

    @pytest.fixture
    def fetcher(self) -> Fetcher:
        raise _required("fetcher", "the fetcher under test")

    @pytest.fixture
    def make_remote(self) -> Callable[[bytes], str]:
        raise _required("make_remote", "a function (content: bytes) -> URL of a new remote file")

    @pytest.fixture
    def fetch_options(self) -> Mapping[str, Any]:
        return {}

    @pytest.fixture
    def missing_url(self, make_remote: Callable[[bytes], str]) -> str:
        return make_remote(b"") + "-daidai-missing"

    # ----------------------------------------------------------------------------------- info
    def test_is_a_fetcher(self, fetcher: Fetcher) -> None:
        assert isinstance(fetcher, Fetcher)

    @pytest.mark.parametrize("size", [0, 1, 1000, 65537])
    def test_info_gives_the_size(
        self,
        fetcher: Fetcher,
        make_remote: Callable[[bytes], str],
        fetch_options: Mapping[str, Any],
        size: int,
    ) -> None:
        info = fetcher.info(make_remote(_payload(size)), fetch_options)
        assert isinstance(info, RemoteInfo)
        assert info.size == size
        assert info.is_dir is False

    def test_info_version_fields_have_the_documented_types(
        self,
        fetcher: Fetcher,
        make_remote: Callable[[bytes], str],
        fetch_options: Mapping[str, Any],
    ) -> None:
        info = fetcher.info(make_remote(b"versioned"), fetch_options)
        assert info.etag is None or isinstance(info.etag, str)
        assert info.mtime is None or isinstance(info.mtime, float)

    def test_info_of_a_missing_file_raises_file_not_found(
        self, fetcher: Fetcher, missing_url: str, fetch_options: Mapping[str, Any]
    ) -> None:
        with pytest.raises(FileNotFoundError):
            fetcher.info(missing_url, fetch_options)

    # ---------------------------------------------------------------------------------- fetch
    @pytest.mark.parametrize(
        "content",
        [
            b"",
            b"hello",
            bytes(range(256)) * 3,
            b"line one\r\nline two\nline three\r no final newline",
        ],
        ids=["empty", "ascii", "every-byte", "newlines"],
    )
    def test_fetch_writes_exactly_the_bytes(
        self,
        fetcher: Fetcher,
        make_remote: Callable[[bytes], str],
        fetch_options: Mapping[str, Any],
        tmp_path: Path,
        content: bytes,
    ) -> None:
        destination = tmp_path / "downloaded"
        fetcher.fetch(make_remote(content), destination, fetch_options)
        assert destination.read_bytes() == content

    def test_fetch_large_file(
        self,
        fetcher: Fetcher,
        make_remote: Callable[[bytes], str],
        fetch_options: Mapping[str, Any],
        tmp_path: Path,
    ) -> None:
        content = _payload(LARGE, seed=1)
        destination = tmp_path / "large.bin"
        fetcher.fetch(make_remote(content), destination, fetch_options)
        assert destination.stat().st_size == len(content)
        assert hashlib.sha256(destination.read_bytes()).digest() == (
            hashlib.sha256(content).digest()
        )

    def test_fetch_of_a_missing_file_raises_and_leaves_nothing(
        self,
        fetcher: Fetcher,
        missing_url: str,
        fetch_options: Mapping[str, Any],
        tmp_path: Path,
    ) -> None:
        destination = tmp_path / "never"
        with pytest.raises(FileNotFoundError):
            fetcher.fetch(missing_url, destination, fetch_options)
        assert not destination.exists()

    def test_concurrent_fetches_of_one_file(
        self,
        fetcher: Fetcher,
        make_remote: Callable[[bytes], str],
        fetch_options: Mapping[str, Any],
        tmp_path: Path,
    ) -> None:
        content = _payload(300_000, seed=2)
        url = make_remote(content)
        destinations = [tmp_path / f"copy-{i}" for i in range(4)]
        _run_threads(
            [functools.partial(fetcher.fetch, url, d, fetch_options) for d in destinations]
        )
        assert all(d.read_bytes() == content for d in destinations)

    # ----------------------------------------------------------------------------------- open
    def test_open_binary_streams_the_content(
        self,
        fetcher: Fetcher,
        make_remote: Callable[[bytes], str],
        fetch_options: Mapping[str, Any],
    ) -> None:
        content = _payload(1024 * 1024 + 17, seed=3)
        with fetcher.open(make_remote(content), "rb", fetch_options) as stream:
            head = stream.read(10)
            assert isinstance(head, bytes)
            chunks = [head]
            while chunk := stream.read(65536):
                chunks.append(chunk)
        assert b"".join(chunks) == content

    def test_open_text_decodes_utf8_lines(
        self,
        fetcher: Fetcher,
        make_remote: Callable[[bytes], str],
        fetch_options: Mapping[str, Any],
    ) -> None:
        text = "première ligne\nzweite Zeile ✓\n最后一行\n"
        with fetcher.open(make_remote(text.encode("utf-8")), "r", fetch_options) as stream:
            lines = list(stream)
        assert lines == text.splitlines(keepends=True)

    def test_open_of_a_missing_file_raises_file_not_found(
        self, fetcher: Fetcher, missing_url: str, fetch_options: Mapping[str, Any]
    ) -> None:
        with (
            pytest.raises(FileNotFoundError),
            fetcher.open(missing_url, "rb", fetch_options) as stream,
        ):
            stream.read()


# ================================================================================== serializers
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
class StorageConformance:
    """Tests for a :class:`daidai.catalog.Storage`.

    Required fixture: ``storage``, an empty storage (yield it and clean up afterwards if it
    holds resources).

    Optional fixture: ``storage_path``, the local directory the storage keeps its data in, if
    it has one (default ``None``). With it the suite also checks that no key, however hostile,
    makes the storage write outside that directory.
    """

    @pytest.fixture
    def storage(self) -> Storage:
        raise _required("storage", "an empty storage under test")

    @pytest.fixture
    def storage_path(self) -> Path | None:
        return None

    def test_is_a_storage(self, storage: Storage) -> None:
        assert isinstance(storage, Storage)

    def test_round_trip(self, storage: Storage) -> None:
        storage.put("key", b"value")
        assert storage.get("key") == b"value"
        assert isinstance(storage.get("key"), bytes)

    @pytest.mark.parametrize(
        "data", [b"", b"\x00", bytes(range(256)), b"\r\n\n\r"], ids=["empty", "nul", "all", "nl"]
    )
    def test_values_are_exact_bytes(self, storage: Storage, data: bytes) -> None:
        storage.put("k", data)
        assert storage.get("k") == data

    def test_large_value(self, storage: Storage) -> None:
        data = _payload(LARGE, seed=4)
        storage.put("large", data)
        assert hashlib.sha256(storage.get("large")).digest() == hashlib.sha256(data).digest()

    def test_missing_key_raises_missing_key(self, storage: Storage) -> None:
        with pytest.raises(MissingKey):
            storage.get("never-stored")
        with pytest.raises(KeyError):  # MissingKey is a KeyError too
            storage.get("never-stored")

    def test_exists(self, storage: Storage) -> None:
        assert storage.exists("k") is False
        storage.put("k", b"v")
        assert storage.exists("k") is True

    def test_overwrite_replaces_the_value(self, storage: Storage) -> None:
        storage.put("k", b"old value, longer than the new one")
        storage.put("k", b"new")
        assert storage.get("k") == b"new"
        assert list(storage.keys()) == ["k"]

    def test_delete(self, storage: Storage) -> None:
        storage.put("k", b"v")
        storage.put("other", b"w")
        storage.delete("k")
        assert storage.exists("k") is False
        with pytest.raises(MissingKey):
            storage.get("k")
        assert storage.get("other") == b"w"
        storage.put("k", b"again")
        assert storage.get("k") == b"again"

    def test_delete_of_a_missing_key_is_not_an_error(self, storage: Storage) -> None:
        storage.delete("never-stored")

    def test_keys_and_prefixes(self, storage: Storage) -> None:
        assert sorted(storage.keys()) == []
        for key in ("a/1", "a/2", "ab", "b/1", "ba"):
            storage.put(key, key.encode())
        assert sorted(storage.keys()) == ["a/1", "a/2", "ab", "b/1", "ba"]
        assert sorted(storage.keys("")) == ["a/1", "a/2", "ab", "b/1", "ba"]
        assert sorted(storage.keys("a")) == ["a/1", "a/2", "ab"]
        assert sorted(storage.keys("a/")) == ["a/1", "a/2"]
        assert sorted(storage.keys("b/1")) == ["b/1"]
        assert sorted(storage.keys("zzz")) == []
        assert all(isinstance(k, str) for k in list(storage.keys()))

    def test_unicode_keys(self, storage: Storage) -> None:
        keys = ["modèle", "日本語/トークナイザ", "emoji-🙂", "Ωmega", "tab\there", "nul\x00byte"]
        for i, key in enumerate(keys):
            storage.put(key, str(i).encode())
        for i, key in enumerate(keys):
            assert storage.get(key) == str(i).encode()
        assert sorted(storage.keys()) == sorted(keys)
        assert sorted(storage.keys("日本")) == ["日本語/トークナイザ"]

    def test_long_keys(self, storage: Storage) -> None:
        keys = ["x" * 300, "x" * 300 + "/y", "é" * 200]
        for key in keys:
            storage.put(key, key.encode())
        for key in keys:
            assert storage.get(key) == key.encode()
        assert sorted(storage.keys("x")) == sorted(keys[:2])

    def test_similar_keys_do_not_collide(self, storage: Storage) -> None:
        keys = ["A", "a", "a b", "a_b", "a-b", "a/b", "a%2fb", "a.b", "x", "x.", ".x", "x "]
        for i, key in enumerate(keys):
            storage.put(key, str(i).encode())
        for i, key in enumerate(keys):
            assert storage.get(key) == str(i).encode(), key
        assert sorted(storage.keys()) == sorted(keys)

    def test_hostile_keys_are_rejected_or_contained(
        self, storage: Storage, storage_path: Path | None, tmp_path: Path
    ) -> None:
        outside = tmp_path / "outside-the-storage"
        outside.mkdir()
        keys = [
            "..",
            ".",
            "../escaped",
            "../../escaped",
            "a/../../escaped",
            "a/./b",
            "a//b",
            "/",
            "\\..\\escaped",
            "~/escaped",
            str(outside / "absolute"),
            str(outside / "absolute") + "/",
        ]
        before = _tree(storage_path.parent) if storage_path is not None else None
        for key in keys:
            try:
                storage.put(key, key.encode())
            except (ValueError, KeyError):
                continue  # rejected: fine
            assert storage.get(key) == key.encode(), f"{key!r} was stored but not read back"
            listed = list(storage.keys())
            assert key in listed, f"{key!r} was stored but keys() misses it"
        assert list(outside.iterdir()) == [], "a key wrote outside the storage"
        if storage_path is not None and before is not None:
            after = _tree(storage_path.parent)
            escaped = {p for p in after - before if not p.is_relative_to(storage_path.resolve())}
            assert not escaped, f"keys wrote outside {storage_path}: {sorted(escaped)}"

    def test_failed_put_keeps_the_old_value(self, storage: Storage) -> None:
        storage.put("k", b"old")
        with pytest.raises(TypeError):
            storage.put("k", "text is not bytes")  # type: ignore[arg-type]
        assert storage.get("k") == b"old"

    def test_readers_never_see_a_partial_value(self, storage: Storage) -> None:
        old, new = b"o" * (2 * 1024 * 1024), b"n" * (2 * 1024 * 1024 + 1)
        storage.put("k", old)
        done = threading.Event()
        start = threading.Barrier(3, timeout=30)
        reads: list[int] = []

        def write() -> None:
            start.wait()
            try:
                for i in range(12):
                    storage.put("k", new if i % 2 == 0 else old)
            finally:
                done.set()

        def read() -> None:
            start.wait()
            while True:
                finished = done.is_set()
                value = storage.get("k")
                assert value in (old, new), f"a reader saw {len(value)} bytes: a partial value"
                reads.append(len(value))
                if finished:
                    break

        _run_threads([write, read, read])
        assert storage.get("k") == old  # the last of the 12 writes
        assert len(reads) >= 2

    def test_concurrent_writers_lose_nothing(self, storage: Storage) -> None:
        def writer(n: int) -> Callable[[], None]:
            def run() -> None:
                for i in range(25):
                    storage.put(f"w{n}/{i}", f"{n}:{i}".encode())

            return run

        _run_threads([writer(n) for n in range(4)])
        assert len(list(storage.keys())) == 100
        assert storage.get("w3/24") == b"3:24"


def _tree(root: Path) -> set[Path]:
    return {p.resolve() for p in root.rglob("*")}


# ====================================================================================== drivers
class ConformanceError(Exception):
    """Raised on purpose by the driver suite's failing calls."""


def double(item: int) -> int:
    """Module-level (picklable) predictors, so process and cluster drivers can run them."""
    return item * 2


def slow_double(item: int, total: int) -> int:
    time.sleep((total - item) * 0.002)  # later items finish first
    return item * 2


def fail_on(item: int, failing: tuple[int, ...]) -> int:
    if item in failing:
        time.sleep(0.02 * (len(failing) - failing.index(item)))  # later failures finish first
        raise ConformanceError(f"item {item} failed")
    return item


class DriverConformance:
    """Tests for a :class:`daidai.catalog.Driver`.

    Required fixture: ``driver``, the driver under test (yield it and close it afterwards; the
    suite closes it too, so ``close`` must be idempotent). The suite's predictors are
    module-level functions and :func:`functools.partial` objects, so drivers that pickle
    calls can run them.
    """

    @pytest.fixture
    def driver(self) -> Driver:
        raise _required("driver", "the driver under test")

    def test_is_a_driver(self, driver: Driver) -> None:
        assert isinstance(driver, Driver)
        assert isinstance(driver.name, str)
        assert driver.name

    def test_map_returns_results_in_order(self, driver: Driver) -> None:
        total = 20
        results = driver.map(functools.partial(slow_double, total=total), range(total))
        assert results == [i * 2 for i in range(total)]

    def test_map_of_nothing(self, driver: Driver) -> None:
        assert driver.map(double, []) == []

    def test_map_takes_any_iterable(self, driver: Driver) -> None:
        assert driver.map(double, (i for i in range(5))) == [0, 2, 4, 6, 8]
        assert driver.map(double, {3: "x"}) == [6]

    def test_map_many_items(self, driver: Driver) -> None:
        assert driver.map(double, range(500)) == [i * 2 for i in range(500)]

    def test_error_is_raised_in_the_caller(self, driver: Driver) -> None:
        with pytest.raises(ConformanceError, match="item 3 failed"):
            driver.map(functools.partial(fail_on, failing=(3,)), range(6))

    def test_the_first_failing_item_wins(self, driver: Driver) -> None:
        with pytest.raises(ConformanceError, match="item 2 failed"):
            driver.map(functools.partial(fail_on, failing=(2, 5)), range(8))

    def test_usable_after_an_error(self, driver: Driver) -> None:
        with pytest.raises(ConformanceError):
            driver.map(functools.partial(fail_on, failing=(0,)), range(3))
        assert driver.map(double, [1, 2]) == [2, 4]

    def test_map_can_be_called_again(self, driver: Driver) -> None:
        assert driver.map(double, [1]) == [2]
        assert driver.map(double, [2, 3]) == [4, 6]

    def test_close_is_idempotent(self, driver: Driver) -> None:
        driver.map(double, [1])
        driver.close()
        driver.close()
