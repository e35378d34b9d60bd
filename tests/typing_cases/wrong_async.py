"""Deliberately wrong: an async artifact gives an Awaitable, so it cannot be used directly."""

from typing import assert_type

from daidai import artifact


class Model:
    pass


@artifact
async def amodel() -> Model:
    return Model()


async def use() -> None:
    assert_type(amodel(), Model)  # expected error: amodel() is an Awaitable[Model]
    await amodel()
