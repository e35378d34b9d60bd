"""The fsspec fetcher: every protocol fsspec knows, with an install hint for the missing ones.

Registered for each protocol in fsspec's registry whose implementation can be imported here
(``file``, ``memory``, ``http`` with aiohttp, ``s3`` with s3fs, ...). For a known protocol
whose package is missing, :func:`daidai_register_fetchers` registers a hint instead, so
``catalog("fetcher").get("s3")`` says ``pip install s3fs``.

Whether an implementation is importable is decided without importing it (importing
``dask.distributed`` or ``pyarrow`` just to list protocols would cost seconds): a third-party
implementation needs its top-level package; one of fsspec's own needs the third-party modules
its source imports at module level.

Options (the file options of a dependency, see :class:`daidai.catalog.Fetcher`):
``storage_options`` go to the filesystem, ``open_options`` to ``fs.open``; other keys are
ignored. Whole files are downloaded with one ``fs.get_file`` call (for HTTP: one streaming GET,
never ranged reads), and HTTP streams are opened with ``block_size=0``. Files of fsspec's
``memory://`` filesystem are copied, since its open files are shared by all readers.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
import importlib.util
import io
import re
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

from daidai.catalog import RemoteInfo
from daidai.plugins import hookimpl

if TYPE_CHECKING:
    from daidai.catalog import Register

__all__ = ["FsspecFetcher", "daidai_register_fetchers", "install_hint", "is_importable"]

# Protocols served over plain HTTP: no ranged reads (many servers do not support Range, and
# fsspec's default block reads multiply requests), stream instead.
_HTTP = frozenset({"http", "https"})
# Keys fsspec implementations use for a version tag and a modification time, best first.
_ETAG_KEYS = ("ETag", "etag", "e_tag", "md5Hash", "Content-MD5", "checksum")
_MTIME_KEYS = (
    "mtime",
    "LastModified",
    "last_modified",
    "Last-Modified",
    "updated",
    "modified",
    "created",  # fsspec memory: set when the file is (re)written
)
_TEXT_MODES = frozenset({"r", "rt"})
_BINARY_MODES = frozenset({"rb"})


class FsspecFetcher:
    """A :class:`daidai.catalog.Fetcher` over any fsspec filesystem."""

    def __repr__(self) -> str:
        return "FsspecFetcher()"

    # ------------------------------------------------------------------------------ protocol
    def info(self, url: str, options: Mapping[str, Any]) -> RemoteInfo:
        fs, path = _filesystem(url, options)
        raw = fs.info(path)
        is_dir = raw.get("type") == "directory"
        size = raw.get("size")
        return RemoteInfo(
            size=int(size) if isinstance(size, int | float) and not is_dir else None,
            etag=_first_str(raw, _ETAG_KEYS),
            mtime=_first_time(raw, _MTIME_KEYS),
            is_dir=is_dir,
        )

    def fetch(self, url: str, destination: Path, options: Mapping[str, Any]) -> None:
        fs, path = _filesystem(url, options)
        destination = Path(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            if _is_directory(fs, url, path):
                fs.get(path.rstrip("/") + "/", str(destination), recursive=True)
                destination.mkdir(exist_ok=True)  # an empty remote directory
            elif _is_memory(fs):
                destination.write_bytes(fs.cat_file(path))
            else:
                fs.get_file(path, str(destination))
        except BaseException:
            _remove(destination)
            raise
        if not destination.exists():  # some implementations say nothing for a missing source
            raise FileNotFoundError(f"{url}: nothing was downloaded")

    def open(self, url: str, mode: str, options: Mapping[str, Any]) -> IO[Any]:
        if mode not in _TEXT_MODES | _BINARY_MODES:
            raise ValueError(f"fetchers open files for reading only ('rb' or 'r'), not {mode!r}")
        fs, path = _filesystem(url, options)
        kwargs = dict(options.get("open_options") or {})
        if _protocol(url) in _HTTP:
            kwargs.setdefault("block_size", 0)
        if mode in _TEXT_MODES:
            kwargs.setdefault("encoding", "utf-8")
        if _is_memory(fs):
            return _memory_stream(fs.cat_file(path), mode, kwargs)
        stream: IO[Any] = fs.open(path, "rb" if mode in _BINARY_MODES else "r", **kwargs)
        return stream


# ----------------------------------------------------------------------------------- helpers
def _protocol(url: str) -> str:
    from fsspec.core import split_protocol

    protocol, _ = split_protocol(url.split("::", 1)[0])
    return protocol or "file"


def _filesystem(url: str, options: Mapping[str, Any]) -> tuple[Any, str]:
    from fsspec.core import url_to_fs

    storage_options = dict(options.get("storage_options") or {})
    if _protocol(url) in _HTTP:
        storage_options.setdefault("block_size", 0)
    fs, path = url_to_fs(url, **storage_options)
    return fs, path


def _is_memory(fs: Any) -> bool:
    """fsspec's memory filesystem opens files for reading as the stored buffer itself, shared
    by every reader (one position for all threads): read a copy instead."""
    from fsspec.implementations.memory import MemoryFileSystem

    return isinstance(fs, MemoryFileSystem)


def _memory_stream(data: bytes, mode: str, kwargs: Mapping[str, Any]) -> IO[Any]:
    if mode in _BINARY_MODES:
        return io.BytesIO(data)
    return io.TextIOWrapper(
        io.BytesIO(data),
        encoding=kwargs.get("encoding"),
        errors=kwargs.get("errors"),
        newline=kwargs.get("newline"),
    )


def _is_directory(fs: Any, url: str, path: str) -> bool:
    if url.endswith("/"):
        return True
    if _protocol(url) in _HTTP:
        # fsspec's HTTP isdir downloads the page to look for links: a URL names a directory
        # only when it ends with "/".
        return False
    return bool(fs.isdir(path))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _first_str(raw: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = raw.get(key)
        if value:
            return str(value)
    return None


def _first_time(raw: Mapping[str, Any], keys: tuple[str, ...]) -> float | None:
    for key in keys:
        value = raw.get(key)
        if value is None or value == "":
            continue
        stamp = _timestamp(value)
        if stamp is not None:
            return stamp
    return None


def _timestamp(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return moment.timestamp()
    if isinstance(value, str):
        for parse in (dt.datetime.fromisoformat, email.utils.parsedate_to_datetime):
            try:
                return _timestamp(parse(value))
            except (TypeError, ValueError, IndexError):
                continue
    return None


# ------------------------------------------------------------------------ what is installed
def _top_level(name: str) -> str:
    return name.split(".", 1)[0]


def _spec_exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


# An import statement at the start of a line: module level and unconditional (imports in
# functions, ``try`` or ``if`` blocks are indented, so optional). Scanning is 100 times
# faster than parsing, and all we need.
_MODULE_IMPORT = re.compile(r"^(?:import|from)[ \t]+([A-Za-z_]\w*)", re.MULTILINE)


def _module_level_imports(module: str) -> set[str]:
    """Top-level names of the third-party modules that ``module`` imports unconditionally."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return set()
    source = Path(spec.origin).read_text(encoding="utf-8")
    names = set(_MODULE_IMPORT.findall(source))
    own = _top_level(module)
    return {n for n in names if n != own and n != "__future__" and n not in sys.stdlib_module_names}


@functools.cache
def _missing_modules(class_path: str) -> tuple[str, ...]:
    module = class_path.rpartition(".")[0]
    if module in sys.modules:
        return ()
    top = _top_level(module)
    if top != "fsspec":
        return () if _spec_exists(top) else (top,)
    if not _spec_exists(module):
        return (module,)
    return tuple(sorted(n for n in _module_level_imports(module) if not _spec_exists(n)))


def is_importable(protocol: str) -> bool:
    """Whether fsspec's implementation of ``protocol`` can be imported here."""
    from fsspec.registry import known_implementations, registry

    if protocol in registry:
        return True
    entry = known_implementations.get(protocol)
    return entry is not None and not _missing_modules(entry["class"])


def install_hint(protocol: str) -> str:
    """What to install to use ``protocol``: fsspec's own message plus a ``pip install`` line."""
    from fsspec.registry import known_implementations

    entry = known_implementations.get(protocol, {})
    missing = _missing_modules(entry["class"]) if "class" in entry else ()
    message = (entry.get("err") or "").strip().rstrip(".") or (
        f"fsspec cannot load its implementation of {protocol!r}"
    )
    packages = " ".join(name.replace("_", "-") for name in missing if "." not in name)
    if packages and "pip install" not in message:
        message += f" (pip install {packages})"
    return message + "."


FETCHER = FsspecFetcher()

# fsspec protocols that wrap another filesystem rather than name where files live: a file
# dependency's URL never starts with them (caching is daidai's job), so they are not fetchers.
WRAPPERS: Final = frozenset(
    {
        "async_wrapper",
        "asyncwrapper",
        "blockcache",
        "cached",
        "dir",
        "filecache",
        "generic",
        "reference",
        "simplecache",
    }
)


@hookimpl
def daidai_register_fetchers(register: Register) -> None:
    from fsspec.registry import known_implementations, registry

    for protocol in sorted({*known_implementations, *registry} - WRAPPERS):
        if is_importable(protocol):
            register(protocol, FETCHER)
        else:
            register.hint(protocol, install_hint(protocol))
