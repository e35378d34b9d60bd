"""Deliberately wrong: decorated components keep their return type, so this assignment fails."""

from typing import Annotated

from daidai import artifact, predictor


class Model:
    pass


@artifact(scope="session", name="typed_model")
def model(size: str = "base") -> Model:
    return Model()


@predictor()
def classify(text: str, m: Annotated[Model, model]) -> str:
    return text


label: int = classify("x")  # expected error: str is not int
instance: str = model()  # expected error: Model is not str
