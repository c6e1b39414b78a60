"""``pumpsim check``: run scenarios, check their expectations, print a table."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pumpsim.cli.common import (
    add_command,
    add_fail_on,
    emit,
    scenario_files,
    visible,
)


def cmd_check(args: argparse.Namespace) -> int:
    """Run scenarios and check their expectations; print a table (and a hazard matrix)."""
    from pumpsim.cli.junit import JUnitReport
    from pumpsim.outputs.suite import run_suite

    with JUnitReport(args.junit, args.files) as junit:
        junit.guard(args.files)
        files = scenario_files(args.files)
        suite = run_suite(files, fail_on=args.fail_on)
        junit.write(suite)
    emit(suite.table_text())
    if args.matrix or len(files) > 1:
        emit(suite.matrix_text())
    sys.stdout.flush()
    for line in suite.error_lines():
        print(visible(line), file=sys.stderr)
    return suite.exit_code()


def register(sub: Any) -> None:
    """Add the ``check`` subcommand."""
    check = add_command(
        sub,
        "check",
        help="run scenarios and check their expectations",
        description="Run scenarios and check their expect: lists; print a pass/fail table "
        "(expected against actual) and, for several files, the hazard traceability matrix.",
    )
    check.add_argument(
        "files", nargs="+", metavar="FILE|DIR", help="scenario files or folders of *.yaml"
    )
    check.add_argument(
        "--junit",
        metavar="FILE",
        help="also write JUnit XML for CI (always written: invalid input is an error case)",
    )
    add_fail_on(check)
    check.add_argument("--matrix", action="store_true", help="print the hazard traceability matrix")
    check.set_defaults(func=cmd_check)
