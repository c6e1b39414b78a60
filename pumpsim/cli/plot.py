"""``pumpsim plot``: one figure of events, estimate vs truth, CSF ratio and alarm tones."""

from __future__ import annotations

import argparse
import os
from typing import Any

from pumpsim.cli.common import EXIT_OK, add_command


def cmd_plot(args: argparse.Namespace) -> int:
    """Simulate one scenario and draw it to a PNG, SVG or PDF (by the output's suffix)."""
    import pumpsim
    from pumpsim.errors import OutputError, ScenarioError
    from pumpsim.files import check_output_path
    from pumpsim.model.clock import Clock
    from pumpsim.model.units import DurationError, parse_duration_h
    from pumpsim.outputs.report.plot import FORMATS, save
    from pumpsim.scenario.dates import InstantError, instant_hours

    out = args.out or os.path.splitext(os.path.basename(args.file))[0] + ".png"
    if os.path.splitext(out)[1].lower() not in FORMATS:
        raise ScenarioError(f"-o {out}: unknown figure format; use a .png, .svg or .pdf name")
    scenario = pumpsim.load_scenario(args.file)
    window = []
    clock = Clock.of(scenario.start)
    for opt, value in (("--from", args.start), ("--to", args.end)):
        try:
            # a calendar date or date-time on the scenario's clock, or an offset such as 95d
            hours = None if value is None else instant_hours(value, clock, scenario.duration)
            if hours is None and value is not None:
                hours = parse_duration_h(value)
            window.append(hours)
        except (DurationError, InstantError) as exc:
            raise ScenarioError(f"{opt}: {exc}", file=args.file) from None
    check_output_path(out, "the figure")
    try:
        save(pumpsim.simulate(scenario), out, window[0], window[1])
    except ValueError as exc:
        raise ScenarioError(f"--from/--to: {exc}") from None
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(
            out, f"cannot write the figure: {exc.strerror or exc}", exit_code=3
        ) from None
    print(out)
    return EXIT_OK


def register(sub: Any) -> None:
    """Add the ``plot`` subcommand."""
    plot = add_command(
        sub,
        "plot",
        help="draw events, reservoir (estimate vs truth), CSF ratio and alarm tones",
        description="Simulate a scenario and draw one figure on a calendar axis: when each alarm "
        "and flag starts, the clinic and device events, the pump's estimate against the true "
        "reservoir, the spinal-fluid level with the flagged spans, and each alarm's tones. The "
        "format follows the output's suffix (.png, .svg, .pdf).",
        checks=False,
    )
    plot.add_argument("file", help="scenario YAML file")
    plot.add_argument(
        "-o",
        "--out",
        metavar="FILE",
        help="output file, .png, .svg or .pdf by its suffix (default: NAME.png here)",
    )
    plot.add_argument(
        "--from",
        dest="start",
        metavar="TIME",
        help="window start: an offset (95d) or a date (2026-04-06)",
    )
    plot.add_argument(
        "--to",
        dest="end",
        metavar="TIME",
        help="window end: an offset (100d) or a date (2026-04-11T12:00)",
    )
    plot.set_defaults(func=cmd_plot)
