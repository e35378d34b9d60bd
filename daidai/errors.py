"""The exceptions daidai raises.

Every error derives from :class:`DaidaiError` and, where one fits, from the matching builtin, so
``except LookupError`` or ``except ValueError`` in user code keeps working. Messages name the
component, the chain of components that asked for it and what to do about it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

__all__ = [
    "BuildError",
    "ComponentNotFound",
    "ConfigError",
    "CycleError",
    "DaidaiError",
    "FileDependencyError",
    "IntegrityError",
    "OfflineError",
    "ScopeMismatch",
    "TeardownError",
    "WrongAnnotation",
]


class DaidaiError(Exception):
    """Base class of every error daidai raises."""


class ConfigError(DaidaiError, ValueError):
    """A component's configuration is missing, unknown or invalid."""


class WrongAnnotation(ConfigError, TypeError):
    """An annotation cannot be understood or evaluated (a ``TypeError`` as well)."""


class ScopeMismatch(DaidaiError):
    """A component depends on a component that lives for a shorter time than itself."""


class CycleError(DaidaiError):
    """Components depend on each other in a loop; the message shows it as ``a -> b -> a``."""


class ComponentNotFound(DaidaiError, LookupError):
    """A component asked for by name or reference does not exist."""


class BuildError(DaidaiError):
    """An artifact failed to build. ``__cause__`` holds the original exception."""

    def __init__(self, message: str, *, component: str, chain: Sequence[str]) -> None:
        super().__init__(message)
        self.component = component
        self.chain = tuple(chain)


class FileDependencyError(DaidaiError, FileNotFoundError):
    """A file dependency could not be provided."""


class OfflineError(FileDependencyError):
    """A file is not in the cache and daidai runs offline."""


class IntegrityError(DaidaiError):
    """Content does not match the checksum it was pinned to or recorded with."""


class TeardownError(DaidaiError, ExceptionGroup):
    """One or more finalizers failed; every finalizer still ran. Holds all their errors."""


def chain_text(chain: Iterable[str]) -> str:
    """Render a request chain as ``classify -> model -> weights``."""
    return " -> ".join(chain)


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A ``did you mean 'x'?`` suffix, or an empty string when nothing is close."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""
