"""``pumpsim replay``: replay a patient's refill history; print the visit table.

With ``--slack`` the table gets each visit's slack (``studies.slack``); with ``--what-if`` the
history is replayed with changes (``studies.whatif``) and the alarms and flags that appear or
disappear are listed. The exit code, ``--junit`` and strict mode (``--fail-on``) judge the
recorded history; ``--json`` writes the history printed (the changed one with ``--what-if``).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from pumpsim.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    add_command,
    add_fail_on,
    emit,
)


def cmd_replay(args: argparse.Namespace) -> int:
    """Simulate a scenario (typically with ``clinic_log:``) and print its visit table.

    Exit codes as ``check``: 0 every expectation holds, 1 one fails, 2 invalid input.
    """
    import time

    import pumpsim
    from pumpsim.cli.junit import JUnitReport
    from pumpsim.files import check_output_path, refuse_overwriting_inputs, write_output
    from pumpsim.outputs.findings import apply_fail_on
    from pumpsim.outputs.replay_text import (
        changed_result,
        json_with_slack,
        slack_cells,
        what_if_text,
    )
    from pumpsim.outputs.suite import Entry, Suite
    from pumpsim.outputs.visit_table import visit_table_text
    from pumpsim.studies.whatif import parse_what_if

    with JUnitReport(args.junit, [args.scenario]) as junit:
        junit.guard([args.scenario])
        to_stdout = args.json == "-"
        if args.json is not None and not to_stdout:
            check_output_path(args.json, "the result")  # a bad path is found before any work
        changes = [parse_what_if(text) for text in args.what_if]
        t0 = time.perf_counter()
        scenario = pumpsim.load_scenario(args.scenario)
        # nothing written yet: an output on the scenario or its clinic log is refused
        inputs = [args.scenario]
        if scenario.clinic_log:
            inputs.append(os.path.join(os.path.dirname(args.scenario), scenario.clinic_log))
        junit.guard(inputs)
        refuse_overwriting_inputs({"the result": args.json, "the JUnit XML": args.junit}, inputs)
        result = apply_fail_on(pumpsim.simulate(scenario), args.fail_on)
        seconds = time.perf_counter() - t0
        shown, tail, history = result, "", None
        if changes:
            from pumpsim.studies.whatif import differences, what_if

            history, said = what_if(scenario, changes)
            shown = changed_result(scenario, history)
            tail = what_if_text(shown, said, differences(result.run, shown.run), result)
        found = None
        if args.slack:
            from pumpsim.studies.slack import slacks
            from pumpsim.studies.whatif import reconstruction

            found = slacks(history if history is not None else reconstruction(scenario))
        cells = None if found is None else slack_cells(found)
        if to_stdout:  # standard output holds the JSON alone
            emit(json_with_slack(shown, found))
        else:
            emit(visit_table_text(shown, cells, verdicts=not changes) + tail)
        if args.json and not to_stdout:
            write_output(args.json, json_with_slack(shown, found), what="the result")
        entry = Entry(args.scenario, scenario.name, list(scenario.hazard), result=result)
        entry.seconds = seconds
        junit.write(Suite([entry]))
    return EXIT_OK if result.passed else EXIT_FAILED


def register(sub: Any) -> None:
    """Add the ``replay`` subcommand."""
    replay = add_command(
        sub,
        "replay",
        help="replay a patient's refill history (clinic_log:) and print the visit table",
        description="Replay a patient's refill history (a scenario with clinic_log:) and print "
        "the visit table; optionally each visit's slack, and what-if changes to the history.",
    )
    replay.add_argument("scenario", metavar="SCENARIO", help="scenario YAML file")
    replay.add_argument(
        "--json",
        metavar="OUT",
        help="also write the result document (JSON) of the history shown ('-': standard output, "
        "without the visit table)",
    )
    replay.add_argument(
        "--junit",
        metavar="FILE",
        help="also write JUnit XML for CI (always written: invalid input is an error case)",
    )
    add_fail_on(replay)
    replay.add_argument(
        "--what-if",
        metavar="CHANGE",
        action="append",
        default=[],
        help="replay the history with a change, on the reconstructed accuracies (repeatable): "
        "'miss DATE', 'late DATE 10d', 'accuracy +0.15 from DATE' (DATE names the visit on that "
        "day, or give its date-time)",
    )
    replay.add_argument(
        "--slack",
        action="store_true",
        help="for each visit, the longest delay (whole hours) that raises no "
        "abrupt-discontinuation flag before it, or '>= next visit' (also slack_h in --json)",
    )
    replay.set_defaults(func=cmd_replay)
