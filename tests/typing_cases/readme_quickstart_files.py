"""The README quick start as written, file dependency included (checked by mypy only).

File dependencies are a later milestone, so this file is type-checked but never run.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any, assert_type

from daidai import ModelManager, artifact, predictor


class Client:
    def __init__(self, **configuration: Any) -> None:
        self.configuration = configuration

    def complete(self, message: str, picture: str, model: str) -> str:
        return f"{model}: {message} {len(picture)}"


@artifact
def openai_client(**configuration: dict[str, Any]) -> Client:
    return Client(**configuration)


@artifact
def dogo_picture(
    picture: Annotated[
        bytes,
        "https://images.pexels.com/photos/220938/pexels-photo-220938.jpeg",
        {"cache_strategy": "no_cache"},
    ],
) -> str:
    return base64.b64encode(picture).decode("utf-8")


@predictor
def ask(
    message: str,
    dogo_picture: Annotated[str, dogo_picture],
    client: Annotated[Client, openai_client, {"timeout": 5}],
    model: str = "gpt-4o-mini",
) -> str:
    return client.complete(message, dogo_picture, model)


def main() -> None:
    assert_type(ask("Hello, what's in the picture ?"), str)
    with ModelManager(preload=[ask]):
        assert_type(ask("Hello, what's in the picture ?"), str)
    my_other_openai_client = Client(timeout=0.1)
    assert_type(ask("Hello, what's in the picture ?", client=my_other_openai_client), str)
    assert_type(dogo_picture(), str)
