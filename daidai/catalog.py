"""What plugins contribute: fetchers, serializers, storages, drivers and artifacts.

Catalog hooks receive a :class:`Register` bound to the registering plugin, so daidai knows who
contributed each entry, reports a name registered twice with both plugins' names, and answers a
missing name with an install hint. The protocols below are what an entry must provide; the
conformance suites in :mod:`daidai.testing` check them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Generic, Literal, Protocol, TypeVar, runtime_checkable

import attrs

from daidai.errors import DaidaiError, did_you_mean

Kind = Literal["fetcher", "serializer", "storage", "driver", "artifact"]
KINDS: tuple[Kind, ...] = ("fetcher", "serializer", "storage", "driver", "artifact")

# Load layers, in the order DESIGN.md 4 documents. A later layer may replace an entry of an
# earlier one; two entries of one name in the same layer are an error. Never pluggy's order.
LAYERS = ("builtin", "entrypoint", "manager", "conf")


@attrs.frozen
class RemoteInfo:
    """What a fetcher knows about a remote file without downloading it (its *version*)."""

    size: int | None = None
    etag: str | None = None
    mtime: float | None = None
    is_dir: bool = False


@runtime_checkable
class Fetcher(Protocol):
    """Reads files for one or more URL protocols (``s3``, ``https``, ``file``, ...).

    ``options`` are the file options of the dependency: a fetcher reads ``storage_options``
    (for the filesystem or client) and ``open_options`` (for opening) and ignores the others.
    """

    def info(self, url: str, options: Mapping[str, Any]) -> RemoteInfo:
        """Size, etag and mtime of ``url``; raise ``FileNotFoundError`` if it does not exist."""
        ...

    def fetch(self, url: str, destination: Path, options: Mapping[str, Any]) -> None:
        """Download the whole of ``url`` into the (new, not yet existing) ``destination``."""
        ...

    def open(self, url: str, mode: str, options: Mapping[str, Any]) -> IO[Any]:
        """A stream over ``url`` (``"rb"`` or ``"r"``), closed by the caller."""
        ...


@runtime_checkable
class Serializer(Protocol):
    """Turns values of some types into bytes and back."""

    name: str
    safe: bool
    """False when loading can run arbitrary code (pickle): daidai then verifies digests first."""

    def accepts(self, value: Any) -> bool:
        """Whether this serializer can round-trip ``value``."""
        ...

    def dumps(self, value: Any) -> bytes: ...

    def loads(self, data: bytes) -> Any: ...


@runtime_checkable
class Storage(Protocol):
    """A flat key -> bytes store for persisted artifacts and memoized results."""

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` atomically: readers see the old or the new, never half."""
        ...

    def get(self, key: str) -> bytes:
        """The bytes under ``key``; raise :class:`MissingKey` if there are none."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""
        ...

    def keys(self, prefix: str = "") -> Iterator[str]: ...


@runtime_checkable
class Driver(Protocol):
    """Runs predictors somewhere other than the caller's frame."""

    name: str

    def map(self, predictor: Callable[..., Any], items: Iterable[Any]) -> list[Any]:
        """``[predictor(item) for item in items]``, in order, errors raised in the caller."""
        ...

    def close(self) -> None:
        """Release what the driver holds; idempotent."""
        ...


StorageFactory = Callable[[str], Storage]
"""Makes a storage from a location (a directory, an URL...)."""
DriverFactory = Callable[..., Driver]


class MissingKey(DaidaiError, KeyError):
    """A storage has nothing under this key."""


class CatalogError(DaidaiError, LookupError):
    """A catalog entry is missing (with an install hint when one is known) or duplicated."""


@attrs.define
class Entry:
    """One registered entry and who registered it."""

    name: str
    value: Any
    plugin: str
    layer: str


T = TypeVar("T")


class Catalog(Generic[T]):
    """The entries of one kind, by name, with the plugin that contributed each."""

    def __init__(self, kind: Kind) -> None:
        self.kind = kind
        self._entries: dict[str, Entry] = {}
        self._hints: dict[str, str] = {}
        self._lock = threading.Lock()

    def add(self, name: str, value: Any, *, plugin: str, layer: str) -> None:
        if not isinstance(name, str) or not name:
            raise CatalogError(f"plugin {plugin!r} registered a {self.kind} with no name")
        with self._lock:
            existing = self._entries.get(name)
            if existing is not None and LAYERS.index(layer) <= LAYERS.index(existing.layer):
                raise CatalogError(
                    f"{self.kind} {name!r} is registered twice: by plugin "
                    f"{existing.plugin!r} and by plugin {plugin!r} ({layer} plugins). "
                    "Disable one of them (DAIDAI_PLUGINS=...) or register under another name."
                )
            self._entries[name] = Entry(name, value, plugin, layer)

    def hint(self, name: str, message: str) -> None:
        with self._lock:
            self._hints.setdefault(name, message)

    def get(self, name: str) -> T:
        """The entry called ``name``, or a :class:`CatalogError` with an install hint."""
        entry = self._entries.get(name)
        if entry is not None:
            return entry.value  # type: ignore[no-any-return]
        hint = self._hints.get(name)
        known = sorted(self._entries)
        message = f"no {self.kind} is registered for {name!r}."
        if hint:
            message += f" {hint}"
        else:
            message += did_you_mean(name, known)
        message += f" Registered: {', '.join(map(repr, known)) or 'none'}."
        raise CatalogError(message)

    def owner(self, name: str) -> str:
        return self._entries[name].plugin

    def entries(self) -> list[Entry]:
        """Entries sorted by name (for listings)."""
        return sorted(self._entries.values(), key=lambda e: e.name)

    def in_order(self) -> list[Entry]:
        """Entries in registration order: layer by layer, then as each plugin registered them."""
        return list(self._entries.values())

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def names(self) -> list[str]:
        return sorted(self._entries)


class Register:
    """Handed to a catalog hook: ``register(name, value)`` adds an entry for this plugin.

    ``register.hint(name, message)`` declares a name this plugin knows about but cannot serve
    here (a protocol whose package is not installed), so a miss says what to install.
    """

    def __init__(self, catalog: Catalog[Any], plugin: str, layer: str) -> None:
        self._catalog = catalog
        self.plugin = plugin
        self.layer = layer

    def __call__(self, name: str, value: Any) -> None:
        self._catalog.add(name, value, plugin=self.plugin, layer=self.layer)

    def hint(self, name: str, message: str) -> None:
        self._catalog.hint(name, message)
