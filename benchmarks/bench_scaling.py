"""Scaling benchmark: cost must grow linearly with the number of events.

Run by hand (not part of the test suite):

    python benchmarks/bench_scaling.py           # 1k, 10k and 100k scenario events
    python benchmarks/bench_scaling.py --quick   # 1k, 10k and 30k

Builds one timeline from a repeating 30-day cycle of every kind of event the engine has: a
refill (the refill-due projection), daily PTM requests with lockout and daily limits (the PTM
window), a reprogramming (the reduction rule's look-back), a clinician bolus, a motor stall
(an abrupt-discontinuation flag during a critical alarm: the first-critical-alarm lookup), an
occlusion, an MRI scan, and a pump replacement every five years. It times ``simulate`` plus
``to_dict`` for growing numbers of cycles and fits ``time = c * events^k`` by least squares on
the logarithms. Target: k <= 1.05.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import pumpsim  # noqa: E402
from pumpsim.scenario.checked import Scenario  # noqa: E402

CYCLE_D = 12  # 100k events fit in 94 years, inside the 100-year input limit
EVENTS_PER_CYCLE = 35


def timeline(n_events: int) -> Scenario:
    """A scenario with about ``n_events`` scenario events, 12-day cycles repeated."""
    cycles = max(1, round(n_events / EVENTS_PER_CYCLE))
    events: list[dict] = []
    for c in range(cycles):
        d = c * CYCLE_D
        if c and c % 60 == 0:
            events.append({"at": f"{d}d", "type": "pump_replacement", "volume_ml": 20})
        else:
            events.append({"at": f"{d}d", "type": "refill", "volume_ml": 20})
        for k in range(28):  # every 8 h: a third honoured (max 1 a day), the rest refused
            events.append({"at": f"{d * 24 + 12 + 8 * k}h", "type": "ptm_bolus"})
        events.append({"at": f"{(d + 3) * 24 + 13}h", "type": "ptm_bolus"})
        dose = 400 if c % 2 == 0 else 420
        ptm = {"dose_mcg": 20, "lockout": "3h", "max_per_day": 1}
        events.append(
            {
                "at": f"{d + 2}d",
                "type": "reprogram",
                "therapy": {"dose_mcg_per_day": dose, "ptm": ptm},
            }
        )
        events.append({"at": f"{d + 4}d", "type": "bolus", "dose_mcg": 50, "duration": "1h"})
        events.append({"at": f"{d + 6}d", "type": "motor_stall", "duration": "12h"})
        events.append(
            {
                "at": f"{d + 8}d",
                "type": "catheter_fault",
                "kind": "occlusion",
                "delivered_fraction": 0.5,
                "duration": "2h",
            }
        )
        events.append({"at": f"{d + 10}d", "type": "mri", "duration": "1h"})
    return Scenario.from_dict(
        {
            "name": "scaling",
            "duration": f"{cycles * CYCLE_D}d",
            "pump": {"reservoir_ml": 20},
            "drug": {"concentration_mcg_per_ml": 2000},
            "therapy": {
                "dose_mcg_per_day": 400,
                "ptm": {"dose_mcg": 20, "lockout": "3h", "max_per_day": 1},
            },
            "events": events,
        }
    )


def measure(n_events: int, repeat: int) -> tuple[int, int, float]:
    """(scenario events, engine events, best seconds of simulate + to_dict)."""
    sc = timeline(n_events)
    best = math.inf
    engine_events = 0
    for _ in range(repeat):
        t0 = time.process_time()  # CPU time: the machine is shared
        result = pumpsim.simulate(sc)
        result.to_dict()
        best = min(best, time.process_time() - t0)
        engine_events = result.run.engine_events
    return len(sc.events), engine_events, best


def fit_exponent(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of log y against log x."""
    lx = [math.log(x) for x in xs]
    ly = [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    num = sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True))
    den = sum((a - mx) ** 2 for a in lx)
    return num / den


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = [1_000, 10_000, 30_000] if args.quick else [1_000, 10_000, 100_000]
    rows = []
    print(f"{'scenario events':>15} {'engine events':>13} {'CPU s':>9} {'us/event':>9}")
    for n in sizes:
        n_sc, n_eng, secs = measure(n, repeat={1_000: 9, 10_000: 5}.get(n, 2))
        rows.append((n_eng, secs))
        print(f"{n_sc:>15} {n_eng:>13} {secs:>9.3f} {secs / n_eng * 1e6:>9.1f}")
    k = fit_exponent([r[0] for r in rows], [r[1] for r in rows])
    print(f"fitted exponent (time ~ engine events^k): k = {k:.3f}  (target <= 1.05)")
    return 0 if k <= 1.05 else 1


if __name__ == "__main__":
    raise SystemExit(main())
