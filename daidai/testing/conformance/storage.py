"""The conformance suite for storage plugins."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from daidai.catalog import MissingKey, Storage
from daidai.testing.conformance._common import LARGE, _payload, _required, _run_threads


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
