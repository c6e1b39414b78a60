"""Command line: a thin layer over the Python API, one module per subcommand.

Exit codes: 0 all good, 1 an expectation failed, 2 bad input (one line naming the file, the key
path and the line; never a traceback). Heavy imports happen inside the commands so that
``pumpsim --help`` stays instant. Subcommands live in ``pumpsim.commands`` (see ``COMMANDS``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from pumpsim.commands import COMMANDS
from pumpsim.commands.common import EXIT_INVALID, EXIT_OK
from pumpsim.commands.run import timeline_text

__all__ = ["build_parser", "main", "timeline_text"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used for the docs)."""
    parser = argparse.ArgumentParser(
        prog="pumpsim",
        description=(
            "Simulate an implantable intrathecal baclofen pump: what the pump believes, what "
            "physically happens, and when the patient is at risk of abrupt withdrawal."
        ),
        epilog="Exit codes: 0 ok, 1 an expectation failed, 2 invalid input.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"pumpsim.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pumpsim`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from pumpsim import __version__

        print(f"pumpsim {__version__}")
        return EXIT_OK
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_INVALID
    from pumpsim.errors import ScenarioError

    try:
        return int(args.func(args))
    except ScenarioError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
