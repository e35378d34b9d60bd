"""The built-in storages against the conformance suite, plus what only a local one can show."""

from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path
from typing import Any

import pytest

from daidai.catalog import MissingKey, Storage
from daidai.testing import StorageConformance
from daidai_builtin.storages import LocalStorage, MemoryStorage, decode_key, encode_key


class TestLocalStorage(StorageConformance):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> Storage:
        return LocalStorage(tmp_path / "store")

    @pytest.fixture
    def storage_path(self, tmp_path: Path) -> Path:
        return tmp_path / "store"


class TestLocalStorageWithFsync(StorageConformance):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> Storage:
        return LocalStorage(f"file://{tmp_path / 'store'}", fsync=True)

    @pytest.fixture
    def storage_path(self, tmp_path: Path) -> Path:
        return tmp_path / "store"


class TestPrivateMemoryStorage(StorageConformance):
    @pytest.fixture
    def storage(self) -> Storage:
        return MemoryStorage()


class TestNamedMemoryStorage(StorageConformance):
    @pytest.fixture
    def storage(self) -> Storage:
        return MemoryStorage(f"memory://test-{uuid.uuid4().hex}")


# ------------------------------------------------------------------------------ local files
@pytest.mark.parametrize(
    "key", ["plain", "../up", "/abs/olute", "a/b", "UPPER", "é🙂", "x" * 450, "%2e", ".hidden"]
)
def test_key_encoding_is_reversible_and_safe(key: str) -> None:
    name = encode_key(key)
    assert decode_key(name) == key
    assert name == name.lower()
    assert set(name) <= set("abcdefghijklmnopqrstuvwxyz0123456789_-%")


def test_a_failed_write_keeps_the_old_value_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = LocalStorage(tmp_path)
    storage.put("k", b"old")

    def disk_full(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="No space left"):
        storage.put("k", b"new")
    monkeypatch.undo()
    assert storage.get("k") == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k"]


def test_an_interrupted_write_keeps_the_old_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = LocalStorage(tmp_path)
    storage.put("k", b"old")
    real_fdopen = os.fdopen

    class Interrupted(BaseException):
        pass

    def fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:
        handle = real_fdopen(fd, *args, **kwargs)

        def write(data: bytes) -> int:
            real_write(data[: len(data) // 2])
            raise Interrupted

        real_write = handle.write
        handle.write = write
        return handle

    monkeypatch.setattr(os, "fdopen", fdopen)
    with pytest.raises(Interrupted):
        storage.put("k", b"new value")
    monkeypatch.undo()
    assert storage.get("k") == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["k"]


def test_temporary_files_are_not_keys(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.put("k", b"v")
    (tmp_path / ".tmp-leftover").write_bytes(b"half")
    assert list(storage.keys()) == ["k"]


def test_files_get_the_usual_permissions(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.put("k", b"v")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o666 & ~umask


def test_long_keys_use_subdirectories_removed_with_the_key(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    key = "k" * 450
    storage.put(key, b"v")
    assert all(len(p.name) <= 255 for p in tmp_path.rglob("*"))
    storage.delete(key)
    assert list(tmp_path.iterdir()) == []


def test_the_directory_is_created_on_first_write(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "a" / "b")
    assert list(storage.keys()) == []
    with pytest.raises(MissingKey):
        storage.get("k")
    assert not (tmp_path / "a").exists()
    storage.put("k", b"v")
    assert (tmp_path / "a" / "b" / "k").read_bytes() == b"v"


def test_relative_locations_do_not_follow_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    storage = LocalStorage("store")
    monkeypatch.chdir("/")
    storage.put("k", b"v")
    assert (tmp_path / "store" / "k").exists()


def test_keys_are_checked() -> None:
    storage = MemoryStorage()
    with pytest.raises(ValueError, match="empty"):
        storage.put("", b"v")
    with pytest.raises(TypeError):
        storage.put(1, b"v")  # type: ignore[arg-type]


def test_memory_storages_share_a_named_location() -> None:
    name = f"memory://shared-{uuid.uuid4().hex}"
    MemoryStorage(name).put("k", b"v")
    assert MemoryStorage(name).get("k") == b"v"
    assert list(MemoryStorage().keys()) == []
