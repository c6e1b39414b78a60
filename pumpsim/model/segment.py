"""The state between two events: one closed form, for one instant or for an array of them.

A ``Segment`` holds the state just after an event (the pump's estimate, the true volume, both
CSF levels, the running totals of drug programmed and delivered) and the flows in force until
the next event. Any instant before the next event follows in closed form: volumes fall by the
integral of an affine flow ``alpha*f(t) + beta`` of the programme's rate (never below zero), and
the CSF levels follow ``A' = input - k*A`` exactly (``pumpsim.model.schedule``).

This is the only place that formula lives: the engine advances its parts with ``Segment.step``,
``Trajectory.at`` and expectation probes read ``Segment.at``, and the notebook's sampler reads
``Segment.sample`` (numpy; imported only there), which computes the same expressions element by
element.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from typing import Any, NamedTuple

from pumpsim.model.flows import Flows
from pumpsim.model.schedule import Schedule
from pumpsim.model.units import HOURS_PER_DAY

#: Columns of ``Trajectory.sample`` (and of the notebook's frames), with meaning and unit.
SAMPLE_COLUMNS: dict[str, str] = {
    "t_h": "hours from the scenario start",
    "estimated_ml": "the pump's estimate of its reservoir (mL)",
    "true_ml": "what is truly in the reservoir (mL)",
    "gap_ml": "estimate minus truth (mL): the pump's blind spot",
    "programmed_ml_per_day": "flow the motor is told to move at that instant (mL/day)",
    "delivered_mcg_per_day": "drug reaching the intrathecal space at that instant (mcg/day)",
    "csf_expected": "CSF level the programme should give (relative index, mcg)",
    "csf_actual": "CSF level from the drug that truly arrives (relative index, mcg)",
    "csf_ratio": "actual / expected CSF level (the withdrawal detector's signal)",
}


def csf_ratio(expected: float, actual: float) -> float:
    """Actual/expected: 1 when neither is present (nothing is missing), inf when drug is present
    that nothing called for. The one definition: the detector, the trajectory, the notebook's
    arrays and expectations all read it."""
    if expected <= 0.0:
        return 1.0 if actual <= 0.0 else math.inf
    return actual / expected


class Step(NamedTuple):
    """What happens from a segment's start to an instant: the amounts and the levels there."""

    dt_h: float
    amount_f: float  # ∫ f dt over the step (mcg of programme)
    est_debit_ml: float  # taken off the estimate (never more than it held)
    left_ml: float  # truly left the reservoir (never more than it held)
    programmed_mcg: float  # the programme and requested boluses
    csf_expected: float
    csf_actual: float


class State(NamedTuple):
    """The state at one instant."""

    t_h: float
    estimated_ml: float
    true_ml: float
    csf_expected: float
    csf_actual: float
    csf_ratio: float
    programmed_mcg: float  # since t = 0
    delivered_intrathecal_mcg: float  # since t = 0


class Segment:
    """The state just after an event and the flows until the next one."""

    __slots__ = (
        "csf_actual",
        "csf_expected",
        "delivered_mcg",
        "est_ml",
        "flows",
        "k",
        "programmed_mcg",
        "schedule",
        "t_h",
        "true_ml",
    )

    def __init__(
        self,
        t_h: float,
        est_ml: float,
        true_ml: float,
        csf_expected: float,
        csf_actual: float,
        programmed_mcg: float,
        delivered_mcg: float,
        flows: Flows,
        schedule: Schedule,
        k: float,
    ) -> None:
        self.t_h = t_h
        self.est_ml = est_ml
        self.true_ml = true_ml
        self.csf_expected = csf_expected
        self.csf_actual = csf_actual
        self.programmed_mcg = programmed_mcg
        self.delivered_mcg = delivered_mcg
        self.flows = flows
        self.schedule = schedule
        self.k = k  # CSF elimination rate (1/h)

    def step(self, t_h: float) -> Step:
        """Every amount from the start to ``t_h`` (not before the start), in closed form."""
        fl = self.flows
        dt = t_h - self.t_h
        if dt <= 0.0:
            return Step(0.0, 0.0, 0.0, 0.0, 0.0, self.csf_expected, self.csf_actual)
        F = self.schedule.integral(self.t_h, t_h)
        est_debit = min(fl.est_debit.alpha * F + fl.est_debit.beta * dt, self.est_ml)
        left = min(fl.mech.alpha * F + fl.mech.beta * dt, self.true_ml)
        programmed = fl.expected.alpha * F + fl.expected.beta * dt
        expected, actual = self.schedule.levels_at(
            (self.csf_expected, self.csf_actual), self.t_h, t_h,
            ((fl.expected.alpha, fl.expected.beta), (fl.delivered.alpha, fl.delivered.beta)),
            self.k,
        )  # fmt: skip
        return Step(dt, F, est_debit, left, programmed, expected, actual)

    def at(self, t_h: float) -> State:
        """The state at ``t_h`` (from the start until the next event)."""
        s = self.step(t_h)
        fl = self.flows
        return State(
            t_h,
            self.est_ml - s.est_debit_ml,
            self.true_ml - s.left_ml,
            s.csf_expected,
            s.csf_actual,
            csf_ratio(s.csf_expected, s.csf_actual),
            self.programmed_mcg + s.programmed_mcg,
            self.delivered_mcg + s.left_ml * fl.tip_conc * fl.leak,
        )

    def rates(self) -> tuple[float, float]:
        """(mL/day the motor is told to move, mcg/day reaching the spinal fluid) at the start."""
        f_now = self.schedule.rate_at(self.t_h)
        motor, delivered = self.flows.motor, self.flows.delivered
        return (
            (motor.alpha * f_now + motor.beta) * HOURS_PER_DAY,
            (delivered.alpha * f_now + delivered.beta) * HOURS_PER_DAY,
        )

    def sample(self, t_h: Any) -> dict[str, Any]:
        """``at`` for a numpy array of instants in this segment: every ``SAMPLE_COLUMNS``
        column, the same expressions element by element."""
        import numpy as np

        fl, sched = self.flows, self.schedule
        dt = t_h - self.t_h
        F = sched.integral_array(self.t_h, t_h)
        f_now = sched.rate_array(t_h)
        est = self.est_ml - np.minimum(fl.est_debit.alpha * F + fl.est_debit.beta * dt, self.est_ml)
        true = self.true_ml - np.minimum(fl.mech.alpha * F + fl.mech.beta * dt, self.true_ml)
        exp_, act = sched.levels_array(
            (self.csf_expected, self.csf_actual), self.t_h, t_h,
            ((fl.expected.alpha, fl.expected.beta), (fl.delivered.alpha, fl.delivered.beta)),
            self.k,
        )  # fmt: skip
        positive = exp_ > 0
        ratio = np.where(
            positive, act / np.where(positive, exp_, 1.0), np.where(act <= 0, 1.0, math.inf)
        )
        return {
            "t_h": t_h,
            "estimated_ml": est,
            "true_ml": true,
            "gap_ml": est - true,
            "programmed_ml_per_day": (fl.motor.alpha * f_now + fl.motor.beta) * HOURS_PER_DAY,
            "delivered_mcg_per_day": (fl.delivered.alpha * f_now + fl.delivered.beta)
            * HOURS_PER_DAY,
            "csf_expected": exp_,
            "csf_actual": act,
            "csf_ratio": ratio,
        }

    def __repr__(self) -> str:
        return f"Segment(t_h={self.t_h!r}, est_ml={self.est_ml!r}, true_ml={self.true_ml!r})"


class Trajectory:
    """A run's segments in time order (one per instant at which something happened): the
    exact state at any instant, never re-simulated."""

    __slots__ = ("_starts", "segments")

    def __init__(self, segments: list[Segment]) -> None:
        self.segments = segments
        self._starts = [s.t_h for s in segments]

    def segment_at(self, t_h: float) -> Segment:
        """The segment in force at ``t_h`` (right-continuous: at an event, the state after it)."""
        i = max(0, bisect_right(self._starts, t_h) - 1)
        return self.segments[i]

    def at(self, t_h: Any) -> Any:
        """The state at ``t_h``: a ``State`` for one instant (hours), or for an array of
        instants a dict of arrays of the same shape (``SAMPLE_COLUMNS``)."""
        if isinstance(t_h, int | float):
            return self.segment_at(t_h).at(t_h)
        return self.sample(t_h)

    def sample(self, times: Any) -> dict[str, Any]:
        """Every ``SAMPLE_COLUMNS`` column at an array of instants (any shape), exactly."""
        import numpy as np

        t = np.asarray(times, dtype=float)
        shape = t.shape
        t = t.reshape(-1)
        which = np.clip(
            np.searchsorted(np.asarray(self._starts), t, side="right") - 1,
            0,
            len(self.segments) - 1,
        )
        out = {name: np.empty_like(t) for name in SAMPLE_COLUMNS}
        for i in np.unique(which):
            sel = which == i
            for name, values in self.segments[int(i)].sample(t[sel]).items():
                out[name][sel] = values
        return {name: values.reshape(shape) for name, values in out.items()}

    def series(self) -> dict[str, list[float]]:
        """One row per segment: the state at its start and the rates then in force."""
        cols: dict[str, list[float]] = {
            k: []
            for k in (
                "t_h",
                "estimated_ml",
                "true_ml",
                "programmed_ml_per_day",
                "delivered_mcg_per_day",
                "csf_expected",
                "csf_actual",
            )
        }
        for s in self.segments:
            motor, delivered = s.rates()
            cols["t_h"].append(s.t_h)
            cols["estimated_ml"].append(s.est_ml)
            cols["true_ml"].append(s.true_ml)
            cols["programmed_ml_per_day"].append(motor)
            cols["delivered_mcg_per_day"].append(delivered)
            cols["csf_expected"].append(s.csf_expected)
            cols["csf_actual"].append(s.csf_actual)
        return cols
