"""What the engine hands back: everything it observed, before it becomes a result document."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pumpsim.device.alarms import AlarmBook
from pumpsim.ledger import Totals
from pumpsim.profile import DeviceProfile
from pumpsim.safety.flags import FlagBook
from pumpsim.scenario import schema
from pumpsim.trajectory import Trajectory


@dataclass
class Snapshot:
    """The state at one instant (for expectations that read a value ``at`` a time)."""

    t_h: float
    reservoir_estimated_ml: float
    reservoir_true_ml: float
    csf_ratio: float | None
    delivered_intrathecal_mcg: float
    programmed_mcg: float


@dataclass
class RunOutput:
    """Everything the engine observed; ``pumpsim.result`` turns it into the result document."""

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
