"""The pump's firmware: the programme, boluses, PTM limits, the alarm rules and its event log.

Everything here is what the device knows and decides: it believes its reservoir estimate and
its programmed concentration, and raises or clears alarms from them, from the rotor's state,
the battery and its own fault flags.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pumpsim.model.logbook import Logbook
from pumpsim.model.parts.alarms import AlarmBook
from pumpsim.model.profile import ALARM_NAMES, DeviceProfile
from pumpsim.model.schedule import Schedule
from pumpsim.model.setup import Programme
from pumpsim.model.units import HOURS_PER_DAY

#: The alarms the firmware's rules raise and clear, in the order it checks them.
ALARM_RULES = ALARM_NAMES
#: Volumes within this of an alarm level count as at the level (rounding of closed forms).
_EPS_ML = 1e-9


@dataclass(slots=True)
class ProgrammeSpan:
    """The programme in force from ``start_h`` (``reason``: initial, refill or reprogram)."""

    start_h: float
    programme: Programme
    schedule: Schedule
    reason: str
    end_h: float | None = None


@dataclass(slots=True)
class ActiveBolus:
    """A bolus running (clinician or PTM) on top of the programme."""

    source: str
    dose_mcg: float
    mcg_per_h: float
    start_h: float
    end_h: float


class Firmware:
    """Programme, boluses, PTM grants, fault flags, alarms and the pump's log."""

    def __init__(
        self,
        profile: DeviceProfile,
        programme: Programme,
        start: datetime,
        alarms: AlarmBook,
        at: Callable[..., Any],
        logs: Logbook,
    ) -> None:
        self.profile = profile
        self.start = start  # wall-clock datetime of t = 0 (flex steps are clock times)
        self.alarms = alarms
        self._at = at
        self.logs = logs
        self.programme = programme
        self.schedule = programme.schedule(start)
        #: every programme in force, in order (the first since before t = 0)
        self.programmes = [ProgrammeSpan(-math.inf, programme, self.schedule, "initial")]
        self._since_h: list[float] = [-math.inf]
        self.boluses: list[ActiveBolus] = []
        self.ptm_last_h: float | None = None
        self.ptm_recent_h: deque[float] = deque()  # grants less than a day before the last check
        self.fault_flags: set[str] = set()
        self.bridge_active = False

    # -- programme ----------------------------------------------------------------------------
    def schedule_in_force(self, t_h: float) -> Schedule:
        """The programme (as a schedule) that was in force at ``t_h``."""
        i = bisect_right(self._since_h, t_h) - 1
        return self.programmes[max(i, 0)].schedule

    def program(self, t_h: float, programme: Programme, reason: str) -> None:
        """Replace the programme now (the caller checks the reduction rule first)."""
        schedule = programme.schedule(self.start)
        self.programme = programme
        self.schedule = schedule
        self.programmes[-1].end_h = t_h
        self.programmes.append(ProgrammeSpan(t_h, programme, schedule, reason))
        self._since_h.append(t_h)
        self.logs.device(
            t_h,
            "programme_change",
            reason=reason,
            mode=programme.mode,
            daily_dose_mcg=schedule.daily_dose_mcg,
        )

    # -- boluses ------------------------------------------------------------------------------
    def bolus_mcg_per_h(self) -> float:
        """Dose rate of the requested boluses on top of the programme."""
        return sum(b.mcg_per_h for b in self.boluses)

    def add_bolus(self, t_h: float, source: str, dose_mcg: float, duration_h: float) -> None:
        """Start a bolus of ``dose_mcg`` over ``duration_h``."""
        bolus = ActiveBolus(source, dose_mcg, dose_mcg / duration_h, t_h, t_h + duration_h)
        self.boluses.append(bolus)
        self.logs.device(t_h, f"{source}_bolus_started", dose_mcg=dose_mcg, duration_h=duration_h)
        self._at(bolus.end_h, self._end_bolus, bolus)

    def _end_bolus(self, t_h: float, bolus: ActiveBolus) -> None:
        if bolus in self.boluses:
            self.boluses.remove(bolus)
            self.logs.device(t_h, f"{bolus.source}_bolus_ended", dose_mcg=bolus.dose_mcg)

    def request_ptm(self, t_h: float, mode: str) -> None:
        """The patient asks for a PTM bolus: grant it or log why not."""
        ptm = self.programme.ptm
        recent = self.ptm_recent_h
        while recent and t_h - recent[0] >= HOURS_PER_DAY:
            recent.popleft()  # time only moves on: a grant a day old stays out of the window
        reason = None
        if ptm is None:
            reason = "no_ptm_programmed"
        elif mode != "normal":
            reason = "pump_not_delivering"
        elif self.ptm_last_h is not None and t_h - self.ptm_last_h < ptm.lockout_h:
            reason = "lockout"
        elif len(recent) >= ptm.max_per_day:
            reason = "daily_limit"
        if reason is not None:
            self.logs.device(t_h, "ptm_refused", reason=reason)
            return
        assert ptm is not None
        self.ptm_last_h = t_h
        recent.append(t_h)
        self.add_bolus(t_h, "ptm", ptm.dose_mcg, ptm.duration_h)

    # -- alarms -------------------------------------------------------------------------------
    def update_alarms(
        self,
        t_h: float,
        est_ml: float,
        low_ml: float,
        empty_ml: float,
        stalled: bool,
        eri: bool,
        eos: bool,
    ) -> list[str] | None:
        """Raise or clear every alarm from what the pump can see; the names just raised."""
        active = self.alarms.active
        faults = self.fault_flags
        # what the alarm rules see, in the order the alarms are listed
        seen = (
            est_ml <= low_ml + _EPS_ML,
            est_ml <= empty_ml + _EPS_ML,
            stalled,
            eri,
            eos,
            "low_battery_reset" in faults,
            "critical_memory_error" in faults,
        )
        if not active and True not in seen:
            return None  # the usual case: nothing sounds, nothing to raise
        raised = None
        for name, on in zip(ALARM_RULES, seen, strict=True):
            if on == (name in active):
                continue  # no change
            what = self.alarms.set(name, on, t_h)
            self.logs.device(
                t_h, f"alarm_{what}", alarm=name, priority=self.profile.alarms[name].priority
            )
            if what == "raised":
                raised = [name] if raised is None else [*raised, name]
        return raised

    def fault(self, t_h: float, kind: str) -> None:
        """A hardware fault sets a flag the alarm rules see (until the pump is replaced)."""
        self.fault_flags.add(kind)
        self.logs.world(t_h, "pump_fault", kind=kind)

    def check_bridge(self, t_h: float, catheter_holds_other: bool) -> None:
        """The bridge bolus ends once the catheter holds only the reservoir's drug."""
        if self.bridge_active and not catheter_holds_other:
            self.bridge_active = False
            self.logs.device(t_h, "bridge_bolus_complete")

    def replace(self, t_h: float) -> None:
        """A new pump starts silent: no faults, no boluses; alarms of the old one end here."""
        self.fault_flags.clear()
        self.boluses.clear()
        self.bridge_active = False
        for name in list(self.alarms.active):
            self.alarms.set(name, False, t_h)
            self.logs.device(
                t_h, "alarm_cleared", alarm=name, priority=self.profile.alarms[name].priority
            )
