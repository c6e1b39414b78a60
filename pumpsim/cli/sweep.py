"""``pumpsim sweep``: a Monte Carlo fleet sweep (contract section 8), resumable and parallel."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pumpsim.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_TERMINATED,
    NOTHING_CHECKED,
    HelpFormatter,
    exit_codes_epilog,
    visible,
)


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run or resume a sweep; print its summary."""
    from pumpsim.errors import OutputError
    from pumpsim.studies.sweep.executors import ExecutorError
    from pumpsim.studies.sweep.runner import SweepInterrupted, run_sweep
    from pumpsim.studies.sweep.spec import load_sweep

    if args.workers is not None and args.workers < 1:
        print("--workers: give at least 1", file=sys.stderr)
        return EXIT_INVALID
    if args.batch_size is not None and args.batch_size < 1:
        print("--batch-size: give at least 1", file=sys.stderr)
        return EXIT_INVALID
    overrides = {"patients": args.patients} if args.patients is not None else None
    from pumpsim.studies.sweep.table import without_pandas

    spec = load_sweep(args.file, overrides)
    progress = not args.quiet and sys.stderr.isatty()

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
    except OSError as exc:  # once work has begun, like every command: a failed write is 3
        where = getattr(exc, "filename", None) or args.out
        raise OutputError(
            str(where), f"cannot write the sweep: {exc.strerror or exc}", exit_code=3
        ) from None
    lines = (
        []
        if args.quiet
        else [result.text, f"\nwrote {result.table_path}, {args.out}/summary.json\n"]
    )
    if args.plot:
        from pumpsim.outputs.sweep_plot import plot_sweep

        path = plot_sweep(result, args.plot)  # an OutputError is the CLI's one line
        lines.append(f"wrote {path}\n")
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
    p = sub.add_parser(
        "sweep",
        epilog=exit_codes_epilog(*NOTHING_CHECKED),
        formatter_class=HelpFormatter,
        help="Monte Carlo fleet sweep: many patients, fault streams, a synthetic clinic",
        description=(
            "Simulate a population of patients drawn from a sweep file and write one row per "
            "patient (patients.parquet or patients.csv) plus summary.json in --out. Re-running "
            "the same command resumes: finished batches are kept."
        ),
    )
    p.add_argument("file", help="sweep YAML file")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (resumable)")
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
        metavar="PNG",
        help="also draw event-free survival and the cause x alarm heat map (default: "
        "DIR/survival.png)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=cmd_sweep)
