"""What the clinic sees at a visit, read from a run: the residuals and the printed alarm date.

These evaluate the visit expectations of contract section 7 (``residual_expected_ml``,
``residual_withdrawn_ml``, ``alarm_date``), which a clinic log's rows produce, and supply the
replay's visit table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pumpsim.model.clock import Clock
from pumpsim.model.schedule import Schedule
from pumpsim.scenario import schema
from pumpsim.scenario.clinic_log import EXPECTED_RESIDUAL_TOLERANCE_ML
from pumpsim.scenario.profiles import load_device_profile

if TYPE_CHECKING:
    from pumpsim.model.engine import RunOutput

#: Two instants closer than this are the same visit (float noise of dates turned into hours).
SAME_INSTANT_H = 1e-9


@dataclass(frozen=True)
class PumpSetting:
    """What the pump is set to just after the events at one instant (the programmer's view)."""

    therapy: schema.Therapy
    pump_concentration_mcg_per_ml: float
    reservoir_ml: float


def setting_after(scenario: schema.Scenario, t_h: float) -> PumpSetting:
    """The programme, pump concentration and reservoir size after every event at or before t."""
    therapy = scenario.therapy
    conc = scenario.drug.concentration_mcg_per_ml
    reservoir_conc = conc
    size = scenario.pump.reservoir_ml
    for _, ev in scenario.sorted_events():
        if ev.at > t_h + SAME_INSTANT_H:
            break
        if isinstance(ev, schema.RefillEvent) and not ev.missed:
            if ev.concentration_mcg_per_ml:
                reservoir_conc = ev.concentration_mcg_per_ml
                if ev.update_pump_concentration:
                    conc = ev.concentration_mcg_per_ml
            if ev.therapy is not None:
                therapy = ev.therapy
        elif isinstance(ev, schema.ReprogramEvent):
            therapy = ev.therapy
        elif isinstance(ev, schema.PumpReplacementEvent):
            conc = reservoir_conc
            if ev.reservoir_ml is not None:
                size = ev.reservoir_ml
    return PumpSetting(therapy, conc, size)


def refill_at(run: RunOutput, t_h: float) -> dict[str, Any] | None:
    """The (first, not missed) refill record at an instant, or None."""
    for rec in run.refills:
        if abs(rec["at_h"] - t_h) <= SAME_INSTANT_H and not rec["missed"]:
            return rec
    return None


def estimate_after(run: RunOutput, t_h: float) -> float:
    """The pump's estimated reservoir just after the events at ``t_h``."""
    rec = refill_at(run, t_h)
    if rec is not None:
        return float(rec["volume_ml"])
    return float(run.trajectory.at(t_h)["estimated_ml"])


def low_reservoir_alarm_ml(scenario: schema.Scenario) -> float:
    """The low-reservoir alarm level (the scenario's, or the profile's)."""
    if scenario.pump.low_reservoir_alarm_ml is not None:
        return scenario.pump.low_reservoir_alarm_ml
    return load_device_profile(scenario.pump.profile).low_reservoir_alarm_ml


def projected_alarm_h(run: RunOutput, t_h: float) -> float:
    """The programmer's low-reservoir alarm projection at a visit, in hours (inf: never).

    From the estimate and the programme just set, as the programmer computes it: no boluses,
    stalls or PTM requests (it cannot know them).
    """
    sc = run.scenario
    setting = setting_after(sc, t_h)
    schedule = Schedule.from_therapy(setting.therapy, sc.start)
    to_go = estimate_after(run, t_h) - low_reservoir_alarm_ml(sc)
    return schedule.time_to_amount(t_h, 1.0 / setting.pump_concentration_mcg_per_ml, 0.0, to_go)


def withdrawn_tolerance_ml(scenario: schema.Scenario, t_h: float) -> float:
    """The refill-discrepancy limit for the reservoir in place at ``t_h`` (1 mL / 2 mL)."""
    profile = load_device_profile(scenario.pump.profile)
    return profile.discrepancy_threshold_ml(setting_after(scenario, t_h).reservoir_ml)


def evaluate_visit(exp: schema.Expectation, run: RunOutput, clock: Clock):
    """Check one visit expectation (residuals, printed alarm date) against a run."""
    from pumpsim.outputs.expectations import Outcome

    assert exp.at is not None
    target = exp.target
    where = f"{exp.source}: " if exp.source else ""
    when = clock.label(exp.at)
    if target == "alarm_date":
        assert exp.alarm_date is not None
        projected = projected_alarm_h(run, exp.at)
        got = clock.day(projected) if math.isfinite(projected) else "never"
        want = exp.alarm_date.isoformat()
        return Outcome(
            f"{where}low-reservoir alarm date printed at {when} is {want}",
            got == want,
            f"alarm date {want} (printed)",
            f"alarm date {got} (projected)",
        )
    rec = refill_at(run, exp.at)
    if target == "residual_withdrawn_ml":
        want = float(exp.residual_withdrawn_ml or 0.0)
        tol = (
            exp.tolerance_value
            if exp.tolerance is not None
            else withdrawn_tolerance_ml(run.scenario, exp.at)
        )
        text = f"{where}residual withdrawn {want:g} mL at {when}"
        if rec is None:
            return Outcome(text, False, f"{want:g} ± {tol:g} mL", "no refill at this instant")
        got = float(rec["actual_residual_ml"])
        return Outcome(
            text,
            abs(got - want) <= tol + 1e-9,
            f"{want:g} ± {tol:g} mL (recorded)",
            f"{got:.3f} mL (simulated true residual)",
        )
    want = float(exp.residual_expected_ml or 0.0)
    tol = float(exp.tolerance) if exp.tolerance is not None else EXPECTED_RESIDUAL_TOLERANCE_ML
    text = f"{where}residual expected {want:g} mL at {when}"
    if rec is not None:
        got = float(rec["expected_residual_ml"])
    else:
        got = float(run.trajectory.at(exp.at)["estimated_ml"])
    return Outcome(
        text,
        abs(got - want) <= tol + 1e-9,
        f"{want:g} ± {tol:g} mL (recorded)",
        f"{got:.3f} mL (simulated pump estimate)",
    )
