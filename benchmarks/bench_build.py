"""Cost of building scenarios from Python and of loading YAML (issue #9).

    PYTHONPATH=. python3 benchmarks/bench_build.py

Prints microseconds per call (median of repeats) for ``Scenario.from_dict``,
``scenario.with_values`` (one key, two keys, a concentration change that re-walks the
timeline), and ``load_scenario`` of a shipped scenario through libyaml and through the pure
loader. Timings on a shared machine are noisy: compare within one run.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

import yaml

import pumpsim
from pumpsim.scenario import yamlsafe
from pumpsim.scenario.checked import Scenario
from pumpsim.scenario.loader import parse_scenario

ROOT = Path(__file__).resolve().parent.parent


def per_call_us(fn: Callable[[], object], number: int = 2000, repeat: int = 5) -> float:
    """Median over ``repeat`` runs of the mean time per call, in microseconds."""
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - t0) / number * 1e6)
    return statistics.median(runs)


def main() -> None:
    path = ROOT / "scenarios" / "missed-refill.yaml"
    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    sc = pumpsim.load_scenario(str(path))
    rows = [
        (
            "Scenario.from_dict (missed-refill)",
            per_call_us(lambda: pumpsim.Scenario.from_dict(data), 500),
        ),
        ("with_values pump.accuracy", per_call_us(lambda: sc.with_values({"pump.accuracy": 0.1}))),
        (
            "with_values accuracy + dose",
            per_call_us(
                lambda: sc.with_values({"pump.accuracy": 0.1, "therapy.dose_mcg_per_day": 500})
            ),
        ),
        (
            "with_values patient.injury_level",
            per_call_us(lambda: sc.with_values({"patient.injury_level": "C5"})),
        ),
        (
            "with_values drug.concentration",
            per_call_us(lambda: sc.with_values({"drug.concentration_mcg_per_ml": 1000})),
        ),
        ("load_scenario (libyaml)", per_call_us(lambda: pumpsim.load_scenario(str(path)), 300)),
    ]
    if yamlsafe.libyaml_available():

        def pure() -> object:
            located = yamlsafe.load_yaml_text(text, str(path), fast=False)
            return parse_scenario(located, str(path), Scenario)

        rows.append(("load_scenario (pure Python YAML)", per_call_us(pure, 300)))
    for name, us in rows:
        print(f"{name:<40} {us:10.1f} us")


if __name__ == "__main__":
    main()
