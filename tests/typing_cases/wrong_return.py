"""Deliberately wrong: a predictor returns ``str``, so ``assert_type(..., int)`` must fail."""

from typing import Annotated, assert_type

from daidai import artifact, predictor


class Model:
    pass


@artifact
def model() -> Model:
    return Model()


@predictor
def classify(text: str, m: Annotated[Model, model]) -> str:
    return text


assert_type(classify("x"), int)  # expected error: the return type is str
