"""``pumpsim run``: simulate one scenario, print its timeline, write the result document."""

from __future__ import annotations

import argparse
from typing import Any

from pumpsim.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    add_command,
    add_fail_on,
    emit,
)
from pumpsim.model.units import format_duration_h


def _describe_log(entry: dict[str, Any]) -> str:
    kind = entry["event"]
    rest = {k: v for k, v in entry.items() if k not in ("t_h", "at", "event")}
    if kind.startswith("alarm_"):
        priority = rest["priority"].replace("_", "-")
        return f"ALARM {rest['alarm']} {kind.removeprefix('alarm_')} ({priority})"
    parts = []
    for key, value in rest.items():
        if isinstance(value, float):  # four figures, never 2e+04: 20000
            value = f"{value:.0f}" if abs(value) >= 1e4 else f"{value:.4g}"
        parts.append(f"{key}={value}")
    return kind.replace("_", " ") + (f" ({', '.join(parts)})" if parts else "")


def timeline_text(result: Any) -> str:
    """A readable timeline: the pump's log, what the body saw ([body]), and safety flags.

    Every time is a calendar date-time on the clock of ``start:`` with the offset from the start
    beside it (``2026-04-08 12:00 (97d 12h)``).
    """
    from pumpsim.model.clock import Clock

    doc = result.to_dict()
    sc = result.scenario
    clock = Clock.of(sc.start)
    therapy = sc.therapy
    lines = [f"{sc.name}: {' '.join(sc.description.split())}" if sc.description else sc.name]
    lines.append(
        f"{format_duration_h(sc.duration)} simulated from {clock.date_time(0.0)} to "
        f"{clock.date_time(sc.duration)} ({clock.offset_text()}), seed {sc.seed}, "
        f"profile {doc['device_profile']}, {sc.pump.reservoir_ml:g} mL reservoir, "
        f"{sc.drug.concentration_mcg_per_ml:g} mcg/mL, {therapy.mode} "
        f"{therapy.daily_dose_mcg:g} mcg/day"
    )
    lines.extend(f"NOTE: {note}" for note in doc.get("notes", ()))
    rows: list[tuple[float, int, str]] = []
    for e in doc["pump_log"]:
        rows.append((e["t_h"], 0, "pump   " + _describe_log(e)))
    for e in doc["physical_log"]:
        rows.append((e["t_h"], 1, "[body] " + _describe_log(e)))
    for f in doc["flags"]:
        bits = [f"cause {f['cause']}"] if f.get("cause") else []
        if f.get("alarmed") is not None:
            bits.append("alarmed" if f["alarmed"] else "SILENT")
        if f.get("severity"):
            bits.append(f"severity {f['severity']}")
        if f.get("time_to_critical_alarm_h") not in (None, 0.0):
            bits.append(
                f"first critical alarm {format_duration_h(f['time_to_critical_alarm_h'])} later"
            )
        said = f" ({', '.join(bits)})" if bits else ""
        rows.append((f["start_h"], 2, f"FLAG   {f['type']} raised{said}"))
        if f["end_h"] is not None and f["end_h"] != f["start_h"]:
            rows.append((f["end_h"], 2, f"FLAG   {f['type']} ended"))
    rows.sort(key=lambda r: (r[0], r[1]))
    width = max([len(clock.label(t)) for t, _, _ in rows] + [4])
    lines.append("")
    lines.append(f"{'TIME'.ljust(width)}  WHAT")
    lines.extend(f"{clock.label(t).ljust(width)}  {text}" for t, _, text in rows)
    if not rows:
        lines.append("(nothing happened)")
    tot = doc["totals"]
    lines.append("")
    lines.append(
        f"programmed {tot['programmed_mcg']:.1f} mcg, delivered intrathecally "
        f"{tot['delivered_intrathecal_mcg']:.1f} mcg, "
        f"elsewhere {tot['delivered_elsewhere_mcg']:.1f} mcg; "
        f"final reservoir: pump estimate {doc['final']['reservoir_estimated_ml']:.3f} mL, "
        f"true {doc['final']['reservoir_true_ml']:.3f} mL"
    )
    if result.outcomes:
        from pumpsim.outputs.outcome import summary_lines

        lines.extend(summary_lines(result.outcomes))
    return "\n".join(lines) + "\n"


def cmd_run(args: argparse.Namespace) -> int:
    """Simulate one scenario, write the result document, print the timeline.

    Returns 1 when an expectation failed (as ``check`` does), else 0.
    """
    import time

    import pumpsim
    from pumpsim.cli.junit import JUnitReport
    from pumpsim.files import check_output_path, refuse_overwriting_inputs, write_output
    from pumpsim.outputs.findings import apply_fail_on
    from pumpsim.outputs.suite import Entry, Suite

    with JUnitReport(args.junit, [args.file]) as junit:
        junit.guard([args.file])
        if args.json is not None and args.json != "-":
            check_output_path(args.json, "the result")  # before any work: a bad path is exit 2
        outputs = {"the result": args.json, "the JUnit XML": args.junit}
        refuse_overwriting_inputs(outputs, [args.file])
        t0 = time.perf_counter()
        scenario = pumpsim.load_scenario(args.file)
        result = apply_fail_on(pumpsim.simulate(scenario), args.fail_on)
        seconds = time.perf_counter() - t0
        if args.json and args.json != "-":
            write_output(args.json, result.to_json(), what="the result")
        entry = Entry(args.file, scenario.name, list(scenario.hazard), result=result)
        entry.seconds = seconds
        junit.write(Suite([entry]))
    if not args.quiet and args.json != "-":  # '-': standard output holds the JSON alone
        emit(timeline_text(result))
    if args.json == "-":
        emit(result.to_json())
    return EXIT_OK if result.passed else EXIT_FAILED


def register(sub: Any) -> None:
    """Add the ``run`` subcommand."""
    run = add_command(
        sub,
        "run",
        help="simulate one scenario and print its timeline",
        description="Simulate one scenario, print its timeline, optionally write the result "
        "document (JSON, written whole or not at all).",
    )
    run.add_argument("file", help="scenario YAML file")
    run.add_argument(
        "--json",
        metavar="OUT",
        help="write the result document (JSON) to OUT ('-': standard output, without the timeline)",
    )
    run.add_argument(
        "--junit",
        metavar="FILE",
        help="also write JUnit XML for CI (always written: invalid input is an error case)",
    )
    add_fail_on(run)
    run.add_argument("-q", "--quiet", action="store_true", help="do not print the timeline")
    run.set_defaults(func=cmd_run)
