"""Command line: a thin layer over the Python API.

Exit codes: 0 all good, 1 an expectation failed, 2 bad input (one line naming the file, the key
path and the line; never a traceback). Heavy imports happen inside the commands so that
``pumpsim --help`` stays instant.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def _scenario_files(paths: Sequence[str]) -> list[str]:
    """Expand folders into their ``*.yaml``/``*.yml`` files (sorted); keep files as given."""
    files: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            found = sorted(
                os.path.join(path, name)
                for name in os.listdir(path)
                if name.endswith((".yaml", ".yml")) and not name.startswith(".")
            )
            files.extend(found)
        else:
            files.append(path)
    return files


def _fmt_t(hours: float) -> str:
    from pumpsim.units import format_duration_h

    return format_duration_h(hours)


def _describe_log(entry: dict[str, Any]) -> str:
    kind = entry["event"]
    rest = {k: v for k, v in entry.items() if k not in ("t_h", "event")}
    if kind.startswith("alarm_"):
        priority = rest["priority"].replace("_", "-")
        return f"ALARM {rest['alarm']} {kind.removeprefix('alarm_')} ({priority})"
    parts = []
    for key, value in rest.items():
        if isinstance(value, float):
            value = f"{value:.4g}"
        parts.append(f"{key}={value}")
    return kind.replace("_", " ") + (f" ({', '.join(parts)})" if parts else "")


def timeline_text(result: Any) -> str:
    """A readable timeline: the pump's log, what the body saw ([body]), and safety flags."""
    doc = result.to_dict()
    sc = result.scenario
    therapy = sc.therapy
    lines = [f"{sc.name}: {' '.join(sc.description.split())}" if sc.description else sc.name]
    lines.append(
        f"{_fmt_t(sc.duration)} simulated from {sc.start.isoformat(sep=' ')}, seed {sc.seed}, "
        f"profile {doc['device_profile']}, {sc.pump.reservoir_ml:g} mL reservoir, "
        f"{sc.drug.concentration_mcg_per_ml:g} mcg/mL, {therapy.mode} "
        f"{therapy.daily_dose_mcg:g} mcg/day"
    )
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
            bits.append(f"first critical alarm {_fmt_t(f['time_to_critical_alarm_h'])} later")
        rows.append((f["start_h"], 2, f"FLAG   {f['type']} raised ({', '.join(bits)})"))
        if f["end_h"] is not None and f["end_h"] != f["start_h"]:
            rows.append((f["end_h"], 2, f"FLAG   {f['type']} ended"))
    rows.sort(key=lambda r: (r[0], r[1]))
    width = max([len(_fmt_t(t)) for t, _, _ in rows] + [4])
    lines.append("")
    lines.append(f"{'TIME'.ljust(width)}  WHAT")
    lines.extend(f"{_fmt_t(t).ljust(width)}  {text}" for t, _, text in rows)
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
    if doc["expectations"]:
        n_ok = sum(1 for o in doc["expectations"] if o["passed"])
        lines.append(f"expectations: {n_ok}/{len(doc['expectations'])} passed")
        for o in doc["expectations"]:
            if not o["passed"]:
                lines.append(f"  FAIL {o['text']}: expected {o['expected']}, actual {o['actual']}")
    return "\n".join(lines) + "\n"


def cmd_run(args: argparse.Namespace) -> int:
    """Simulate one scenario, print its timeline, optionally write the result document."""
    import pumpsim
    from pumpsim.result import write_atomic

    scenario = pumpsim.load_scenario(args.file)
    result = pumpsim.simulate(scenario)
    if not args.quiet:
        sys.stdout.write(timeline_text(result))
    if args.json:
        text = result.to_json()
        if args.json == "-":
            sys.stdout.write(text)
        else:
            try:
                write_atomic(args.json, text)
            except OSError as exc:
                print(f"{args.json}: cannot write the result: {exc.strerror}", file=sys.stderr)
                return EXIT_INVALID
    return EXIT_OK


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


def cmd_plot(args: argparse.Namespace) -> int:
    """Simulate one scenario and draw reservoir, CSF ratio and alarms to a PNG."""
    import pumpsim
    from pumpsim.errors import ScenarioError
    from pumpsim.report.plot import save_png
    from pumpsim.units import DurationError, parse_duration_h

    scenario = pumpsim.load_scenario(args.file)
    window = []
    for opt, value in (("--from", args.start), ("--to", args.end)):
        try:
            window.append(None if value is None else parse_duration_h(value))
        except DurationError as exc:
            raise ScenarioError(f"{opt}: {exc}") from None
    out = args.out or os.path.splitext(os.path.basename(args.file))[0] + ".png"
    try:
        save_png(pumpsim.simulate(scenario), out, window[0], window[1])
    except ValueError as exc:
        raise ScenarioError(f"--from/--to: {exc}") from None
    except OSError as exc:
        print(f"{out}: cannot write the figure: {exc.strerror}", file=sys.stderr)
        return EXIT_INVALID
    print(out)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used for the docs)."""
    parser = argparse.ArgumentParser(
        prog="pumpsim",
        description=(
            "Simulate an implantable intrathecal baclofen pump: what the pump believes, what "
            "physically happens, and when the patient is at risk of abrupt withdrawal."
        ),
        epilog="Exit codes: 0 ok, 1 an expectation failed, 2 invalid input.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="simulate one scenario and print its timeline")
    run.add_argument("file", help="scenario YAML file")
    run.add_argument(
        "--json", metavar="OUT", help="write the result document (JSON) to OUT ('-' for stdout)"
    )
    run.add_argument("-q", "--quiet", action="store_true", help="do not print the timeline")
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check", help="run scenarios and check their expectations")
    check.add_argument(
        "files", nargs="+", metavar="FILE|DIR", help="scenario files or folders of *.yaml"
    )
    check.add_argument("--junit", metavar="FILE", help="also write JUnit XML for CI")
    check.add_argument("--matrix", action="store_true", help="print the hazard traceability matrix")
    check.set_defaults(func=cmd_check)

    plot = sub.add_parser("plot", help="draw reservoir (estimate vs truth), CSF ratio and alarms")
    plot.add_argument("file", help="scenario YAML file")
    plot.add_argument("-o", "--out", metavar="PNG", help="output file (default: NAME.png here)")
    plot.add_argument("--from", dest="start", metavar="TIME", help="window start, e.g. 95d")
    plot.add_argument("--to", dest="end", metavar="TIME", help="window end, e.g. 100d")
    plot.set_defaults(func=cmd_plot)

    validate = sub.add_parser("validate", help="check scenario files without running them")
    validate.add_argument("files", nargs="+", metavar="FILE|DIR")
    validate.set_defaults(func=cmd_validate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pumpsim`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from pumpsim import __version__

        print(f"pumpsim {__version__}")
        return EXIT_OK
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_INVALID
    from pumpsim.errors import ScenarioError

    try:
        return int(args.func(args))
    except ScenarioError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
