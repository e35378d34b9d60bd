"""Helpers shared by the conformance suites."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence

LARGE = 5 * 1024 * 1024
"""Size of the "large payload" tests, in bytes."""


def _payload(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def _required(fixture: str, description: str) -> NotImplementedError:
    return NotImplementedError(
        f"the conformance suite needs a {fixture!r} fixture: {description}. "
        "Define it in your subclass of the suite (see daidai.testing.conformance)."
    )


def _run_threads(targets: Sequence[Callable[[], None]], timeout: float = 60.0) -> None:
    """Run each target in its own thread and re-raise the first failure here."""
    errors: list[BaseException] = []

    def guard(target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guard, args=(t,), daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), f"threads still running after {timeout}s"
    if errors:
        raise errors[0]


# ===================================================================================== fetchers
