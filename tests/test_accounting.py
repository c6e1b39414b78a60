"""Every microgram is somewhere: a property test over random timelines (issue #4)."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pumpsim
from pumpsim.model.engine import Engine
from pumpsim.scenario.checked import Scenario
from pumpsim.scenario.resolve import setup_of
from pumpsim.scenario.schema import EVENT_TYPES

EVENT_KINDS = list(EVENT_TYPES)  # every event type of the contract


@st.composite
def timelines(draw):
    duration_d = draw(st.integers(20, 200))
    events = []
    for _ in range(draw(st.integers(0, 12))):
        at = f"{draw(st.integers(0, duration_d * 24))}h"
        kind = draw(st.sampled_from(EVENT_KINDS))
        if kind == "refill":
            ev = {
                "at": at,
                "type": "refill",
                "volume_ml": draw(st.floats(0, 20)),
                "concentration_mcg_per_ml": draw(st.sampled_from([500, 1000, 2000])),
                "pocket_fraction": draw(st.sampled_from([0.0, 0.0, 0.3])),
                "bridge_bolus": draw(st.booleans()),
                "update_pump_concentration": draw(st.booleans()),
                "missed": draw(st.booleans()),
            }
        elif kind == "bolus":
            ev = {
                "at": at,
                "type": "bolus",
                "dose_mcg": draw(st.floats(1, 200)),
                "duration": f"{draw(st.integers(1, 600))}min",
            }
        elif kind == "catheter_fault":
            ev = {
                "at": at,
                "type": "catheter_fault",
                "kind": draw(
                    st.sampled_from(
                        ["occlusion", "kink", "disconnection", "fracture", "leak", "migration"]
                    )
                ),
                "delivered_fraction": draw(st.floats(0, 1)),
            }
            if draw(st.booleans()):
                ev["duration"] = f"{draw(st.integers(1, 300))}h"
        elif kind == "mri":
            ev = {
                "at": at,
                "type": "mri",
                "duration": "1h",
                "recovery_delay": f"{draw(st.integers(0, 24))}h",
            }
        elif kind == "motor_stall":
            ev = {"at": at, "type": "motor_stall"}
            if draw(st.booleans()):
                ev["duration"] = f"{draw(st.integers(1, 100))}h"
        elif kind == "pump_fault":
            ev = {
                "at": at,
                "type": "pump_fault",
                "kind": draw(st.sampled_from(["low_battery_reset", "critical_memory_error"])),
            }
        elif kind == "pump_replacement":
            ev = {
                "at": at,
                "type": "pump_replacement",
                "volume_ml": draw(st.floats(0, 20)),
                "accuracy": draw(st.floats(-0.2, 0.3)),
            }
        elif kind == "reprogram":
            ev = {
                "at": at,
                "type": "reprogram",
                "therapy": {"dose_mcg_per_day": draw(st.floats(100, 900))},
            }
        else:
            ev = {"at": at, "type": kind}
        events.append(ev)
    flex = draw(st.booleans())
    therapy = (
        {
            "mode": "flex",
            "steps": [
                {"at": "00:00", "dose_mcg_per_hour": draw(st.floats(5, 30))},
                {"at": "09:30", "dose_mcg_per_hour": draw(st.floats(5, 30))},
            ],
            "ptm": {"dose_mcg": 40, "lockout": "2h", "max_per_day": 4},
        }
        if flex
        else {
            "dose_mcg_per_day": draw(st.floats(100, 900)),
            "ptm": {"dose_mcg": 40, "lockout": "2h", "max_per_day": 4},
        }
    )
    return {
        "name": "prop",
        "duration": f"{duration_d}d",
        "pump": {
            "reservoir_ml": 20,
            "accuracy": draw(st.floats(-0.3, 0.5)),
            "initial_volume_ml": draw(st.floats(0, 20)),
        },
        "drug": {"concentration_mcg_per_ml": draw(st.sampled_from([500, 2000]))},
        "catheter": {"volume_ml": draw(st.sampled_from([0.0, 0.05, 0.3]))},
        "patient": {"established": draw(st.booleans())},
        "therapy": therapy,
        "events": events,
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(timelines())
def test_every_ml_and_mcg_is_accounted_for(raw):
    scenario = Scenario.model_validate(raw)
    engine = Engine(setup_of(scenario))
    out = engine.run()
    tot = out.totals
    final = out.final
    held_ml = final.reservoir_true_ml + final.catheter_ml
    spent_ml = (
        tot.delivered_intrathecal_ml + tot.delivered_elsewhere_ml + tot.pocket_ml + tot.withdrawn_ml
    )
    assert tot.injected_ml == pytest.approx(held_ml + spent_ml, abs=1e-9)
    held_mcg = final.reservoir_mcg + final.catheter_mcg
    spent_mcg = (
        tot.delivered_intrathecal_mcg
        + tot.delivered_elsewhere_mcg
        + tot.pocket_mcg
        + tot.withdrawn_mcg
    )
    assert tot.injected_mcg == pytest.approx(held_mcg + spent_mcg, rel=1e-12, abs=1e-6)
    assert min(out.trajectory.series()["true_ml"]) >= 0.0
    assert min(out.trajectory.series()["estimated_ml"]) >= 0.0
    assert final.catheter_ml == pytest.approx(scenario.catheter.volume_ml, abs=1e-9)
    # the estimate is debited exactly by what the pump was programmed to move (floored at zero)
    refilled_est = sum(
        (e.volume_ml or 0.0) for e in scenario.events if e.type == "refill" and not e.missed
    ) + sum(e.volume_ml for e in scenario.events if e.type == "pump_replacement")
    assert tot.estimate_debited_ml <= tot.pumped_programmed_ml + 1e-9
    assert math.isfinite(tot.programmed_mcg)
    # estimate bookkeeping: start + refills - debits - what refills/replacements reset away
    assert (
        final.reservoir_estimated_ml
        <= (scenario.pump.initial_volume_ml or 20.0) + refilled_est + 1e-9
    )


def test_estimate_debited_exactly_by_programme():
    # no floor, no resets: estimate = start - programmed volume, with boluses, stalls and min rate
    text = """
name: t
duration: 120d
drug: {concentration_mcg_per_ml: 2000}
therapy: {dose_mcg_per_day: 400}
pump: {accuracy: 0.3}
events:
  - {at: 3d, type: bolus, dose_mcg: 200, duration: 1h}
  - {at: 5d, type: mri, duration: 2h, recovery_delay: 10h}
"""
    r = pumpsim.simulate(pumpsim.load_scenario_text(text))
    tot = r.run.totals
    assert r.run.final.reservoir_estimated_ml == pytest.approx(
        20.0 - tot.pumped_programmed_ml, abs=1e-12
    )
    assert tot.left_reservoir_ml == pytest.approx(20.0)  # over-infusion emptied the truth first
