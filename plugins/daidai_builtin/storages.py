"""Built-in storages: ``file`` (a local directory) and ``memory`` (a dict in this process).

:class:`LocalStorage` keeps one file per key. Keys are *encoded*, not trusted: every character
outside ``[a-z0-9_-]`` becomes ``%xx`` (its UTF-8 bytes, lowercase hex), so ``../x``,
``/etc/passwd`` or ``a/b`` are ordinary keys stored inside the directory, file names are the
same on case-insensitive file systems, and :meth:`LocalStorage.keys` gives back the original
keys. Encoded names longer than one file-name component are split into sub-directories whose
names end with ``~`` (a character encoded names never contain). Writes go to a temporary file
in the same directory (its name starts with ``.``, which no encoded key does) and are renamed
over the old value with :func:`os.replace`, so a reader sees the old bytes or the new ones,
never a partial file, and a failed write leaves the old value.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final

from daidai.catalog import MissingKey
from daidai.plugins import hookimpl

if TYPE_CHECKING:
    from daidai.catalog import Register

__all__ = ["LocalStorage", "MemoryStorage", "daidai_register_storages"]

_SAFE: Final = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789_-")
_CHUNK: Final = 200  # characters of encoded key per path component (file names: 255 bytes)
_DIR_MARK: Final = "~"
_TEMP_PREFIX: Final = ".tmp-"


def _as_bytes(data: Any) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    raise TypeError(f"storages store bytes, not {type(data).__name__}")


def _check_key(key: Any) -> str:
    if not isinstance(key, str):
        raise TypeError(f"storage keys are str, not {type(key).__name__}")
    if not key:
        raise ValueError("storage keys cannot be empty")
    return key


def encode_key(key: str) -> str:
    """The file-name-safe, reversible, lowercase encoding of ``key``."""
    try:
        raw = key.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"storage key {key!r} is not valid Unicode text") from exc
    return "".join(chr(b) if b in _SAFE else f"%{b:02x}" for b in raw)


def decode_key(name: str) -> str:
    """The key :func:`encode_key` turned into ``name``."""
    raw = bytearray()
    i = 0
    while i < len(name):
        if name[i] == "%":
            raw.append(int(name[i + 1 : i + 3], 16))
            i += 3
        else:
            raw.append(ord(name[i]))
            i += 1
    return raw.decode("utf-8")


def _location_path(location: str | os.PathLike[str], *schemes: str) -> Path:
    text = os.fspath(location)
    for scheme in schemes:
        if text.startswith(f"{scheme}://"):
            text = text[len(scheme) + 3 :]
            break
    if not text:
        raise ValueError("a local storage needs a directory")
    return Path(text).expanduser().absolute()


class LocalStorage:
    """A :class:`daidai.catalog.Storage` in a local directory (created on first write).

    ``fsync=True`` flushes each value to disk before it replaces the old one (daidai verifies
    stored values by digest, so by default it does not pay for that).
    """

    def __init__(self, location: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.root = _location_path(location, "file", "local")
        self.fsync = fsync

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        name = encode_key(_check_key(key))
        parts = [name[i : i + _CHUNK] for i in range(0, len(name), _CHUNK)]
        return self.root.joinpath(*(part + _DIR_MARK for part in parts[:-1]), parts[-1])

    def put(self, key: str, data: bytes) -> None:
        payload = _as_bytes(data)
        path = self._path(key)
        for attempt in range(3):
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._write(path, payload)
                return
            except FileNotFoundError:  # a concurrent delete removed the emptied directory
                if attempt == 2:
                    raise

    def _write(self, path: Path, payload: bytes) -> None:
        while True:
            temp = path.parent / f"{_TEMP_PREFIX}{secrets.token_hex(8)}"
            try:  # mode 0o666 less the umask, like any file the user creates
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                continue
            break
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
                if self.fsync:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise MissingKey(key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        parent = path.parent
        while parent != self.root:  # drop the directories of a long key once empty
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def keys(self, prefix: str = "") -> Iterator[str]:
        wanted = encode_key(prefix) if prefix else ""
        found: list[str] = []
        if not self.root.is_dir():
            return iter(found)
        for directory, subdirs, files in os.walk(self.root):
            rel = Path(directory).relative_to(self.root)
            base = "".join(part[: -len(_DIR_MARK)] for part in rel.parts)
            subdirs[:] = [
                d
                for d in subdirs
                if d.endswith(_DIR_MARK) and _compatible(base + d[: -len(_DIR_MARK)], wanted)
            ]
            for file in files:
                name = base + file
                if not file.startswith(".") and name.startswith(wanted):
                    found.append(decode_key(name))
        return iter(sorted(found))


def _compatible(directory: str, prefix: str) -> bool:
    return directory.startswith(prefix) or prefix.startswith(directory)


class MemoryStorage:
    """A :class:`daidai.catalog.Storage` in this process's memory.

    Storages made with the same non-empty location share their contents (like fsspec's
    ``memory://``), so a ``memory://name`` storage outlives the object that wrote it; an empty
    location gives a private store.
    """

    _shared: ClassVar[dict[str, tuple[dict[str, bytes], threading.Lock]]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, location: str = "") -> None:
        name = location.removeprefix("memory://")
        self.location = name
        if not name:
            self._data: dict[str, bytes] = {}
            self._lock = threading.Lock()
            return
        with MemoryStorage._shared_lock:
            if name not in MemoryStorage._shared:
                MemoryStorage._shared[name] = ({}, threading.Lock())
            self._data, self._lock = MemoryStorage._shared[name]

    def __repr__(self) -> str:
        return f"MemoryStorage({self.location!r})"

    def put(self, key: str, data: bytes) -> None:
        payload = _as_bytes(data)
        with self._lock:
            self._data[_check_key(key)] = payload

    def get(self, key: str) -> bytes:
        try:
            return self._data[_check_key(key)]
        except KeyError:
            raise MissingKey(key) from None

    def exists(self, key: str) -> bool:
        return _check_key(key) in self._data

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(_check_key(key), None)

    def keys(self, prefix: str = "") -> Iterator[str]:
        with self._lock:
            return iter(sorted(k for k in self._data if k.startswith(prefix)))


@hookimpl
def daidai_register_storages(register: Register) -> None:
    register("file", LocalStorage)
    register("memory", MemoryStorage)
