"""Process start to exit: the interpreter floor, ``--help``, the scenario load path, ``run``.

    PYTHONPATH=. python3 benchmarks/bench_startup.py [REPEATS]

Medians over REPEATS (default 15) fresh processes, in milliseconds. On a shared machine the
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
        f"from pumpsim.scenario.loader import load_scenario; load_scenario({SCENARIO!r})",
    ],
    "pumpsim run -q missed-refill": [sys.executable, "-m", "pumpsim", "run", "-q", SCENARIO],
}


def median_ms(argv: list[str], repeats: int) -> float:
    """Median wall time of ``repeats`` runs of ``argv``, in milliseconds."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    for name, argv in CASES.items():
        print(f"{name:<45} {median_ms(argv, repeats):8.1f} ms")


if __name__ == "__main__":
    main()
