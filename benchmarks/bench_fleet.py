"""Fleet throughput: what one simulated patient-year costs in a sweep.

Run by hand (not part of the test suite):

    python benchmarks/bench_fleet.py           # 300 patients
    python benchmarks/bench_fleet.py --quick   # 60 patients

A five-year patient at 650 mcg/day (2000 mcg/mL, 20 mL reservoir: a fill lasts about 57
days) refilled every 57 days, so the low-reservoir alarm sounds a few days before most
visits; plus two MRI scans, an occlusion that is found and repaired, a short motor stall and
a missed visit. The loop runs ``simulate`` back to back, as a sweep does (the scenario is
validated once; deriving variants is the sweep's business). Target: well under 1 ms of
``simulate`` per simulated patient-year.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import pumpsim  # noqa: E402
from pumpsim.scenario.checked import Scenario  # noqa: E402

YEARS = 5
REFILL_EVERY_D = 57


def patient() -> Scenario:
    """The five-year patient described in the module docstring."""
    days = 365 * YEARS
    events: list[dict] = [
        {"at": f"{d}d", "type": "refill", "volume_ml": 20}
        for d in range(REFILL_EVERY_D, days, REFILL_EVERY_D)
    ]
    events[7] = {"at": events[7]["at"], "type": "refill", "missed": True}
    events += [
        {"at": "200d", "type": "mri", "duration": "1h", "recovery_delay": "20min"},
        {"at": "900d", "type": "mri", "duration": "1h"},
        {"at": "400d", "type": "catheter_fault", "kind": "occlusion", "delivered_fraction": 0.2},
        {"at": "430d", "type": "catheter_repair"},
        {"at": "1300d", "type": "motor_stall", "duration": "6h"},
    ]
    return Scenario.from_dict(
        {
            "name": "fleet-patient",
            "duration": f"{days}d",
            "pump": {"reservoir_ml": 20},
            "drug": {"concentration_mcg_per_ml": 2000},
            "patient": {"injury_level": "C6"},
            "therapy": {"dose_mcg_per_day": 650},
            "events": sorted(events, key=lambda e: float(e["at"].rstrip("d"))),
        }
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 60 if args.quick else 300
    sc = patient()
    result = pumpsim.simulate(sc)
    alarms = len(result.alarms)
    flags = len(result.flags)
    t0 = time.process_time()  # CPU time: the machine is shared
    for _ in range(n):
        pumpsim.simulate(sc)
    per_patient = (time.process_time() - t0) / n
    per_year_ms = per_patient / YEARS * 1000
    print(
        f"{YEARS}-year patient: {len(sc.events)} scenario events, "
        f"{result.run.engine_events} engine events, {alarms} alarms, {flags} flags"
    )
    print(
        f"simulate: {per_patient * 1000:.2f} ms per patient, {per_year_ms:.3f} ms per patient-year"
    )
    print(f"throughput: {1 / per_patient * YEARS:.0f} simulated patient-years per CPU-second")
    return 0 if per_year_ms < 1.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
