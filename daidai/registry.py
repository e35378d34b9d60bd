"""Every component defined in this process, by stable id and by name.

Identity is ``module:qualname`` (plus ``#name``). Redefining a component at the same id (a
notebook cell run again) replaces the old definition. Names are *not* identities: two
artifacts called ``model`` in two modules both live here, and a lookup by a name that has two
candidates is an error listing both.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from daidai.component import Component
from daidai.errors import ComponentNotFound, did_you_mean

_lock = threading.Lock()
_by_id: dict[str, Component] = {}
listeners: list[Callable[[Component], None]] = []
"""Called with every component registered (``daidai_conf.py`` discovery records its own)."""


def register(component: Component) -> None:
    """Add ``component``, replacing any earlier definition with the same id."""
    with _lock:
        _by_id[component.id] = component
    for listener in list(listeners):
        listener(component)


def get(component_id: str) -> Component | None:
    """The component with this exact id, if defined."""
    return _by_id.get(component_id)


def components() -> Iterator[Component]:
    """A snapshot of every registered component."""
    with _lock:
        return iter(list(_by_id.values()))


def by_name(name: str) -> Component:
    """The one component called ``name`` (or with this id), or a helpful error."""
    found = _by_id.get(name)
    if found is not None:
        return found
    matches = [c for c in components() if c.name == name]
    if len(matches) == 1:
        return matches[0]
    if matches:
        listing = "\n".join(f"  - {c.id} ({c.location})" for c in matches)
        raise ComponentNotFound(
            f"{len(matches)} components are called {name!r}; pass the component itself or "
            f"its id instead:\n{listing}"
        )
    raise not_found(name)


def not_found(name: str, *, wanted_by: str | None = None) -> ComponentNotFound:
    """A ``ComponentNotFound`` listing what exists, with the nearest name if one is close."""
    names = sorted({c.name for c in components()})
    who = f" (needed by {wanted_by})" if wanted_by else ""
    available = ", ".join(repr(n) for n in names) if names else "none are defined yet"
    return ComponentNotFound(
        f"no artifact or predictor is called {name!r}{who}.{did_you_mean(name, names)} "
        f"Available: {available}."
    )
