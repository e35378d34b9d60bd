"""A process-wide override layer, for tests: the pytest plugin's channel (DESIGN.md 6).

While an overlay is active, every reference to an artifact whose *name* it overrides resolves
to the given value, in every thread and manager. Instances that depend on an overridden value
are built in the overlay's own store and torn down when it closes, so a session-cached
dependent built on a fake never reaches the next test. Warm caches are dropped when an overlay
opens and closes, and nothing resolved through it is cached.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping
from typing import Any

from daidai.errors import DaidaiError, TeardownError
from daidai.manager import _Process, drop_every_warm_cache
from daidai.store import Store

OVERLAY_DEPTH = (1 << 30) - 1  # below every manager, above call scopes
_serials = itertools.count(1)
_lock = threading.Lock()


class Overlay:
    """Name -> value overrides plus the store of what was built on them."""

    def __init__(self, overrides: Mapping[str, Any], label: str) -> None:
        self.overrides = dict(overrides)
        self.label = label
        self.serial = next(_serials)
        self.store = Store(f"test overrides of {label}", OVERLAY_DEPTH)

    def close(self) -> None:
        """Tear down what was built on the overrides; raise their errors together."""
        deactivate(self)


def activate(overrides: Mapping[str, Any], label: str) -> Overlay:
    """Make ``overrides`` apply everywhere until :meth:`Overlay.close`."""
    with _lock:
        if _Process.overlay is not None:
            raise DaidaiError(
                f"an override layer is already active ({_Process.overlay.label}); "
                "close it before opening another"
            )
        overlay = Overlay(overrides, label)
        _Process.overlay = overlay
    drop_every_warm_cache()
    return overlay


def deactivate(overlay: Overlay) -> None:
    with _lock:
        if _Process.overlay is overlay:
            _Process.overlay = None
    drop_every_warm_cache()
    errors = overlay.store.close()
    if errors:
        raise TeardownError(
            f"{len(errors)} teardown(s) failed closing {overlay.store.label}", errors
        )


def active() -> Overlay | None:
    """The active overlay, if any."""
    return _Process.overlay  # type: ignore[no-any-return]
