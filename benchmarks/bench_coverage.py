"""Coverage of the sweep's 95 % intervals on an over-dispersed fleet (issue 18, "Done means").

Run by hand (not part of the test suite; tests/test_sweep_intervals.py runs a small version):

    python benchmarks/bench_coverage.py              # 40 seeds x 400 patients x 2 years
    python benchmarks/bench_coverage.py --quick      # 40 seeds x 100 patients

The fleet: 20 mL pumps at 2000 mcg/mL, doses lognormal (median 400 mcg/day, sigma 0.5), refills
every 57 +- 10 days, 10 % of visits missed, no fault streams. High-dose patients run dry before
their visits again and again; the others only after a missed visit: flags cluster within
patients (per-patient variance/mean well above 1). The "true" rate is the estimate of one
large independent run (seed 1000, ``--truth`` patients). For each of 40 seeds the script checks
whether the summary's 95 % interval holds it, for the flag rate, the silent-flag rate and the
flagged-patient share, and for comparison whether the exact Poisson (Garwood) interval of the
flag count would (the round-2 method). Target: at least 34 of 40. The figures go to
docs/performance.md.
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

import pumpsim  # noqa: E402
from pumpsim.studies.sweep.intervals import poisson_interval  # noqa: E402

FLEET = """\
name: coverage-fleet
base: {base}
patients: {patients}
seed: {seed}
duration: 2y
vary:
  therapy.dose_mcg_per_day: {{lognormal: {{median: 400, sigma: 0.5}}, within: [100, 2000]}}
  pump.accuracy: {{normal: {{mean: 0.0, sd: 0.03}}}}
clinic:
  refill_every: {{normal: {{mean: 57d, sd: 10d}}}}
  refill_to: full
  late_by: {{exponential: {{mean: 3d}}}}
  missed_probability: 0.1
  alarm_visit_after: {{exponential: {{mean: 3d}}}}
faults: none
"""
FIGURES = (
    ("per_100_patient_years", "flags per 100 patient-years"),
    ("silent_per_100_patient_years", "silent flags per 100 patient-years"),
    ("patients_with_a_flag_per_100", "patients with a flag per 100"),
)


def run(folder: Path, seed: int, patients: int, workers: int) -> dict:
    """One sweep of the fleet; its grid point's abrupt-discontinuation block and rows."""
    path = folder / f"fleet-{seed}.yaml"
    base = ROOT / "scenarios" / "steady-state-year.yaml"
    path.write_text(FLEET.format(base=base, patients=patients, seed=seed), encoding="utf-8")
    result = pumpsim.sweep(str(path), str(folder / f"out-{seed}"), workers=workers)
    point = result.summary["grid_points"][0]
    return {"point": point, "rows": result.patients}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 patients per seed")
    parser.add_argument("--patients", type=int, default=None, help="patients per seed")
    parser.add_argument("--truth", type=int, default=16000, help="patients of the truth run")
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    patients = args.patients or (100 if args.quick else 400)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        truth = run(folder, 1000, args.truth, args.workers)
        ad = truth["point"]["abrupt_discontinuation"]
        counts = [r["n_flag_abrupt_discontinuation"] for r in truth["rows"]]
        mean = sum(counts) / len(counts)
        var = sum((c - mean) ** 2 for c in counts) / (len(counts) - 1)
        print(
            f"truth run: {args.truth} patients x 2 y, {ad['flags']} flags = "
            f"{ad['per_100_patient_years']} per 100 patient-years; per-patient flags "
            f"variance/mean {var / mean:.1f}, max {max(counts)}"
        )
        held = dict.fromkeys((name for name, _ in FIGURES), 0)
        garwood = 0
        for seed in range(1, args.seeds + 1):
            got = run(folder, seed, patients, args.workers)["point"]
            block = got["abrupt_discontinuation"]
            for name, _ in FIGURES:
                low, high = block[f"{name}_95ci"]
                held[name] += low <= ad[name] <= high
            years = got["patient_years"]
            lo, hi = poisson_interval(block["flags"])
            garwood += lo * 100 / years <= ad["per_100_patient_years"] <= hi * 100 / years
    print(f"{args.seeds} seeds x {patients} patients x 2 y; the 95 % interval held the truth in:")
    for name, text in FIGURES:
        print(f"  {text}: {held[name]} of {args.seeds}")
    print(f"  (flags per 100 patient-years, exact Poisson interval: {garwood} of {args.seeds})")
    print(f"took {time.perf_counter() - started:.0f} s")
    ok = all(v >= 34 * args.seeds / 40 for v in held.values())
    print("target met (>= 34 of 40)" if ok else "target NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
