"""The ``daidai`` command line (also ``python -m daidai``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


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
    return parser


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
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
