"""The recorded course of a run: one piece per engine event, exact at any instant in between."""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from pumpsim.model.flows import Flows
from pumpsim.model.parts.csf import CsfLevels
from pumpsim.model.schedule import Schedule
from pumpsim.model.units import HOURS_PER_DAY

SERIES_COLUMNS = (
    "t_h",
    "estimated_ml",
    "true_ml",
    "programmed_ml_per_day",
    "delivered_mcg_per_day",
    "csf_expected",
    "csf_actual",
)


class Piece:
    """The state just after an event and the flows until the next: enough to evaluate any
    instant in between in closed form (see ``Trajectory``)."""

    __slots__ = ("csf_actual", "csf_expected", "est_ml", "flows", "schedule", "t_h", "true_ml")

    def __init__(
        self,
        t_h: float,
        est_ml: float,
        true_ml: float,
        csf_expected: float,
        csf_actual: float,
        flows: Flows,
        schedule: Schedule,
    ) -> None:
        self.t_h = t_h
        self.est_ml = est_ml
        self.true_ml = true_ml
        self.csf_expected = csf_expected
        self.csf_actual = csf_actual
        self.flows = flows
        self.schedule = schedule

    def __repr__(self) -> str:
        return f"Piece(t_h={self.t_h!r}, est_ml={self.est_ml!r}, true_ml={self.true_ml!r})"


class Trajectory:
    """Exact values at any instant, from the pieces the engine recorded (no re-simulation)."""

    def __init__(self, pieces: list[Piece], k: float) -> None:
        self.pieces = pieces
        self.k = k
        self._starts = [p.t_h for p in pieces]

    def series(self) -> dict[str, list[float]]:
        """One row per engine event: the state just after it and the rates then in force."""
        cols: dict[str, list[float]] = {k: [] for k in SERIES_COLUMNS}
        for p in self.pieces:
            f_now = p.schedule.rate_at(p.t_h)
            motor, delivered = p.flows.motor, p.flows.delivered
            cols["t_h"].append(p.t_h)
            cols["estimated_ml"].append(p.est_ml)
            cols["true_ml"].append(p.true_ml)
            cols["programmed_ml_per_day"].append((motor.alpha * f_now + motor.beta) * HOURS_PER_DAY)
            cols["delivered_mcg_per_day"].append(
                (delivered.alpha * f_now + delivered.beta) * HOURS_PER_DAY
            )
            cols["csf_expected"].append(p.csf_expected)
            cols["csf_actual"].append(p.csf_actual)
        return cols

    def at(self, t_h: Any) -> dict[str, Any]:
        """Estimated and true volume, both CSF levels and their ratio at ``t_h``.

        ``t_h`` is one instant (hours; floats come back) or an array of instants (numpy arrays
        of the same shape come back, with every column of ``SAMPLE_COLUMNS``):
        exact either way, evaluated in closed form from the recorded pieces.
        """
        if not isinstance(t_h, int | float):
            from pumpsim.outputs.notebook import sample_trajectory

            return sample_trajectory(self, t_h)
        i = max(0, bisect_right(self._starts, t_h) - 1)
        p = self.pieces[i]
        fl = p.flows
        dt = t_h - p.t_h
        F = p.schedule.integral(p.t_h, t_h)
        est = max(0.0, p.est_ml - (fl.est_debit.alpha * F + fl.est_debit.beta * dt))
        true = max(0.0, p.true_ml - (fl.mech.alpha * F + fl.mech.beta * dt))
        sched = p.schedule
        exp_ = sched.level_at(
            p.csf_expected, p.t_h, t_h, fl.expected.alpha, fl.expected.beta, self.k
        )
        act = sched.level_at(
            p.csf_actual, p.t_h, t_h, fl.delivered.alpha, fl.delivered.beta, self.k
        )
        ratio = CsfLevels.ratio_of(exp_, act)
        return {
            "estimated_ml": est,
            "true_ml": true,
            "csf_expected": exp_,
            "csf_actual": act,
            "csf_ratio": ratio,
        }
