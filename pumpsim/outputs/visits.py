"""What the clinic sees at a visit, read from a run's record: the residuals and the printed
alarm date.

These evaluate the visit expectations of contract section 7 (``residual_expected_ml``,
``residual_withdrawn_ml``, ``alarm_date``), which a clinic log's rows produce. Every figure comes
from the record (``pumpsim.model.record``): the refill found at the visit, the state then, and the
programmer's projection (``RunRecord.projected_alarm_h``).
"""

from __future__ import annotations

import math

from pumpsim.model.clock import Clock
from pumpsim.model.record import RunRecord
from pumpsim.outputs.outcome import Outcome
from pumpsim.scenario import schema
from pumpsim.scenario.clinic_log import EXPECTED_RESIDUAL_TOLERANCE_ML


def withdrawn_tolerance_ml(run: RunRecord, t_h: float) -> float:
    """The refill-discrepancy limit for the reservoir in place at ``t_h`` (1 mL / 2 mL)."""
    return run.setup.profile.discrepancy_threshold_ml(run.pump_after(t_h).reservoir_ml)


def evaluate_visit(exp: schema.Expectation, run: RunRecord, clock: Clock) -> Outcome:
    """Check one visit expectation (residuals, printed alarm date) against a run."""
    assert exp.at is not None
    target = exp.target
    where = f"{exp.source}: " if exp.source else ""
    when = clock.label(exp.at)
    if target == "alarm_date":
        assert exp.alarm_date is not None
        projected = run.projected_alarm_h(exp.at)
        got = clock.day(projected) if math.isfinite(projected) else "never"
        want = exp.alarm_date.isoformat()
        return Outcome(
            f"{where}low-reservoir alarm date printed at {when} is {want}",
            got == want,
            f"alarm date {want} (printed)",
            f"alarm date {got} (projected)",
        )
    rec = None if exp.after_events else run.refill_at(exp.at)
    if target == "residual_withdrawn_ml":
        want = float(exp.residual_withdrawn_ml or 0.0)
        tol = (
            exp.tolerance_value
            if exp.tolerance is not None
            else withdrawn_tolerance_ml(run, exp.at)
        )
        text = f"{where}residual withdrawn {want:g} mL at {when}"
        if rec is None:
            return Outcome(text, False, f"{want:g} ± {tol:g} mL", "no refill at this instant")
        got = float(rec.actual_residual_ml)
        return Outcome(
            text,
            abs(got - want) <= tol + 1e-9,
            f"{want:g} ± {tol:g} mL (recorded)",
            f"{got:.3f} mL (simulated true residual)",
        )
    want = float(exp.residual_expected_ml or 0.0)
    tol = float(exp.tolerance) if exp.tolerance is not None else EXPECTED_RESIDUAL_TOLERANCE_ML
    text = f"{where}residual expected {want:g} mL at {when}"
    got = float(rec.expected_residual_ml) if rec is not None else run.at(exp.at).estimated_ml
    return Outcome(
        text,
        abs(got - want) <= tol + 1e-9,
        f"{want:g} ± {tol:g} mL (recorded)",
        f"{got:.3f} mL (simulated pump estimate)",
    )
