"""The ``daidai`` command line (also ``python -m daidai``).

Exit status: 0 on success, 1 when the command fails (a PATH that does not exist, plugins that
cannot be loaded), 2 for usage errors (argparse's convention).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

LIST_HELP = """\
Import the Python modules under PATH (a file or a directory; hidden directories, .venv,
__pycache__ and node_modules are skipped) and the daidai_conf.py files from PATH up to the
project root, then print the artifacts and predictors visible from PATH, grouped by defining
file: kind, name, scope, file:line and the first line of the docstring. When a name has several
definitions, the one a component at PATH gets is marked [in effect], the others
[overridden by file:line], and a daidai_conf.py that applies elsewhere [only for DIR/ and below].
Modules that fail to import are reported on stderr and the listing goes on."""

GRAPH_HELP = """\
Print the dependency graph of the components visible from PATH (see `daidai list`): one node
per artifact or predictor, one edge from each dependent to the definition it receives, with
daidai_conf.py overrides applied."""

PLUGINS_HELP = """\
List the loaded plugins in load order (builtin, entrypoint, manager, conf) with the hooks each
implements and what each registered (fetchers, serializers, storages, drivers, artifacts).
daidai_conf.py modules visible from PATH that implement hooks are listed as conf plugins."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="daidai",
        description="Artifacts as scoped fixtures for ML services.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "demo",
        help="run an offline pipeline of artifacts and predictors and show what daidai did",
        description="Run an offline sentiment pipeline and print each setup, call and teardown.",
    )
    listing = commands.add_parser(
        "list", help="list the artifacts and predictors visible from PATH", description=LIST_HELP
    )
    _path_argument(listing)
    listing.add_argument("--json", action="store_true", help="print a JSON list of objects")
    graph = commands.add_parser(
        "graph", help="print the dependency graph as Mermaid or DOT", description=GRAPH_HELP
    )
    _path_argument(graph)
    graph.add_argument(
        "--format",
        choices=("mermaid", "dot"),
        default="mermaid",
        help="Mermaid flowchart (default) or Graphviz DOT",
    )
    plugins = commands.add_parser(
        "plugins", help="list the loaded plugins and what each registered", description=PLUGINS_HELP
    )
    _path_argument(plugins)
    plugins.add_argument("--json", action="store_true", help="print a JSON list of objects")
    return parser


def _path_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path",
        nargs="?",
        default=".",
        metavar="PATH",
        help="a file or directory (default: the current directory)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``daidai`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from daidai import __version__

        print(__version__)
        return 0
    if args.command == "demo":
        from daidai.demo import run

        run(sys.stdout)
        return 0
    if args.command in ("list", "graph", "plugins"):
        path = Path(args.path)
        if not path.exists():
            print(f"daidai {args.command}: error: {args.path!r} does not exist", file=sys.stderr)
            return 1
        try:
            return _COMMANDS[args.command](args, path)
        except BrokenPipeError:  # `daidai list | head`: not an error worth a traceback
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
    parser.print_help()
    return 2


def _list(args: argparse.Namespace, path: Path) -> int:
    from daidai import listing

    found = listing.collect(path)
    _warn(found.warnings)
    if args.json:
        _print_json(listing.listing_json(found))
    else:
        sys.stdout.write(listing.render_list(found))
    return 0


def _graph(args: argparse.Namespace, path: Path) -> int:
    from daidai import listing

    found = listing.collect(path)
    _warn(found.warnings)
    sys.stdout.write(listing.render_graph(found, args.format))
    return 0


def _plugins(args: argparse.Namespace, path: Path) -> int:
    from daidai import listing
    from daidai.errors import DaidaiError

    try:
        infos, warnings = listing.plugins(path)
    except (DaidaiError, ImportError) as exc:
        print(f"daidai plugins: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    _warn(warnings)
    if args.json:
        _print_json(listing.plugins_json(infos))
    else:
        sys.stdout.write(listing.render_plugins(infos))
    return 0


def _warn(warnings: Sequence[str]) -> None:
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")


_COMMANDS = {"list": _list, "graph": _graph, "plugins": _plugins}

if __name__ == "__main__":
    sys.exit(main())
