"""``pumpsim sweep``: a Monte Carlo fleet sweep (contract sections 8 and 10), resumable and
parallel; ``--check`` draws and validates every patient without simulating."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from pumpsim.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_OUTPUT,
    EXIT_TERMINATED,
    add_command,
    visible,
)

#: Figure formats by suffix (the file's suffix names its format).
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


def _written(table_path: str, out: str) -> list[str]:
    """The files a finished sweep wrote, as its last line names them."""
    stem, ext = os.path.splitext(table_path)
    files = [table_path, os.path.join(os.path.dirname(stem), "flags" + ext)]
    if ext == ".csv":
        files.append(os.path.join(out, "columns.csv"))
    return [*files, os.path.join(out, "summary.json"), os.path.join(out, "risk.csv")]


def figure_paths(plot: str, out: str) -> tuple[str, str]:
    """The survival/heat-map figure's path and the risk figure's path beside it
    (``<stem>-risk<suffix>``). A bare file name is taken inside ``out``."""
    path = os.path.join(out, plot) if os.path.dirname(plot) == "" else plot
    stem, suffix = os.path.splitext(path)
    return path, f"{stem}-risk{suffix}"


def check_paths(args: argparse.Namespace) -> None:
    """Every output path, before the first patient (OutputError: exit 2)."""
    from pumpsim.errors import OutputError
    from pumpsim.files import check_output_path

    out = args.out
    if os.path.exists(out) and not os.path.isdir(out):
        raise OutputError(out, "cannot write the sweep's folder: is not a directory")
    existing = out
    while existing and not os.path.exists(existing):
        existing = os.path.dirname(existing)
    existing = existing or "."
    if os.path.isdir(existing) and not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(out, f"cannot write the sweep's folder: {existing} is not writable")
    if args.plot is None:
        return
    suffix = os.path.splitext(args.plot)[1].lower()
    if suffix not in FIGURE_SUFFIXES:
        raise OutputError(
            args.plot,
            f"unknown figure format {suffix or '(none)'!r}: use .png, .svg or .pdf",
        )
    for path in figure_paths(args.plot, out):
        folder = os.path.dirname(path) or "."
        if os.path.abspath(folder) == os.path.abspath(out) and not os.path.isdir(out):
            continue  # inside the folder the sweep makes (its parent was checked above)
        check_output_path(path, "the sweep figure")
        folder = os.path.dirname(os.path.realpath(path)) or "."
        if os.path.isdir(folder) and not os.access(folder, os.W_OK | os.X_OK):
            raise OutputError(path, f"cannot write the sweep figure: {folder} is not writable")


def cmd_check(args: argparse.Namespace) -> int:
    """``--check``: draw and validate every patient; print how many would be invalid."""
    from pumpsim.cli.common import emit
    from pumpsim.studies.sweep.check import check_sweep
    from pumpsim.studies.sweep.spec import load_sweep

    overrides = {"patients": args.patients} if args.patients is not None else None
    spec = load_sweep(args.file, overrides)
    report = check_sweep(spec)
    emit(report.text())
    return EXIT_OK


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run or resume a sweep; print its summary."""
    from pumpsim.errors import OutputError
    from pumpsim.studies.sweep.breakdown import parse_by
    from pumpsim.studies.sweep.executors import ExecutorError
    from pumpsim.studies.sweep.runner import SweepInterrupted, run_sweep
    from pumpsim.studies.sweep.spec import load_sweep
    from pumpsim.studies.sweep.table import without_pandas

    if args.workers is not None and args.workers < 1:
        print("--workers: give at least 1", file=sys.stderr)
        return EXIT_INVALID
    if args.batch_size is not None and args.batch_size < 1:
        print("--batch-size: give at least 1", file=sys.stderr)
        return EXIT_INVALID
    if args.check:
        return cmd_check(args)
    if args.out is None:
        print("--out DIR is needed to run a sweep (or give --check)", file=sys.stderr)
        return EXIT_INVALID
    overrides = {"patients": args.patients} if args.patients is not None else None
    spec = load_sweep(args.file, overrides)
    for option in args.by or ():
        parse_by(option, spec)  # a bad --by is refused before any patient
    check_paths(args)
    progress: bool | str = False
    if not args.quiet:
        progress = True if sys.stderr.isatty() else "lines"

    def warn(line: str) -> None:
        if not args.quiet:
            print(visible(line), file=sys.stderr, flush=True)

    try:
        with without_pandas():
            result = run_sweep(
                spec,
                args.out,
                workers=args.workers,
                dask=args.dask,
                batch_size=args.batch_size,
                fresh=args.fresh,
                progress=progress,
                warn=warn,
                by=args.by,
            )
    except SweepInterrupted as exc:
        print(visible(f"{args.out}: {exc}; run the same command again to resume"), file=sys.stderr)
        return EXIT_TERMINATED if exc.terminated else EXIT_INTERRUPTED
    except KeyboardInterrupt:  # while writing the outputs: every batch is stored
        print(
            visible(f"{args.out}: interrupted; run the same command again to resume"),
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except ExecutorError as exc:  # e.g. --dask without the extra
        print(visible(str(exc)), file=sys.stderr)
        return EXIT_INVALID
    except OutputError:
        raise  # a path refused before work started (2) or a failed write (3)
    except OSError as exc:  # once work has begun, a failed write is exit 3 (every command)
        where = getattr(exc, "filename", None) or args.out
        print(visible(f"{where}: {exc.strerror or exc}"), file=sys.stderr)
        return EXIT_OUTPUT
    lines = (
        []
        if args.quiet
        else [
            result.text,
            "\nwrote " + ", ".join(_written(result.table_path, args.out)) + "\n",
        ]
    )
    if args.plot is not None:
        from pumpsim.outputs.sweep_plot import plot_risk, plot_sweep

        survival, risk = figure_paths(args.plot, args.out)
        plot_sweep(result, survival)  # an OutputError is the CLI's one line
        plot_risk(result, risk)
        lines.append(f"wrote {survival}, {risk}\n")
    if not args.quiet:
        from pumpsim.cli.common import emit

        try:
            emit("".join(lines))
            sys.stdout.flush()
        except OSError as exc:  # the reader went away (e.g. `| head`): the files are written
            raise OutputError(
                "standard output",
                f"{exc.strerror or exc}; the sweep's files in {args.out} are complete",
                exit_code=3,
            ) from None
    return EXIT_OK


def register(sub: Any) -> None:
    """Add the ``sweep`` subcommand."""
    p = add_command(
        sub,
        "sweep",
        help="Monte Carlo fleet sweep: many patients, fault streams, a synthetic clinic",
        description=(
            "Simulate a population of patients drawn from a sweep file and write one row per "
            "patient (patients.parquet or patients.csv), summary.json and risk.csv in --out. "
            "Re-running the same command resumes: finished batches are kept."
        ),
        checks=False,
    )
    p.add_argument("file", help="sweep YAML file")
    p.add_argument("--out", metavar="DIR", help="output folder (resumable; needed to run)")
    p.add_argument(
        "--check",
        action="store_true",
        help="draw and validate every patient without simulating; print how many would be "
        "invalid and why",
    )
    p.add_argument(
        "--by",
        action="append",
        metavar="KEY",
        help="break every figure down by a drawn or grid key (repeatable): by value, by "
        "quartiles of a numeric draw, or by given edges: KEY:0,200,400",
    )
    p.add_argument(
        "--workers", type=int, metavar="N", help="worker processes (default: the core count)"
    )
    p.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run the batches on Dask: a scheduler address, or 'local' (needs pumpsim[dask])",
    )
    p.add_argument("--batch-size", type=int, metavar="N", help="patients per batch (default: auto)")
    p.add_argument("--patients", type=int, metavar="N", help="override the file's patients")
    p.add_argument("--fresh", action="store_true", help="discard earlier results in --out")
    p.add_argument(
        "--plot",
        nargs="?",
        const="survival.png",
        metavar="FILE",
        help="also draw event-free survival with the cause x alarm heat map, and the risk "
        "table's P x S grid beside it as FILE-risk; the suffix names the format (.png, .svg, "
        ".pdf; default: DIR/survival.png)",
    )
    p.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print nothing but errors (run.log still gets the progress)",
    )
    p.set_defaults(func=cmd_sweep)
