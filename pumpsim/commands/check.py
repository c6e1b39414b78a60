"""``pumpsim check``: run scenarios, check their expectations, print a table."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pumpsim.commands.common import EXIT_INVALID, _scenario_files


def cmd_check(args: argparse.Namespace) -> int:
    """Run scenarios and check their expectations; print a table (and a hazard matrix)."""
    from pumpsim.suite import run_suite

    files = _scenario_files(args.files)
    if not files:
        print("no scenario files found", file=sys.stderr)
        return EXIT_INVALID
    suite = run_suite(files)
    sys.stdout.write(suite.table_text())
    if args.matrix or len(files) > 1:
        sys.stdout.write(suite.matrix_text())
    for line in suite.error_lines():
        print(line, file=sys.stderr)
    if args.junit:
        from pumpsim.result import write_atomic

        try:
            write_atomic(args.junit, suite.junit_xml())
        except OSError as exc:
            print(f"{args.junit}: cannot write JUnit XML: {exc.strerror}", file=sys.stderr)
            return EXIT_INVALID
    return suite.exit_code()


def register(sub: Any) -> None:
    """Add the ``check`` subcommand."""
    check = sub.add_parser("check", help="run scenarios and check their expectations")
    check.add_argument(
        "files", nargs="+", metavar="FILE|DIR", help="scenario files or folders of *.yaml"
    )
    check.add_argument("--junit", metavar="FILE", help="also write JUnit XML for CI")
    check.add_argument("--matrix", action="store_true", help="print the hazard traceability matrix")
    check.set_defaults(func=cmd_check)
