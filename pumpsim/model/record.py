"""What the engine hands back: everything it observed, before it becomes a result document."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pumpsim.model.flags import FlagBook
from pumpsim.model.flows import Flows
from pumpsim.model.ledger import Totals
from pumpsim.model.parts.alarms import AlarmBook
from pumpsim.model.parts.csf import CsfLevels
from pumpsim.model.parts.reservoir import Reservoir
from pumpsim.model.profile import DeviceProfile
from pumpsim.model.schedule import Schedule
from pumpsim.model.segment import Trajectory
from pumpsim.scenario import schema


@dataclass
class Snapshot:
    """The state at one instant (for expectations that read a value ``at`` a time)."""

    t_h: float
    reservoir_estimated_ml: float
    reservoir_true_ml: float
    csf_ratio: float
    delivered_intrathecal_mcg: float
    programmed_mcg: float


def snapshot_at(
    at: float,
    t_h: float,
    t0_h: float,
    flows: Flows,
    schedule: Schedule,
    reservoir: Reservoir,
    totals: Totals,
    csf: CsfLevels,
) -> Snapshot:
    """The state at ``t_h`` (labelled ``at``), in closed form from the last event at ``t0_h``
    under ``flows``: the same sums the coordinator would make advancing to t_h, but nothing is
    advanced or recorded."""
    dt = t_h - t0_h
    est, true = reservoir.est_ml, reservoir.true_ml
    delivered, programmed = totals.delivered_intrathecal_mcg, totals.programmed_mcg
    expected, actual = csf.expected, csf.actual
    if dt > 0.0:
        fl = flows
        F = schedule.integral(t0_h, t_h)
        est -= min(fl.est_debit.alpha * F + fl.est_debit.beta * dt, est)
        left_ml = min(fl.mech.alpha * F + fl.mech.beta * dt, true)
        true -= left_ml
        delivered += left_ml * fl.tip_conc * fl.leak
        programmed += fl.expected.alpha * F + fl.expected.beta * dt
        expected, actual = schedule.levels_at(
            (expected, actual), t0_h, t_h,
            ((fl.expected.alpha, fl.expected.beta), (fl.delivered.alpha, fl.delivered.beta)),
            csf.k_per_h,
        )  # fmt: skip
    return Snapshot(at, est, true, CsfLevels.ratio_of(expected, actual), delivered, programmed)


@dataclass
class RunOutput:
    """Everything the engine observed; ``pumpsim.outputs.result`` makes the result document."""

    scenario: schema.Scenario
    profile: DeviceProfile
    alarms: AlarmBook
    flags: FlagBook
    refills: list[dict[str, Any]]
    totals: Totals
    pump_log: list[dict[str, Any]]
    physical_log: list[dict[str, Any]]
    trajectory: Trajectory
    snapshots: dict[float, Snapshot]
    final: dict[str, float]
    engine_events: int
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def series(self) -> dict[str, list[float]]:
        """Breakpoint columns, one row per engine event (derived from the trajectory)."""
        return self.trajectory.series()
