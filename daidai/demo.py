"""``daidai demo``: a small offline sentiment pipeline that shows what daidai does.

Everything is built from data shipped in this module: a labelled corpus (session-scoped), a
vocabulary and a naive Bayes model (namespace-scoped, the model with teardown), a call-scoped
request trace, and two predictors, one of which depends on the other. The demo prints each
setup and teardown as it happens, the cost of a cold and a warm call, and how a second manager
with other configuration gets its own model while reusing the shared corpus.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Annotated, TextIO

import attrs

from daidai.api import artifact, predictor
from daidai.manager import ModelManager

CORPUS: tuple[tuple[str, str], ...] = (
    ("a wonderful, warm and funny film", "positive"),
    ("the cast is brilliant and the story moving", "positive"),
    ("i loved every minute of it", "positive"),
    ("a delightful surprise with a great ending", "positive"),
    ("sharp writing and a lovely score", "positive"),
    ("a dull, lifeless and boring film", "negative"),
    ("the plot is a mess and the acting wooden", "negative"),
    ("i hated every minute of it", "negative"),
    ("a tedious film with a terrible ending", "negative"),
    ("clumsy writing and an awful score", "negative"),
)

_out: list[TextIO] = []


def say(message: str) -> None:
    """Print a demo line (to the stream :func:`run` was given)."""
    print(message, file=_out[-1] if _out else None)


def tokens(text: str) -> list[str]:
    return [word.strip(".,!?;:") for word in text.lower().split() if word.strip(".,!?;:")]


@attrs.frozen
class NaiveBayes:
    """A multinomial naive Bayes classifier: small enough to read, real enough to be wrong."""

    log_prior: dict[str, float]
    log_likelihood: dict[str, dict[str, float]]
    unknown: dict[str, float]

    def scores(self, text: str) -> dict[str, float]:
        return {
            label: prior
            + sum(self.log_likelihood[label].get(t, self.unknown[label]) for t in tokens(text))
            for label, prior in self.log_prior.items()
        }

    def predict(self, text: str) -> str:
        scores = self.scores(text)
        return max(scores, key=scores.__getitem__)


@artifact(scope="session")
def corpus() -> tuple[tuple[str, str], ...]:
    """The labelled examples every model trains on; shared by all managers of a session."""
    say(f"  setup    corpus: {len(CORPUS)} labelled sentences (session scope)")
    return CORPUS


@artifact
def vocabulary(
    examples: Annotated[tuple[tuple[str, str], ...], corpus], min_count: int = 1
) -> frozenset[str]:
    """Words seen at least ``min_count`` times in the corpus."""
    counts = Counter(t for text, _ in examples for t in tokens(text))
    vocab = frozenset(word for word, n in counts.items() if n >= min_count)
    say(f"  setup    vocabulary: {len(vocab)} words (min_count={min_count})")
    return vocab


@artifact
def model(
    examples: Annotated[tuple[tuple[str, str], ...], corpus],
    vocab: Annotated[frozenset[str], vocabulary],
    smoothing: float = 1.0,
) -> Iterator[NaiveBayes]:
    """A naive Bayes model trained on the corpus; torn down when its manager closes."""
    started = time.perf_counter()
    labels = Counter(label for _, label in examples)
    words: dict[str, Counter[str]] = {label: Counter() for label in labels}
    for text, label in examples:
        words[label].update(t for t in tokens(text) if t in vocab)
    likelihood, unknown = {}, {}
    for label, counts in words.items():
        total = sum(counts.values()) + smoothing * (len(vocab) + 1)
        likelihood[label] = {w: math.log((counts[w] + smoothing) / total) for w in vocab}
        unknown[label] = math.log(smoothing / total)
    prior = {label: math.log(n / len(examples)) for label, n in labels.items()}
    trained = NaiveBayes(prior, likelihood, unknown)
    elapsed = (time.perf_counter() - started) * 1e3
    say(f"  setup    model: naive Bayes, smoothing={smoothing} ({elapsed:.2f} ms)")
    yield trained
    say(f"  teardown model (smoothing={smoothing})")


@artifact(scope="call")
def trace() -> Iterator[list[str]]:
    """A per-call trace: built for each outermost predictor call and shared by nested ones."""
    events: list[str] = []
    yield events
    say(f"  teardown trace of one call: {' -> '.join(events)}")


@predictor
def classify(
    text: str, m: Annotated[NaiveBayes, model], events: Annotated[list[str], trace]
) -> str:
    """The label the model gives ``text``."""
    label = m.predict(text)
    events.append(f"classify={label}")
    return label


@predictor
def explain(
    text: str,
    m: Annotated[NaiveBayes, model],
    label_of: Annotated[Callable[[str], str], classify],
    events: Annotated[list[str], trace],
) -> str:
    """The label and the margin behind it, using :func:`classify` as a dependency."""
    events.append("explain")
    label = label_of(text)
    scores = m.scores(text)
    margin = abs(scores["positive"] - scores["negative"])
    return f"{label} (log-odds margin {margin:.2f})"


@predictor
def label_only(text: str, m: Annotated[NaiveBayes, model]) -> str:
    """A predictor with no call-scoped artifact: its warm calls skip all resolution."""
    return m.predict(text)


def _time_calls(fn: Callable[[str], str], text: str, n: int, rounds: int = 5) -> float:
    """Nanoseconds per call: the best of ``rounds`` rounds (the least disturbed by the OS)."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter_ns()
        for _ in range(n):
            fn(text)
        best = min(best, (time.perf_counter_ns() - started) / n)
    return best


def run(out: TextIO | None = None) -> None:
    """Run the demo, printing to ``out`` (stdout by default)."""
    import sys

    _out.append(out or sys.stdout)
    try:
        _run()
    finally:
        _out.pop()


def _run() -> None:
    reviews = ["a brilliant and moving story", "boring, wooden and awful", "i loved the score"]
    say("daidai demo: an offline sentiment pipeline\n")
    say("1. ModelManager(preload=[explain], namespace='prod') builds what explain needs:")
    with ModelManager(preload=[explain], namespace="prod"):
        say("\n2. Predictor calls (the call-scoped trace is rebuilt and torn down per call):")
        for review in reviews:
            say(f"  explain({review!r}) -> {explain(review)}")
        say("\n3. A nested manager configures its own model and reuses the session corpus:")
        with ModelManager(config={model: {"smoothing": 0.1}}, namespace="experiment"):
            say(f"  explain({reviews[2]!r}) -> {explain(reviews[2])}")
            say("  closing the experiment manager:")
        say("\n4. Cold versus warm calls of label_only (no call-scoped artifacts):")
        cold_started = time.perf_counter_ns()
        label_only(reviews[0])
        cold = (time.perf_counter_ns() - cold_started) / 1e3
        warm = _time_calls(label_only, reviews[0], 5_000)
        plain_model = model()
        plain = _time_calls(plain_model.predict, reviews[0], 5_000)
        say(f"  first call: {cold:.1f} us; warm call: {warm / 1e3:.2f} us;")
        say(f"  the model's own predict: {plain / 1e3:.2f} us (daidai adds {warm - plain:.0f} ns)")
        say("\n5. Leaving the prod manager tears everything down, dependents first:")
    say("\ndone.")
