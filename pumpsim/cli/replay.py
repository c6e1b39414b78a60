"""``pumpsim replay``: replay a patient's refill history; print the visit table."""

from __future__ import annotations

import argparse
from typing import Any

from pumpsim.cli.common import EXIT_FAILED, EXIT_OK, emit


def cmd_replay(args: argparse.Namespace) -> int:
    """Simulate a scenario (typically with ``clinic_log:``) and print its visit table.

    Exit codes as ``check``: 0 every expectation holds, 1 one fails, 2 invalid input.
    """
    import time

    import pumpsim
    from pumpsim.cli.junit import JUnitReport
    from pumpsim.files import check_output_path, write_output
    from pumpsim.outputs.suite import Entry, Suite
    from pumpsim.outputs.visit_table import visit_table_text

    if args.json:
        check_output_path(args.json, "the result")  # a bad path is found before any work
    with JUnitReport(args.junit, [args.scenario]) as junit:
        t0 = time.perf_counter()
        scenario = pumpsim.load_scenario(args.scenario)
        result = pumpsim.simulate(scenario)
        seconds = time.perf_counter() - t0
        emit(visit_table_text(result))
        if args.json:
            write_output(args.json, result.to_json(), what="the result")
        entry = Entry(args.scenario, scenario.name, list(scenario.hazard), result=result)
        entry.seconds = seconds
        junit.write(Suite([entry]))
    return EXIT_OK if result.passed else EXIT_FAILED


def register(sub: Any) -> None:
    """Add the ``replay`` subcommand."""
    replay = sub.add_parser(
        "replay",
        help="replay a patient's refill history (clinic_log:) and print the visit table",
    )
    replay.add_argument("scenario", metavar="SCENARIO", help="scenario YAML file")
    replay.add_argument("--json", metavar="OUT", help="also write the result document (JSON)")
    replay.add_argument(
        "--junit",
        metavar="OUT",
        help="also write JUnit XML for CI (always written: invalid input is an error case)",
    )
    replay.set_defaults(func=cmd_replay)
