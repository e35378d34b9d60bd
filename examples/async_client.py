"""Async artifacts and predictors: ``uv run python examples/async_client.py``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from daidai import ModelManager, artifact, predictor


class EchoClient:
    """Stands in for an HTTP client that must be opened and closed on the event loop."""

    def __init__(self) -> None:
        self.closed = False

    async def ask(self, question: str) -> str:
        await asyncio.sleep(0)
        return f"echo: {question}"

    async def aclose(self) -> None:
        self.closed = True


@artifact
async def client(timeout: float = 5.0) -> AsyncIterator[EchoClient]:
    print(f"connecting (timeout={timeout})")
    c = EchoClient()
    yield c
    await c.aclose()
    print("disconnected")


@predictor
async def ask(question: str, c: Annotated[EchoClient, client]) -> str:
    return await c.ask(question)


async def main() -> None:
    async with ModelManager(preload=[ask]):
        answers = await asyncio.gather(*(ask(f"question {i}") for i in range(3)))
        print(answers)


if __name__ == "__main__":
    asyncio.run(main())
