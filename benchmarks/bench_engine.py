"""Speed benchmark: pumpsim's event-driven engine against a naive per-minute SimPy loop.

Run by hand (not part of the test suite):

    python benchmarks/bench_engine.py            # both scenarios, prints a table
    python benchmarks/bench_engine.py --quick    # fewer repetitions

For each benchmark scenario a naive SimPy process steps every simulated minute, applying the
same model (programmed flow from the schedule, estimate and true volume, catheter faults,
boluses, stalls, refills, low/empty-reservoir and motor-stall alarms, CSF levels), and records
alarm start times. pumpsim simulates the same scenario, in the same process, right after. The
script checks that both agree on every alarm time to within one minute and reports the speed
ratio. Targets (issue #9): ratio >= 3000 on the 13-step flex year; `pumpsim run` of a shipped
scenario, process start to exit, <= 200 ms median; `pumpsim --help` <= 100 ms median.
Results are recorded in docs/performance.md. See also bench_scaling.py (cost linear in events)
and bench_fleet.py (cost per simulated patient-year).
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
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


def best_of(fn, repeat: int) -> float:
    """Least CPU time of this process over ``repeat`` calls (CPU time, not wall time: the
    machine is shared, and both sides of the ratio are measured the same way)."""
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def process_time(args: list[str], repeat: int = 7) -> float:
    """Median wall time of ``python -m pumpsim ARGS``, process start to exit."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pumpsim", *args], check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeat = 5 if args.quick else 20
    ok = True
    head = f"{'scenario':<20} {'naive s':>9} {'pumpsim ms':>11} {'ratio':>8} {'events':>7}"
    print(head + "  alarms agree")
    for name in ("flex-year", "faults-year"):
        sc = pumpsim.load_scenario(str(HERE / f"{name}.yaml"))
        ref = naive(sc)
        t_naive = best_of(lambda sc=sc: naive(sc), 1 if args.quick else 2)
        result = pumpsim.simulate(sc)
        t_fast = best_of(lambda sc=sc: pumpsim.simulate(sc), repeat)
        fast = {n: [a.start_h for a in result.alarms if a.type == n] for n in ref}
        agree = all(
            len(fast[n]) == len(ref[n])
            and all(abs(a - b) <= MINUTE_H + 1e-9 for a, b in zip(fast[n], ref[n], strict=True))
            for n in ref
        )
        ratio = t_naive / t_fast
        ok &= agree and (ratio >= 3000 or name != "flex-year")
        print(
            f"{name:<20} {t_naive:>9.2f} {t_fast * 1000:>11.2f} {ratio:>8.0f} "
            f"{result.run.engine_events:>7}  {'yes' if agree else 'NO'}"
        )
        if not agree:
            print("   naive:  ", ref)
            print("   pumpsim:", fast)
    # fleet throughput: simulated patient-years per second on the flex year
    sc = pumpsim.load_scenario(str(HERE / "flex-year.yaml"))
    n = 200
    t0 = time.process_time()
    for _ in range(n):
        pumpsim.simulate(sc)
    per_s = n / (time.process_time() - t0)
    print(f"throughput: {per_s:.0f} simulated patient-years per CPU-second (flex-year)")
    shipped = str(HERE.parent / "scenarios" / "refill-on-time.yaml")
    run_s = process_time(["run", "-q", shipped])
    print(f"pumpsim run -q scenarios/refill-on-time.yaml: {run_s * 1000:.0f} ms (median of 7)")
    h = process_time(["--help"])
    print(f"pumpsim --help: {h * 1000:.0f} ms (median of 7)")
    ok &= h <= 0.1 and run_s <= 0.2
    print("targets met" if ok else "TARGETS NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
