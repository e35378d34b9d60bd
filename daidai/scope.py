"""Scopes: how long an artifact instance lives.

Ordered narrowest first, so ``a < b`` reads "a lives shorter than b" and a component may depend
only on components whose scope is the same or wider.
"""

from __future__ import annotations

import enum


class Scope(enum.IntEnum):
    """Lifetime of an artifact instance, narrowest first."""

    CALL = 0
    """One outermost predictor call; nested predictor calls share it."""
    NAMESPACE = 1
    """The manager that built it (the default)."""
    SESSION = 2
    """The outermost open manager of the thread that built it, or the default manager."""

    @classmethod
    def parse(cls, value: str | Scope) -> Scope:
        """Accept a scope or its lowercase name; reject anything else with the allowed names."""
        if isinstance(value, Scope):
            return value
        try:
            return cls[str(value).upper()]
        except KeyError:
            from daidai.errors import ConfigError

            allowed = ", ".join(repr(s.label) for s in cls)
            raise ConfigError(f"unknown scope {value!r}; use one of {allowed}") from None

    @property
    def label(self) -> str:
        """The name users write: ``"session"``, ``"namespace"`` or ``"call"``."""
        return self.name.lower()
