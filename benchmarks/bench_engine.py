"""Speed benchmark: pumpsim against a naive per-minute SimPy loop, side by side in one run.

Run by hand on a quiet machine (not part of the test suite):

    python benchmarks/bench_engine.py            # every figure, full repetitions
    python benchmarks/bench_engine.py --quick    # fewer repetitions, no 50,000 patient-year sweep

Every figure is wall-clock time (users wait on the wall clock), a median of several runs:

1. ``pumpsim.simulate`` of the 13-step flex year (and a year with catheter faults, MRI scans and
   boluses) against a naive SimPy process stepping every simulated minute through the same model
   (programmed flow from the schedule, estimate and true volume, catheter faults, boluses,
   stalls, refills, the reservoir and motor-stall alarms, CSF levels); the script checks that
   both agree on every alarm time to within a minute. Target (issue 17): >= 5,000x on the flex
   year.
2. The fleet: ``pumpsim sweep`` of benchmarks/sweep-fleet.yaml with 10,000 patients x 5 years
   (50,000 patient-years) on ``--workers 2``, process start to exit, in patient-years per second
   against the naive loop's (one patient-year per naive flex year). Target: >= 8,000x.
3. Start-up: ``pumpsim run -q`` of a shipped scenario against a bare ``python -c pass``, paired
   run by run, with bytecode cached as on a user's machine. Target: <= 7x.

Results are recorded in docs/performance.md; bench_scaling.py checks that cost stays linear in
events.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import simpy

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import pumpsim  # noqa: E402
from pumpsim.scenario.profiles import load_device_profile  # noqa: E402
from pumpsim.scenario.resolve import setup_of  # noqa: E402

MINUTE_H = 1.0 / 60.0


def naive(scenario) -> dict[str, list[float]]:
    """The same model, stepped every simulated minute in SimPy. Returns alarm start times (h)."""
    prof = load_device_profile(scenario.pump.profile)
    setup = setup_of(scenario)
    sched = setup.programme.schedule(setup.start)
    conc = scenario.drug.concentration_mcg_per_ml
    k = math.log(2) / 1.5
    state = {
        "est": scenario.pump.reservoir_ml,
        "true": scenario.pump.reservoir_ml,
        "csf_exp": sched.steady_level(0.0, k),
        "csf_act": sched.steady_level(0.0, k),
        "stall_until": -1.0,
        "faults": [],  # (kind, fraction, start, end)
        "boluses": [],  # (mcg_per_h, start, end)
    }
    alarms: dict[str, list[float]] = {"low_reservoir": [], "empty_reservoir": [], "motor_stall": []}
    active: set[str] = set()
    events = sorted(scenario.events, key=lambda e: e.at)
    decay = math.exp(-k * MINUTE_H)
    env = simpy.Environment()

    def step_process():
        i = 0
        n = round(scenario.duration * 60)
        for minute in range(n):
            t = minute * MINUTE_H
            while i < len(events) and events[i].at <= t + 1e-9:
                ev = events[i]
                i += 1
                if ev.type == "refill" and not ev.missed:
                    state["est"] = state["true"] = ev.volume_ml
                elif ev.type == "mri":
                    state["stall_until"] = ev.at + ev.duration + ev.recovery_delay
                elif ev.type == "bolus":
                    state["boluses"].append((ev.dose_mcg / ev.duration, ev.at, ev.at + ev.duration))
                elif ev.type == "catheter_fault":
                    end = math.inf if ev.duration is None else ev.at + ev.duration
                    state["faults"].append((ev.kind, ev.fraction, ev.at, end))
                elif ev.type == "catheter_repair":
                    state["faults"] = []
            stalled = t < state["stall_until"]
            on = {
                "low_reservoir": state["est"] <= prof.low_reservoir_alarm_ml + 1e-9,
                "empty_reservoir": state["est"] <= prof.empty_reservoir_alarm_ml + 1e-9,
                "motor_stall": stalled,
            }
            for name, is_on in on.items():
                if is_on and name not in active:
                    active.add(name)
                    alarms[name].append(t)
                elif not is_on:
                    active.discard(name)
            bolus = sum(r for r, a, b in state["boluses"] if a <= t < b)
            expected_mcg_h = sched.rate_at(t) + bolus
            if stalled:
                ml = 0.0
            elif on["empty_reservoir"]:
                ml = prof.min_rate_ml_per_day / 24 * MINUTE_H
            else:
                ml = expected_mcg_h / conc * MINUTE_H
            state["est"] = max(0.0, state["est"] - ml)
            retained = 1.0
            leak = 1.0
            for kind, frac, a, b in state["faults"]:
                if a <= t < b:
                    if kind in ("occlusion", "kink"):
                        retained *= frac
                    else:
                        leak *= frac
            moved = min(state["true"], ml * (1 + scenario.pump.accuracy) * retained)
            state["true"] -= moved
            act_mcg_h = moved * conc * leak / MINUTE_H
            state["csf_exp"] = expected_mcg_h / k + (state["csf_exp"] - expected_mcg_h / k) * decay
            state["csf_act"] = act_mcg_h / k + (state["csf_act"] - act_mcg_h / k) * decay
            yield env.timeout(MINUTE_H)

    env.process(step_process())
    env.run()
    return alarms


def median_wall(fn, repeat: int) -> float:
    """Median wall time (s) of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _env() -> dict[str, str]:
    """This project first on the path, and bytecode written and read as on a user's machine
    (a sandbox that sets PYTHONDONTWRITEBYTECODE would measure compiling every module)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(HERE.parent) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def process_ratio(argv: list[str], repeat: int) -> tuple[float, float, float]:
    """(median wall s of ``argv``, median wall s of ``python -c pass``, median of the paired
    ratios), the two run in turn so that a change in the machine's speed hits both."""
    env = _env()
    subprocess.run(argv, check=True, capture_output=True, env=env)  # write the bytecode
    ours, floor, ratios = [], [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=env)
        a = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, capture_output=True, env=env)
        b = time.perf_counter() - t0
        ours.append(a)
        floor.append(b)
        ratios.append(a / b)
    return statistics.median(ours), statistics.median(floor), statistics.median(ratios)


def fleet_wall(patients: int, workers: int) -> float:
    """Wall time (s) of ``pumpsim sweep`` of the fleet benchmark, process start to exit."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pumpsim", "sweep", str(HERE / "sweep-fleet.yaml"),
               "--out", f"{tmp}/out", "--patients", str(patients), "--workers", str(workers),
               "-q"]  # fmt: skip
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, env=_env())
        return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeat = 300 if args.quick else 2000
    naive_repeat = 1 if args.quick else 3
    ok = True
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} cores, load average {load:.2f} at the start; wall-clock medians")
    head = f"{'scenario':<14} {'naive s':>8} {'pumpsim ms':>11} {'ratio':>8} {'events':>7}"
    print(head + "  alarms agree")
    naive_flex_s = math.nan
    for name in ("flex-year", "faults-year"):
        sc = pumpsim.load_scenario(str(HERE / f"{name}.yaml"))
        ref = naive(sc)
        t_naive = median_wall(lambda sc=sc: naive(sc), naive_repeat)
        result = pumpsim.simulate(sc)
        t_fast = median_wall(lambda sc=sc: pumpsim.simulate(sc), repeat)
        fast = {n: [a.start_h for a in result.alarms if a.type == n] for n in ref}
        agree = all(
            len(fast[n]) == len(ref[n])
            and all(abs(a - b) <= MINUTE_H + 1e-9 for a, b in zip(fast[n], ref[n], strict=True))
            for n in ref
        )
        ratio = t_naive / t_fast
        if name == "flex-year":
            naive_flex_s = t_naive
            ok &= ratio >= 5000
        ok &= agree
        print(
            f"{name:<14} {t_naive:>8.2f} {t_fast * 1000:>11.3f} {ratio:>8.0f} "
            f"{result.run.engine_events:>7}  {'yes' if agree else 'NO'}"
        )
        if not agree:
            print("   naive:  ", ref)
            print("   pumpsim:", fast)
    naive_rate = 1.0 / naive_flex_s  # patient-years per second, stepping every minute
    if not args.quick:
        patients, years = 10_000, 5.0
        wall = statistics.median(fleet_wall(patients, 2) for _ in range(3))
        rate = patients * years / wall
        ok &= rate / naive_rate >= 8000
        print(
            f"fleet sweep, {patients * years:,.0f} patient-years on 2 workers: {wall:.2f} s start "
            f"to exit = {rate:,.0f} patient-years/s = {rate / naive_rate:,.0f}x the naive loop"
        )
    shipped = str(HERE.parent / "scenarios" / "refill-on-time.yaml")
    run_s, floor_s, ratio = process_ratio(
        [sys.executable, "-m", "pumpsim", "run", "-q", shipped], 5 if args.quick else 15
    )
    ok &= ratio <= 7
    print(
        f"pumpsim run -q scenarios/refill-on-time.yaml: {run_s * 1000:.0f} ms, python -c pass: "
        f"{floor_s * 1000:.0f} ms: {ratio:.2f}x (median of paired runs)"
    )
    help_s, _, _ = process_ratio([sys.executable, "-m", "pumpsim", "--help"], 5)
    print(f"pumpsim --help: {help_s * 1000:.0f} ms")
    print("targets met" if ok else "TARGETS NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
