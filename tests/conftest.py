"""Test helpers shared by the whole suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from daidai.manager import _Process


@pytest.fixture(autouse=True)
def _close_leftover_managers() -> Iterator[None]:
    """Every test starts with no open manager and no default manager instances."""
    yield
    with _Process.lock:
        leftovers = list(reversed(_Process.open))
        default = _Process.default
    for manager in leftovers:
        manager.close()
    if default is not None:
        default.close()
