"""Process start to exit: the interpreter floor, ``--help``, the scenario load path, ``run``.

    PYTHONPATH=. python3 benchmarks/bench_startup.py [REPEATS] [--quick]

Median and minimum over REPEATS (default 15) fresh processes per case, run round-robin,
in milliseconds. On a shared machine the
absolute numbers move with the load; compare rows of one run.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = str(ROOT / "scenarios" / "missed-refill.yaml")

CASES = {
    "python -c pass (floor)": [sys.executable, "-c", "pass"],
    "pumpsim --help": [sys.executable, "-m", "pumpsim", "--help"],
    "load path (import loader + load_scenario)": [
        sys.executable,
        "-c",
        f"from pumpsim.scenario.checked import load_scenario; load_scenario({SCENARIO!r})",
    ],
    "pumpsim run -q missed-refill": [sys.executable, "-m", "pumpsim", "run", "-q", SCENARIO],
}


def run_ms(argv: list[str]) -> float:
    """Wall time of one fresh process running ``argv``, in milliseconds."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repeats", nargs="?", type=int, default=15, help="processes per case")
    parser.add_argument("--quick", action="store_true", help="5 processes per case")
    args = parser.parse_args()
    repeats = 5 if args.quick else args.repeats
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(repeats):  # round-robin, so a change in the machine's load hits every case
        for name, argv in CASES.items():
            times[name].append(run_ms(argv))
    print(f"{'':<45} {'median':>8} {'min':>8}")
    for name, values in times.items():
        print(f"{name:<45} {statistics.median(values):8.1f} {min(values):8.1f} ms")


if __name__ == "__main__":
    main()
