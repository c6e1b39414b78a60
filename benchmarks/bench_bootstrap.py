"""What the summary's bootstrap costs against the simulation (issue 18: it must not dominate).

Run by hand (not part of the test suite):

    python benchmarks/bench_bootstrap.py             # the round-2 benchmark sweep, 2,000 patients
    python benchmarks/bench_bootstrap.py --by        # with two --by breakdowns

In one process, CPU time (``time.process_time``, so a shared machine matters less): simulating
every patient of benchmarks/sweep-fleet.yaml serially; assembling the outputs of the finished
sweep (tables, summary, risk table) with the bootstrap's 2,000 resamples; and the same assembly
with 2 resamples, whose difference is the bootstrap's own cost. Best of three each.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from pumpsim.studies.sweep import bootstrap  # noqa: E402
from pumpsim.studies.sweep.runner import run_sweep  # noqa: E402
from pumpsim.studies.sweep.spec import load_sweep  # noqa: E402
from pumpsim.studies.sweep.table import have_pyarrow, without_pandas  # noqa: E402

SWEEP = HERE / "sweep-fleet.yaml"


def best(fn, repeat: int = 3) -> float:
    """The least CPU time of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--by", action="store_true", help="add --by breakdowns (dose, injury)")
    parser.add_argument("--patients", type=int, default=2000)
    args = parser.parse_args()
    have_pyarrow()
    spec = load_sweep(str(SWEEP), {"patients": args.patients})
    by = ["therapy.dose_mcg_per_day", "patient.injury_level"] if args.by else None
    with tempfile.TemporaryDirectory() as tmp, without_pandas():
        out = f"{tmp}/out"
        start = time.process_time()
        run_sweep(spec, out, workers=1)
        whole = time.process_time() - start
        assemble = best(lambda: run_sweep(spec, out, workers=1, by=by))
        resamples = bootstrap.RESAMPLES
        bootstrap.RESAMPLES = 2
        try:
            without = best(lambda: run_sweep(spec, out, workers=1, by=by))
        finally:
            bootstrap.RESAMPLES = resamples
    simulate = whole - assemble
    print(
        f"{SWEEP.name}: {args.patients} patients x 5 y, serial, CPU time"
        + (" (with --by dose and injury level)" if args.by else "")
    )
    print(f"  simulation                      {simulate:7.2f} s")
    print(f"  assembly with {resamples} resamples     {assemble:7.2f} s")
    print(f"  assembly with 2 resamples       {without:7.2f} s")
    print(
        f"  the bootstrap: {assemble - without:.2f} s = "
        f"{100 * (assemble - without) / simulate:.1f} % of the simulation"
    )
    return 0 if assemble - without < 0.1 * simulate else 1


if __name__ == "__main__":
    sys.exit(main())
