"""``pumpsim validate``: check scenario files without running them."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pumpsim.cli.common import (
    EXIT_INVALID,
    EXIT_OK,
    add_command,
    scenario_files,
    visible,
)


def cmd_validate(args: argparse.Namespace) -> int:
    """Check scenario files without running them: ``ok  FILE`` or one error line each."""
    import pumpsim
    from pumpsim.errors import ScenarioError

    status = EXIT_OK
    for path in scenario_files(args.files):
        try:
            pumpsim.load_scenario(path)
        except ScenarioError as exc:
            sys.stdout.flush()
            for line in exc.lines():
                print(visible(line), file=sys.stderr)
            status = EXIT_INVALID
        else:
            print(visible(f"ok  {path}"))
    return status


def register(sub: Any) -> None:
    """Add the ``validate`` subcommand."""
    validate = add_command(
        sub,
        "validate",
        help="check scenario files without running them",
        description="Check scenario files (schema and device-profile limits) without running them.",
        checks=False,
    )
    validate.add_argument(
        "files", nargs="+", metavar="FILE|DIR", help="scenario files or folders of *.yaml"
    )
    validate.set_defaults(func=cmd_validate)
