"""Deliberately wrong: a generator artifact gives its *yielded* type, not an Iterator."""

from collections.abc import Iterator
from typing import assert_type

from daidai import artifact


class Conn:
    pass


@artifact
def conn() -> Iterator[Conn]:
    yield Conn()


assert_type(conn(), Iterator[Conn])  # expected error: conn() is a Conn
