"""What ``daidai list``, ``daidai graph`` and ``daidai plugins`` show.

:func:`collect` imports the Python modules under a path (packages by their dotted name, so
relative imports work) and the ``daidai_conf.py`` files visible from it, then gathers the
components defined there plus everything they depend on. Each one gets a *status* for the path:
``"in effect"`` (what a dependent at the path gets for that name), ``"overridden"`` (a closer
``daidai_conf.py`` definition replaces it there, by the rule of :mod:`daidai.discovery`) or
``"local"`` (a ``daidai_conf.py`` below the path: it only applies to its own subtree).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import keyword
import os
import re
import sys
import textwrap
from pathlib import Path
from typing import Any, Literal

import attrs

from daidai import discovery, registry
from daidai.component import Component
from daidai.discovery import CONF_NAME, ConfModule
from daidai.plugins import PluginInfo, plugin_manager

Status = Literal["in effect", "overridden", "local"]
SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "venv", "site-packages"})
SKIPPED_FILES = frozenset({"__main__.py", "setup.py"})
"""Running these has effects beyond defining things: never imported by ``daidai list``."""


@attrs.frozen
class Edge:
    """``dependent`` receives ``target`` (the effective definition) in parameter ``param``."""

    param: str
    target: Component


@attrs.frozen
class Entry:
    """One component as listed for a path."""

    component: Component
    file: str
    status: Status
    overridden_by: Component | None = None
    edges: tuple[Edge, ...] = ()
    error: str | None = None


@attrs.frozen
class Listing:
    """The components visible from ``path``, ordered by file then line, and what went wrong."""

    path: Path
    root: Path
    entries: tuple[Entry, ...]
    warnings: tuple[str, ...]

    def where(self, component: Component) -> str:
        return f"{_display(component.path, self.root)}:{component.line}"


# ------------------------------------------------------------------------------ collecting
def collect(path: Path) -> Listing:
    """Import what lies under ``path`` and describe the components visible from it."""
    path = path.resolve()
    directory = path if path.is_dir() else path.parent
    root = discovery.project_root(directory) or directory
    warnings: list[str] = []
    failed: set[Path] = set()
    files = _module_files(path)
    for extra in (root, root / "src"):  # sibling packages of a project, and a src/ layout
        if extra.is_dir() and str(extra) not in sys.path:
            sys.path.append(str(extra))
    with contextlib.redirect_stdout(sys.stderr):  # module prints must not corrupt --json
        for file in files:
            if file.name == CONF_NAME:
                continue
            try:
                _import_file(file)
            except (Exception, SystemExit) as exc:
                failed.add(file)
                warnings.append(f"cannot import {_display(file, root)}: {_describe(exc)}")
        visible, conf_warnings = visible_confs(path, root)
        below = [c for f in files if f.name == CONF_NAME if (c := _conf(f, root, conf_warnings))]
    warnings.extend(conf_warnings)
    confs = {conf.path.resolve(): conf for conf in [*visible, *below]}
    base = [
        c
        for c in registry.components()
        if (defined := _resolved(c.path)) is not None
        and defined not in failed
        and (defined.is_relative_to(path) or defined in confs)
    ]
    found: dict[Component, tuple[tuple[Edge, ...], str | None]] = {}
    pending = list(base)
    while pending:
        component = pending.pop()
        if component in found:
            continue
        edges, declared, error = _edges(component)
        found[component] = (edges, error)
        pending.extend([*(edge.target for edge in edges), *declared])
    entries = [
        Entry(c, _display(c.path, root), *_status(c, visible, directory), edges, error)
        for c, (edges, error) in found.items()
    ]
    entries.sort(key=lambda e: (e.file, e.component.line, e.component.name))
    return Listing(path, root, tuple(entries), tuple(warnings))


def _module_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path] if path.suffix == ".py" else []
    found: list[Path] = []
    for directory, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
        found.extend(
            Path(directory, name)
            for name in sorted(names)
            if name.endswith(".py") and name not in SKIPPED_FILES
        )
    return found


def _import_file(file: Path) -> None:
    """Import ``file`` by its dotted name (its package root on ``sys.path``), else by path."""
    root, name = _import_target(file)
    if name:
        if str(root) not in sys.path:
            sys.path.append(str(root))
        existing = sys.modules.get(name)
        if existing is None or _same(getattr(existing, "__file__", None), file):
            module = importlib.import_module(name)
            if _same(getattr(module, "__file__", None), file):
                return
    # The name is taken by another module (or is not a valid one): load it under its own.
    discovery.import_path(file, "daidai_list")


def _import_target(file: Path) -> tuple[Path, str]:
    """The ``sys.path`` entry and dotted name of ``file`` (``""`` if it has no valid name)."""
    parts = [] if file.name == "__init__.py" else [file.stem]
    directory = file.parent
    while (directory / "__init__.py").is_file() and _identifier(directory.name):
        parts.insert(0, directory.name)
        directory = directory.parent
    if not parts or not all(_identifier(p) for p in parts):
        return directory, ""
    return directory, ".".join(parts)


def _identifier(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def visible_confs(path: Path, root: Path) -> tuple[list[ConfModule], list[str]]:
    """The ``daidai_conf.py`` modules from ``path`` up to the project root, nearest first;
    one that fails to import becomes a warning instead."""
    directory = path if path.is_dir() else path.parent
    project = discovery.project_root(directory)
    chain = [directory] if project is None else [directory, *directory.parents]
    warnings: list[str] = []
    confs = []
    for candidate in chain:
        if project is not None and not candidate.is_relative_to(project):
            break
        conf = _conf(candidate / CONF_NAME, root, warnings)
        if conf is not None:
            confs.append(conf)
    return confs, warnings


def _conf(file: Path, root: Path, warnings: list[str]) -> ConfModule | None:
    if not file.is_file():
        return None
    try:
        return discovery.conf_in(file.parent)
    except (Exception, SystemExit) as exc:
        warnings.append(f"cannot import {_display(file, root)}: {_describe(exc)}")
        return None


def _edges(component: Component) -> tuple[tuple[Edge, ...], list[Component], str | None]:
    """What ``component`` receives, what it names (even if replaced) and why not, if not."""
    try:
        declared = component.spec.dependencies
        edges = tuple(Edge(d.param, discovery.effective(component, d.target)) for d in declared)
    except Exception as exc:
        return (), [], _describe(exc.__cause__ or exc)
    return edges, [d.target for d in declared], None


def _status(
    component: Component,
    visible: list[ConfModule],
    directory: Path,
) -> tuple[Status, Component | None]:
    """The discovery rule, applied to a dependent that would live in ``directory``."""
    file = _resolved(component.path)
    visible_files = {conf.path.resolve() for conf in visible}
    if file is not None and file.name == CONF_NAME and file not in visible_files:
        return "local", None  # a daidai_conf.py below the path, or on another branch
    winner = discovery.effective_among(visible, directory, component)
    return ("in effect", None) if winner is component else ("overridden", winner)


# ---------------------------------------------------------------------------- rendering
def render_list(listing: Listing) -> str:
    """``pytest --fixtures``-style text: one section per defining file, one line each."""
    if not listing.entries:
        return f"no artifacts or predictors are visible from {listing.path}\n"
    duplicated = _duplicated_names(listing)
    rows = [
        (
            e.file,
            [
                e.component.kind,
                e.component.name,
                e.component.scope.label,
                listing.where(e.component),
            ],
            " ".join(filter(None, [_marker(listing, e, duplicated), _doc(e.component)])),
        )
        for e in listing.entries
    ]
    widths = [max(len(cells[i]) for _, cells, _ in rows) for i in range(4)]
    lines: list[str] = []
    current = None
    for file, cells, rest in rows:
        if file != current:
            lines.extend([*([""] if lines else []), f"-- {file} --"])
            current = file
        text = "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
        lines.append(f"{text}  {rest}".rstrip())
    return "\n".join(lines) + "\n"


def _duplicated_names(listing: Listing) -> set[str]:
    """Names with a definition that another one replaces here (or that applies lower down)."""
    return {e.component.name for e in listing.entries if e.status != "in effect"}


def _marker(listing: Listing, entry: Entry, duplicated: set[str]) -> str:
    notes = []
    if entry.status == "overridden" and entry.overridden_by is not None:
        notes.append(f"[overridden by {listing.where(entry.overridden_by)}]")
    elif entry.status == "local":
        scope_dir = _display(Path(entry.component.path).parent, listing.root)
        notes.append(f"[only for {scope_dir}/ and below]")
    elif entry.component.name in duplicated:
        notes.append("[in effect]")
    if entry.error:
        notes.append(f"[annotations unresolved: {entry.error}]")
    return " ".join(notes)


def listing_json(listing: Listing) -> list[dict[str, Any]]:
    """The listing as plain data (``daidai list --json``)."""
    return [
        {
            "kind": e.component.kind,
            "name": e.component.name,
            "id": e.component.id,
            "scope": e.component.scope.label,
            "file": e.file,
            "line": e.component.line,
            "location": listing.where(e.component),
            "path": e.component.path,
            "doc": _doc(e.component),
            "status": e.status,
            "overridden_by": listing.where(e.overridden_by) if e.overridden_by else None,
            "dependencies": [
                {
                    "param": edge.param,
                    "name": edge.target.name,
                    "target": listing.where(edge.target),
                }
                for edge in e.edges
            ],
            "error": e.error,
        }
        for e in listing.entries
    ]


def render_graph(listing: Listing, fmt: Literal["mermaid", "dot"] = "mermaid") -> str:
    """The dependency graph (dependent -> dependency) as Mermaid or Graphviz DOT."""
    ids: dict[Component, str] = {}
    for index, entry in enumerate(listing.entries):
        c = entry.component
        ids[c] = (
            f"n{index}_{re.sub(r'[^0-9A-Za-z_]', '_', c.name)}"
            if fmt == "mermaid"
            else _dot_quote(f"{c.name}@{listing.where(c)}")
        )
    edges = [
        (ids[e.component], ids[edge.target], edge.param)
        for e in listing.entries
        for edge in e.edges
        if edge.target in ids
    ]
    if fmt == "dot":
        lines = ["digraph daidai {", "    rankdir=TB;", "    node [shape=box];"]
        for entry in listing.entries:
            style = ", style=dashed" if entry.status == "overridden" else ""
            label = _dot_quote("\n".join(_label(listing, entry)))
            lines.append(f"    {ids[entry.component]} [label={label}{style}];")
        for source, target, param in edges:
            lines.append(f"    {source} -> {target} [label={_dot_quote(param)}];")
        return "\n".join([*lines, "}"]) + "\n"
    lines = ["graph TD"]
    for entry in listing.entries:
        label = "<br/>".join(_mermaid_escape(part) for part in _label(listing, entry))
        lines.append(f'    {ids[entry.component]}["{label}"]')
    for source, target, param in edges:
        lines.append(f"    {source} -->|{_mermaid_escape(param)}| {target}")
    overridden = [ids[e.component] for e in listing.entries if e.status == "overridden"]
    if overridden:
        lines.append("    classDef overridden stroke-dasharray: 5 5")
        lines.append(f"    class {','.join(overridden)} overridden")
    return "\n".join(lines) + "\n"


def _label(listing: Listing, entry: Entry) -> list[str]:
    c = entry.component
    parts = [c.name, f"{c.kind}, {c.scope.label}", listing.where(c)]
    if entry.status == "overridden" and entry.overridden_by is not None:
        parts.append(f"overridden by {listing.where(entry.overridden_by)}")
    if entry.error:
        parts.append(f"note: annotations unresolved ({entry.error})")
    return parts


def _dot_quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _mermaid_escape(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


# ------------------------------------------------------------------------------ plugins
def plugins(path: Path | None) -> tuple[list[PluginInfo], list[str]]:
    """Loaded plugins in load order; with ``path``, its ``daidai_conf.py`` hook modules too."""
    pm = plugin_manager()
    if path is None:
        return pm.describe(), []
    path = path.resolve()
    root = discovery.project_root(path if path.is_dir() else path.parent) or path
    confs, warnings = visible_confs(path, root)
    hooked = [conf for conf in reversed(confs) if conf.has_hooks]  # farthest first
    if hooked:
        pm = pm.derive([], layer="conf")
        for conf in hooked:
            pm.register(conf.module, name=_display(conf.path, root), layer="conf")
    return pm.describe(), warnings


def plugins_json(infos: list[PluginInfo]) -> list[dict[str, Any]]:
    return [
        {
            "name": info.name,
            "layer": info.layer,
            "hooks": list(info.hooks),
            "registered": {f"{k}s": list(v) for k, v in info.registered.items()},
        }
        for info in infos
    ]


def render_plugins(infos: list[PluginInfo]) -> str:
    width = max((len(info.name) for info in infos), default=0)
    lines = []
    for info in infos:
        hooks = ", ".join(info.hooks) or "none"
        lines.append(f"{info.name.ljust(width)}  {info.layer.ljust(10)}  hooks: {hooks}")
        for kind, names in info.registered.items():
            lines.append(
                textwrap.fill(
                    ", ".join(names),
                    width=100,
                    initial_indent=f"    {kind}s: ",
                    subsequent_indent=" " * (len(kind) + 7),
                    break_on_hyphens=False,
                )
            )
    return "\n".join(lines) + "\n"


# -------------------------------------------------------------------------------- helpers
def _doc(component: Component) -> str:
    doc = inspect.getdoc(component.fn) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _resolved(path: str | Path) -> Path | None:
    try:
        resolved = Path(path).resolve()
    except OSError:
        return None
    return resolved if resolved.is_file() else None


def _same(a: str | None, b: Path) -> bool:
    return a is not None and _resolved(a) == b.resolve()


def _display(path: str | Path, root: Path) -> str:
    with contextlib.suppress(OSError, ValueError):
        return Path(path).resolve().relative_to(root).as_posix()
    return str(path)
