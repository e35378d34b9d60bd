"""daidai-sqlite: a daidai storage that keeps every value in one SQLite file.

Registered under the storage scheme ``sqlite`` by the :func:`daidai_register_storages` hook,
and found by daidai through the ``daidai`` entry point declared in this package's
``pyproject.toml``. Nothing here is private to daidai: this is how any third-party storage is
written.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from daidai.catalog import MissingKey
from daidai.plugins import hookimpl

if TYPE_CHECKING:
    from daidai.catalog import Register

__all__ = ["SqliteStorage", "daidai_register_storages"]
__version__ = "0.1.0.dev0"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS blobs (
    key TEXT PRIMARY KEY NOT NULL,
    data BLOB NOT NULL
) WITHOUT ROWID
"""
_UPSERT = (
    "INSERT INTO blobs (key, data) VALUES (?, ?) "
    "ON CONFLICT (key) DO UPDATE SET data = excluded.data"
)


class SqliteStorage:
    """A :class:`daidai.catalog.Storage` in an SQLite database file.

    ``location`` is a path or a ``sqlite:///absolute/path`` URL; the file and its directory are
    created when missing. Each thread gets its own connection (WAL lets them read while one
    writes, across processes too); ``timeout`` is how long a writer waits for a lock.
    """

    def __init__(self, location: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        text = os.fspath(location).removeprefix("sqlite://")
        if not text or text == ":memory:":
            raise ValueError(
                "the sqlite storage needs a database file path (in-memory databases are not "
                "shared between threads; use daidai's 'memory' storage instead)"
            )
        self.path = Path(text).expanduser().absolute()
        self.timeout = timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._closed = False
        self._connection()  # create the file and the table now: errors show up here

    def __repr__(self) -> str:
        return f"SqliteStorage({str(self.path)!r})"

    def _connection(self) -> sqlite3.Connection:
        if os.getpid() != self._pid:  # a forked child must not share its parent's connections
            self._local = threading.local()
            self._connections = []
            self._pid = os.getpid()
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None:
            return connection
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self!r} is closed")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(
                self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute(_SCHEMA)
            self._connections.append(connection)
        self._local.connection = connection
        return connection

    # ---------------------------------------------------------------------------- protocol
    def put(self, key: str, data: bytes) -> None:
        payload = _as_bytes(data)
        self._connection().execute(_UPSERT, (_check_key(key), payload))

    def get(self, key: str) -> bytes:
        row = (
            self._connection()
            .execute("SELECT data FROM blobs WHERE key = ?", (_check_key(key),))
            .fetchone()
        )
        if row is None:
            raise MissingKey(key)
        return bytes(row[0])

    def exists(self, key: str) -> bool:
        query = "SELECT 1 FROM blobs WHERE key = ?"
        return self._connection().execute(query, (_check_key(key),)).fetchone() is not None

    def delete(self, key: str) -> None:
        self._connection().execute("DELETE FROM blobs WHERE key = ?", (_check_key(key),))

    def keys(self, prefix: str = "") -> Iterator[str]:
        # A range on the primary key: TEXT compares as UTF-8 bytes, which orders like code
        # points, so [prefix, successor(prefix)) holds exactly the keys starting with prefix.
        upper = _successor(prefix)
        if upper is None:
            cursor = self._connection().execute(
                "SELECT key FROM blobs WHERE key >= ? ORDER BY key", (prefix,)
            )
        else:
            cursor = self._connection().execute(
                "SELECT key FROM blobs WHERE key >= ? AND key < ? ORDER BY key", (prefix, upper)
            )
        # Read them all now: an open cursor would hold a read transaction between yields.
        return iter([key for (key,) in cursor.fetchall() if key.startswith(prefix)])

    # ------------------------------------------------------------------------------ extras
    def close(self) -> None:
        """Close every connection; idempotent. The storage cannot be used afterwards."""
        with self._lock:
            connections, self._connections = self._connections, []
            self._closed = True
        for connection in connections:
            connection.close()
        self._local = threading.local()

    def __enter__(self) -> SqliteStorage:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


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
    try:
        key.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"storage key {key!r} is not valid Unicode text") from exc
    return key


def _successor(prefix: str) -> str | None:
    """The smallest string greater than every string that starts with ``prefix`` (None: no
    such bound, as for the empty prefix)."""
    chars = list(prefix)
    while chars:
        code = ord(chars.pop()) + 1
        if 0xD800 <= code <= 0xDFFF:  # surrogates cannot be stored: skip to the next character
            code = 0xE000
        if code <= 0x10FFFF:
            return "".join(chars) + chr(code)
    return None


@hookimpl
def daidai_register_storages(register: Register) -> None:
    register("sqlite", SqliteStorage)
