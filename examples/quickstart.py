"""The README's quickstart, runnable offline: ``uv run python examples/quickstart.py``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, ClassVar

from daidai import ModelManager, artifact, predictor


class Tokenizer:
    def __init__(self, lowercase: bool) -> None:
        self.lowercase = lowercase

    def __call__(self, text: str) -> list[str]:
        return (text.lower() if self.lowercase else text).split()


class Model:
    """Stands in for a real model: scores words against a tiny lexicon."""

    LEXICON: ClassVar[dict[str, int]] = {
        "great": 1,
        "good": 1,
        "love": 1,
        "bad": -1,
        "awful": -1,
        "boring": -1,
    }

    def __init__(self, size: str, tokenize: Tokenizer) -> None:
        self.size = size
        self.tokenize = tokenize
        self.open = True

    def predict(self, text: str) -> str:
        assert self.open, "model used after teardown"
        score = sum(self.LEXICON.get(word, 0) for word in self.tokenize(text))
        return "positive" if score >= 0 else "negative"

    def close(self) -> None:
        self.open = False


@artifact(scope="session")
def tokenizer(lowercase: bool = True) -> Tokenizer:
    print(f"building tokenizer(lowercase={lowercase})")
    return Tokenizer(lowercase)


@artifact
def model(tok: Annotated[Tokenizer, tokenizer], size: str = "base") -> Iterator[Model]:
    print(f"building model(size={size!r})")
    m = Model(size, tok)
    yield m
    m.close()
    print(f"closed model(size={size!r})")


@predictor
def classify(text: str, m: Annotated[Model, model, {"size": "large"}]) -> str:
    return m.predict(text)


@predictor
def shout(text: str, label_of: Annotated[Callable[[str], str], classify]) -> str:
    return label_of(text).upper()


def main() -> None:
    print(classify("a great film"))  # lazy, in the process-wide default manager
    with ModelManager({model: {"size": "xl"}}, namespace="prod"):
        print(shout("boring and bad"))  # the manager's xl model reaches every dependent
        with ThreadPoolExecutor(max_workers=4) as pool:
            print(list(pool.map(classify, ["good", "awful", "i love it"])))
    print(classify("a great film", m=Model("fake", Tokenizer(lowercase=False))))


if __name__ == "__main__":
    main()
