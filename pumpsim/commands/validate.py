"""``pumpsim validate``: check scenario files without running them."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pumpsim.commands.common import EXIT_INVALID, EXIT_OK, _scenario_files


def cmd_validate(args: argparse.Namespace) -> int:
    """Check scenario files without running them."""
    import pumpsim
    from pumpsim.errors import ScenarioError

    status = EXIT_OK
    files = _scenario_files(args.files)
    if not files:
        print("no scenario files found", file=sys.stderr)
        return EXIT_INVALID
    for path in files:
        try:
            pumpsim.load_scenario(path)
        except ScenarioError as exc:
            print(str(exc), file=sys.stderr)
            status = EXIT_INVALID
        else:
            print(f"ok  {path}")
    return status


def register(sub: Any) -> None:
    """Add the ``validate`` subcommand."""
    validate = sub.add_parser("validate", help="check scenario files without running them")
    validate.add_argument(
        "files", nargs="+", metavar="FILE|DIR", help="scenario files or folders of *.yaml"
    )
    validate.set_defaults(func=cmd_validate)
