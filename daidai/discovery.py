"""``daidai_conf.py``: conftest-like modules that define artifacts for a directory tree.

A component that depends on artifact ``tokenizer`` gets the definition named ``tokenizer`` that
is closest to the *dependent's own module file*: the ``daidai_conf.py`` files in that module's
directory and its parents, up to the project root (the nearest directory holding a
``pyproject.toml`` or ``.git``), are searched nearest first, and a definition found there wins
if it is closer to the dependent than the referenced definition. Never the working directory:
the answer depends only on file paths.

An override may depend on its own name to get the definition it replaces: references made from
a ``daidai_conf.py`` definition to its own name skip that file. Two definitions of one name in
one ``daidai_conf.py`` are an error naming both. A ``daidai_conf.py`` already imported (under
any module name) is not imported again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs

from daidai import registry
from daidai.component import Component
from daidai.errors import ConfigError

CONF_NAME = "daidai_conf.py"
ROOT_MARKERS = ("pyproject.toml", ".git")


@attrs.define(eq=False)
class ConfModule:
    """One imported ``daidai_conf.py`` and the components it defines, by name."""

    path: Path
    module: types.ModuleType
    components: dict[str, Component]

    @property
    def directory(self) -> Path:
        return self.path.parent

    @property
    def has_hooks(self) -> bool:
        return any(
            name.startswith("daidai_") and hasattr(getattr(self.module, name), "daidai_impl")
            for name in dir(self.module)
        )


_lock = threading.RLock()
_confs: dict[Path, ConfModule | None] = {}
_roots: dict[Path, Path | None] = {}
_effective: dict[tuple[Component, Component], Component] = {}
_visible: dict[str, list[ConfModule]] = {}


def project_root(directory: Path) -> Path | None:
    """The nearest directory at or above ``directory`` holding a root marker, if any."""
    cached = _roots.get(directory, False)
    if cached is not False:
        return cached  # type: ignore[return-value]
    root = next(
        (d for d in (directory, *directory.parents) if any((d / m).exists() for m in ROOT_MARKERS)),
        None,
    )
    _roots[directory] = root
    return root


def confs_for(module_file: str | Path) -> list[ConfModule]:
    """The ``daidai_conf.py`` modules visible from ``module_file``, nearest first."""
    key = str(module_file)
    cached = _visible.get(key)
    if cached is None:
        cached = _visible[key] = _confs_for(Path(module_file))
    return cached


def _confs_for(path: Path) -> list[ConfModule]:
    if not path.is_absolute() or not path.exists():
        return []
    directory = path.resolve().parent
    root = project_root(directory)
    if root is None:  # no project: only the module's own directory counts
        chain = [directory]
    else:
        chain = [directory, *(d for d in directory.parents if d.is_relative_to(root))]
    found = []
    for candidate in chain:
        conf = conf_in(candidate)
        if conf is not None:
            found.append(conf)
    return found


def conf_in(directory: Path) -> ConfModule | None:
    """The ``daidai_conf.py`` of ``directory``, imported on first request."""
    with _lock:
        if directory in _confs:
            return _confs[directory]
        file = directory / CONF_NAME
        conf = _import(file) if file.is_file() else None
        _confs[directory] = conf
        return conf


def _import(file: Path) -> ConfModule:
    existing = _already_imported(file)
    with _recording() as registered:
        module = existing if existing is not None else _load(file)
    if existing is not None:  # components were registered by the earlier import
        registered = list(registry.components())
    registered = [c for c in registered if _same_file(c.path, file)]
    components: dict[str, Component] = {}
    for component in registered:
        other = components.get(component.name)
        if other is not None and other is not component:
            raise ConfigError(
                f"{file} defines {component.name!r} twice: at line {other.line} and at line "
                f"{component.line}. Keep one, or give one another name (name=...)."
            )
        components[component.name] = component
    return ConfModule(file, module, components)


def _already_imported(file: Path) -> types.ModuleType | None:
    for module in list(sys.modules.values()):
        module_file = getattr(module, "__file__", None)
        if module_file and _same_file(module_file, file):
            return module
    return None


def _same_file(a: str | Path, b: Path) -> bool:
    try:
        return Path(a).resolve() == b.resolve()
    except OSError:
        return False


def _load(file: Path) -> types.ModuleType:
    return import_path(file, "daidai_conf")


def import_path(file: Path, prefix: str) -> types.ModuleType:
    """Import ``file`` under a name of its own (``prefix`` + a digest of its path), once.

    For files that cannot be imported by a dotted name (no package, or the name is taken);
    the module is in ``sys.modules`` only if it imported without error.
    """
    digest = hashlib.blake2b(str(file.resolve()).encode(), digest_size=6).hexdigest()
    name = f"{prefix}_{digest}_{re.sub(r'[^0-9A-Za-z_]', '_', file.stem)}"
    existing = sys.modules.get(name)
    if existing is not None:
        return existing
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise ConfigError(f"cannot import {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


@contextmanager
def _recording() -> Iterator[list[Component]]:
    """Every component registered while the block runs, redefinitions included."""
    registered: list[Component] = []
    registry.listeners.append(registered.append)
    try:
        yield registered
    finally:
        registry.listeners.remove(registered.append)


def effective(dependent: Component, target: Component) -> Component:
    """The definition ``dependent`` gets when it asks for ``target`` (see the module doc)."""
    key = (dependent, target)
    found = _effective.get(key)
    if found is None:
        found = _closest(dependent, target)
        _effective[key] = found
    return found


def _closest(dependent: Component, target: Component) -> Component:
    confs = confs_for(dependent.path)
    if not confs:
        return target
    dependent_file = Path(dependent.path).resolve()
    if dependent.name == target.name and dependent_file.name == CONF_NAME:
        # An override asking for its own name wants what it replaces: look farther up.
        confs = [c for c in confs if c.directory != dependent_file.parent]
    return effective_among(confs, dependent_file.parent, target, requester=dependent)


def effective_among(
    confs: list[ConfModule],
    directory: Path,
    target: Component,
    *,
    requester: Component | None = None,
) -> Component:
    """The definition of ``target``'s name in effect in ``directory``, given the confs visible
    from it (nearest first): the nearest conf defining the name wins if it is closer to
    ``directory`` than ``target``'s own definition."""
    target_path = Path(target.path)
    target_dir = target_path.resolve().parent if target_path.exists() else None
    for conf in confs:
        candidate = conf.components.get(target.name)
        if candidate is None or candidate is requester:
            continue
        if candidate is target or not _closer(conf.directory, target_dir, directory):
            return target
        return candidate
    return target


def _closer(conf_dir: Path, target_dir: Path | None, dependent_dir: Path) -> bool:
    """Whether a conf in ``conf_dir`` is closer to the dependent than ``target_dir``."""
    if target_dir is None or not dependent_dir.is_relative_to(target_dir):
        return True  # the referenced definition lives outside the dependent's ancestry
    return len(conf_dir.parts) > len(target_dir.parts)


def hook_confs_for(component: Component) -> tuple[ConfModule, ...]:
    """``daidai_conf.py`` modules with hook implementations that apply to ``component``."""
    return tuple(conf for conf in confs_for(component.path) if conf.has_hooks)


def visible_confs(path: Path) -> list[ConfModule]:
    """The confs visible from a directory or file (for ``daidai list``)."""
    probe = path / "__probe__.py" if path.is_dir() else path
    directory = probe.resolve().parent
    root = project_root(directory)
    chain = (
        [directory]
        if root is None
        else [directory, *(d for d in directory.parents if d.is_relative_to(root))]
    )
    return [conf for d in chain if (conf := conf_in(d)) is not None]


def forget() -> None:
    """Drop what discovery learned (tests that create files on the fly)."""
    with _lock:
        _confs.clear()
        _roots.clear()
        _effective.clear()
        _visible.clear()
