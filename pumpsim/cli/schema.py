"""``pumpsim schema``: print the JSON Schema of a scenario file or of a clinic log."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pumpsim.cli.common import EXIT_OK, add_command


def cmd_schema(args: argparse.Namespace) -> int:
    """Print a JSON Schema (for editors: validation and completion)."""
    if args.what == "scenario":
        from pumpsim.scenario.schema import scenario_json_schema

        doc = scenario_json_schema()
    else:
        from pumpsim.scenario.clinic_log import clinic_log_json_schema

        doc = clinic_log_json_schema()
    sys.stdout.write(json.dumps(doc, indent=2, sort_keys=False) + "\n")
    return EXIT_OK


def register(sub: Any) -> None:
    """Add the ``schema`` subcommand."""
    schema = add_command(
        sub,
        "schema",
        help="print the JSON Schema of a scenario file or of a clinic-log row",
        description="Print the JSON Schema of a scenario file or of one clinic-log row, for "
        "editors and for checking exports elsewhere. It describes what pumpsim reads: a file "
        "the schema refuses, pumpsim refuses too.",
        checks=False,
    )
    schema.add_argument(
        "what",
        choices=("scenario", "clinic-log"),
        help="which file format: a scenario YAML file or a clinic-log CSV row",
    )
    schema.set_defaults(func=cmd_schema)
