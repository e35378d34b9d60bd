"""The README's examples written with ``Annotated``, checked by ``mypy --strict``.

tests/test_typing.py runs mypy on this file (it must pass) and also runs it as a script in a
subprocess, so every example here is real code. ``assert_type`` checks what the decorators
give type checkers (DESIGN.md 1.8): the declared return type, the yielded type of a generator
artifact and an awaitable for async artifacts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, assert_type

from daidai import ModelManager, artifact, asset, predictor


class Client:
    """Stands in for ``openai.OpenAI`` so the examples run offline."""

    def __init__(self, **configuration: Any) -> None:
        self.configuration = configuration

    def complete(self, message: str, model: str) -> str:
        return f"{model}: {message} ({self.configuration})"


class Model:
    def __init__(self, size: str) -> None:
        self.size = size

    def predict(self, text: str) -> str:
        return f"{text}:{self.size}"


class Conn:
    def __init__(self, url: str) -> None:
        self.url = url
        self.open = True

    def close(self) -> None:
        self.open = False


# --------------------------------------------------------------------------- quick start
@artifact
def openai_client(**configuration: Any) -> Client:
    return Client(**configuration)


@artifact
def model(size: str = "base") -> Model:
    return Model(size)


@predictor
def ask(
    message: str,
    client: Annotated[Client, openai_client, {"timeout": 5}],
    model: str = "gpt-4o-mini",
) -> str:
    return client.complete(message, model)


assert_type(openai_client, Callable[..., Client])
assert_type(ask, Callable[..., str])
assert_type(openai_client(), Client)
assert_type(openai_client(timeout=1), Client)
assert_type(model(), Model)
assert_type(model(size="xl"), Model)
assert_type(ask("Hello, what's in the picture ?"), str)
assert_type(ask("Hello", client=Client(timeout=0.1)), str)
assert_type(ask("Hello", model="gpt-4o"), str)


# ------------------------------------------------------------------ sentiment (concurrency)
@predictor
def sentiment_classifier(text: str, model: Annotated[Model, model]) -> str:
    return model.predict(text)


def classify(text: str) -> str:
    return sentiment_classifier(text)


assert_type(sentiment_classifier("great"), str)
assert_type(classify("x"), str)


def run_threads(data: list[str]) -> list[str]:
    with ModelManager(preload=[sentiment_classifier]) as manager:
        assert_type(manager, ModelManager)
        with ThreadPoolExecutor(max_workers=4) as executor:
            return list(executor.map(sentiment_classifier, data))


def worker_function(text: str) -> str:
    with ModelManager(namespace="worker"):
        return sentiment_classifier(text)


# ------------------------------------------------------------------------ dependency chain
class Tokenizer:
    def __init__(self, vocab: str) -> None:
        self.vocab = vocab.split()


class Embeddings:
    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer

    def embed(self, text: str) -> list[int]:
        return [len(word) for word in text.split()]


@artifact(scope="session")
def tokenizer(vocab: str = "a b c") -> Tokenizer:
    return Tokenizer(vocab)


@artifact(scope="session", name="embeddings")
def embeddings(tokenizer: Annotated[Tokenizer, tokenizer]) -> Embeddings:
    return Embeddings(tokenizer)


@predictor()
def embed_text(text: str, embeddings: Annotated[Embeddings, embeddings]) -> list[int]:
    return embeddings.embed(text)


assert_type(tokenizer(), Tokenizer)
assert_type(embeddings(), Embeddings)
assert_type(embed_text("hello world"), list[int])


# -------------------------------------------------------------------- generator cleanup
@artifact
def conn(url: str = "sqlite://") -> Iterator[Conn]:
    connection = Conn(url)
    try:
        yield connection
    finally:
        connection.close()


@artifact(scope="session")
def session_conn() -> Iterator[Conn]:
    yield Conn("session")


@predictor
def query(sql: str, db: Annotated[Conn, conn, {"url": "sqlite://memory"}]) -> str:
    return f"{db.url}: {sql}"


assert_type(conn, Callable[..., Conn])
assert_type(conn(), Conn)
assert_type(conn(url="x"), Conn)
assert_type(session_conn(), Conn)
assert_type(query("select 1"), str)


# --------------------------------------------------------------------------------- async
@artifact
async def async_model(size: str = "base") -> Model:
    await asyncio.sleep(0)
    return Model(size)


@artifact
async def async_conn() -> AsyncIterator[Conn]:
    connection = Conn("async")
    yield connection
    connection.close()


@predictor
async def async_classify(text: str, m: Annotated[Model, async_model]) -> str:
    return m.predict(text)


assert_type(async_model, Callable[..., Awaitable[Model]])
assert_type(async_conn, Callable[..., Awaitable[Conn]])


async def use_async() -> tuple[Model, Conn, str]:
    async with ModelManager(preload=[async_classify]) as manager:
        assert_type(manager, ModelManager)
        pending_model = async_model()
        assert_type(pending_model, Awaitable[Model])
        m = await pending_model
        assert_type(m, Model)
        pending_conn = async_conn()
        assert_type(pending_conn, Awaitable[Conn])
        c = await pending_conn
        assert_type(c, Conn)
        assert_type(async_classify, Callable[..., Coroutine[Any, Any, str]])
        label = await async_classify("y")
        assert_type(label, str)
        return m, c, label


# ------------------------------------------------------------------- legacy alias and managers
@asset
def legacy() -> int:
    return 7


assert_type(legacy(), int)


def managers() -> None:
    with ModelManager({model: {"size": "large"}}):
        assert_type(sentiment_classifier("x"), str)
    with ModelManager(config={model: {"size": "large"}}, namespace="prod"):
        assert_type(model(), Model)
    with ModelManager([model], namespace="prod"), ModelManager([tokenizer], namespace="staging"):
        assert_type(embed_text("a"), list[int])
    mm = ModelManager(preload=[ask], overrides={model: Model("fake")})
    loaded: Any = mm.load(model)
    assert isinstance(loaded, Model)
    mm.close()


def run_all() -> None:
    """The examples above also run: tests/test_typing.py executes this file."""
    assert ask("Hello").startswith("gpt-4o-mini: Hello")
    assert sentiment_classifier("great") == "great:base"
    assert run_threads(["a", "b"]) == ["a:base", "b:base"]
    assert worker_function("w") == "w:base"
    assert embed_text("hello world") == [5, 5]
    assert query("select 1") == "sqlite://memory: select 1"
    assert legacy() == 7
    managers()
    m, c, label = asyncio.run(use_async())
    assert m.size == "base"
    assert c.url == "async"
    assert label == "y:base"


if __name__ == "__main__":
    run_all()
    print("readme examples ran")
