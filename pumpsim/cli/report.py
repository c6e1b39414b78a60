"""``pumpsim report``: one self-contained HTML report of a scenario, for teaching (``--quiz``
adds the quiz: Play stops at each alarm and flag start and asks what it means and what to do)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from pumpsim.cli.common import EXIT_OK, add_command


def cmd_report(args: argparse.Namespace) -> int:
    """Simulate one scenario and write its HTML report (figure, tones, guidance, slider)."""
    import pumpsim
    from pumpsim.errors import ScenarioError
    from pumpsim.files import check_output_path
    from pumpsim.model.profile import ProfileError
    from pumpsim.outputs.report.html_report import write_report

    out = args.out or os.path.splitext(os.path.basename(args.file))[0] + ".html"
    check_output_path(out, "the report")
    result = pumpsim.simulate(pumpsim.load_scenario(args.file))
    try:
        write_report(result, out, quiz=args.quiz)
    except ProfileError as exc:
        raise ScenarioError(f"{args.file}: pump.profile: {exc}") from None
    print(out)
    return EXIT_OK


def register(sub: Any) -> None:
    """Add the ``report`` subcommand."""
    report = add_command(
        sub,
        "report",
        help="write a self-contained HTML report (figure, alarm tones, what to do)",
        description="Simulate a scenario and write one offline HTML page for teaching: the "
        "scenario in plain words, the figure with a time slider and the alarms' tones, what each "
        "alarm and flag means and what to do, and the timeline. --quiz makes Play stop at each "
        "alarm and flag start and ask what it means and what to do.",
        checks=False,
    )
    report.add_argument("file", help="scenario YAML file")
    report.add_argument("-o", "--out", metavar="HTML", help="output file (default: NAME.html here)")
    report.add_argument(
        "--quiz",
        action="store_true",
        help="quiz mode: Play stops at each alarm and flag start and asks what it means and "
        "what to do (multiple choice from the guidance), then gives the score",
    )
    report.set_defaults(func=cmd_report)
