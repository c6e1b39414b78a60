"""A scenario with a ``faults:`` section draws its fault streams from its seed."""

from __future__ import annotations

import pytest
from conftest import scenario_text

import pumpsim
from pumpsim.errors import ScenarioError

FAULTS = """
seed: {seed}
faults:
  catheter: {{rate_per_year: 2.0, kinds: {{occlusion: 1}}, repair_after: {{fixed: 3d}}}}
  motor_stall: {{rate_per_year: 0}}
  pump_fault: {{rate_per_year: 0}}
"""


def run(seed: int, faults: bool = True):
    extra = FAULTS.format(seed=seed) if faults else f"seed: {seed}\n"
    return pumpsim.simulate(pumpsim.load_scenario_text(scenario_text(duration="2y", extra=extra)))


def physical(result, name):
    return [e.t_h for e in result.run.physical_log if e.event == name]


def test_plain_scenario_stays_deterministic_and_fault_free():
    a, b = run(1, faults=False), run(2, faults=False)
    assert a.to_dict()["physical_log"] == b.to_dict()["physical_log"]
    assert [e["event"] for e in a.to_dict()["physical_log"]] == ["reservoir_empty"]


def test_faults_section_draws_from_the_seed():
    a, again, other = run(1), run(1), run(2)
    assert a.to_json() == again.to_json()
    faults = physical(a, "catheter_fault")
    assert faults and faults != physical(other, "catheter_fault")
    assert physical(a, "catheter_repair")[: len(faults)] == pytest.approx(
        [t + 72.0 for t in faults][: len(physical(a, "catheter_repair"))]
    )
    flags = [f for f in a.flags if f.type == "abrupt_discontinuation"]
    assert flags and flags[0].cause == "catheter" and not flags[0].alarmed


def test_bad_faults_section_is_one_line_with_its_path():
    text = scenario_text(extra="faults:\n  catheter: {modle: reinforced}\n")
    with pytest.raises(ScenarioError) as info:
        pumpsim.load_scenario_text(text, "s.yaml")
    message = str(info.value)
    assert message.startswith("s.yaml:") and "faults" in message and "modle" in message
    assert "\n" not in message
