"""The run's record: everything that happened, as typed objects, made once by the engine.

Every output reads this record and never works an event out again: the result document,
expectations, the visit table, the fitted replay, the report and its figure, the notebook's
frames and the sweep's patient rows. It holds

* the pump's own log and what physically happened (``LogEntry``, two lists);
* spans: alarms (``AlarmRecord``), flags (``Flag``), catheter faults (``FaultSpan``), the
  programme in force (``ProgrammeSpan``), the drug's and the pump's concentrations
  (``ConcentrationSpan``) and the pump in place (``PumpSpan``);
* refill visits (``RefillRecord``), missed or not;
* the trajectory: one ``Segment`` per instant at which something happened;
* the final totals and state.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Any

from pumpsim.model.flags import Flag
from pumpsim.model.ledger import Totals
from pumpsim.model.logbook import LogEntry
from pumpsim.model.parts.alarms import AlarmRecord
from pumpsim.model.parts.catheter import FaultSpan
from pumpsim.model.parts.detectors import project_alarm_h
from pumpsim.model.parts.firmware import ProgrammeSpan
from pumpsim.model.procedures.refill import RefillRecord
from pumpsim.model.segment import State, Trajectory
from pumpsim.model.setup import Setup


@dataclass(slots=True)
class ConcentrationSpan:
    """The drug's concentration in the reservoir and the one the pump computes with."""

    start_h: float
    reservoir_mcg_per_ml: float
    pump_mcg_per_ml: float
    end_h: float | None = None


@dataclass(slots=True)
class PumpSpan:
    """The pump in place: its reservoir size and its accuracy (actual/programmed - 1)."""

    start_h: float
    reservoir_ml: float
    accuracy: float
    end_h: float | None = None


@dataclass(slots=True)
class Final:
    """The state at the end of the run."""

    reservoir_estimated_ml: float
    reservoir_true_ml: float
    catheter_ml: float
    catheter_mcg: float
    reservoir_mcg: float

    def to_dict(self) -> dict[str, float]:
        """The result-document form."""
        return {
            "reservoir_estimated_ml": self.reservoir_estimated_ml,
            "reservoir_true_ml": self.reservoir_true_ml,
            "catheter_ml": self.catheter_ml,
            "catheter_mcg": self.catheter_mcg,
            "reservoir_mcg": self.reservoir_mcg,
        }


class CriticalAlarms:
    """When a critical alarm sounds, asked in logarithmic time: raise times are in order, and
    the running maximum of their clear times tells whether one raised before t still sounds."""

    __slots__ = ("_reach", "_starts")

    def __init__(self, alarms: list[AlarmRecord]) -> None:
        self._starts: list[float] = []
        self._reach: list[float] = []  # the latest clear time among the occurrences so far
        latest = -math.inf
        for rec in alarms:
            if rec.priority != "critical":
                continue
            latest = max(latest, math.inf if rec.end_h is None else rec.end_h)
            self._starts.append(rec.start_h)
            self._reach.append(latest)

    def first_at_or_after(self, t_h: float, until_h: float = math.inf) -> float | None:
        """The first instant in [t, until] at which one is sounding (None if none)."""
        starts, reach = self._starts, self._reach
        i = bisect_right(starts, t_h)
        if i > 0 and reach[i - 1] > t_h:
            return t_h
        j = bisect_left(starts, t_h)
        if j < len(starts) and starts[j] <= until_h:
            return starts[j]
        return None


def _last_at_or_before(spans: list[Any], t_h: float) -> Any:
    """The span in force just after the events at ``t_h`` (the last one started by then)."""
    starts = [s.start_h for s in spans]
    return spans[max(0, bisect_right(starts, t_h) - 1)]


@dataclass
class RunRecord:
    """What happened in one run (see the module's docstring)."""

    setup: Setup
    pump_log: list[LogEntry]
    physical_log: list[LogEntry]
    alarms: list[AlarmRecord]
    flags: list[Flag]
    catheter_faults: list[FaultSpan]
    programmes: list[ProgrammeSpan]
    concentrations: list[ConcentrationSpan]
    pumps: list[PumpSpan]
    refills: list[RefillRecord]
    trajectory: Trajectory
    totals: Totals
    final: Final
    engine_events: int
    _critical: CriticalAlarms | None = field(default=None, repr=False)

    # -- the state --------------------------------------------------------------------------
    def at(self, t_h: float) -> State:
        """The state at ``t_h`` (just after the events then), in closed form."""
        return self.trajectory.segment_at(t_h).at(t_h)

    def programme_after(self, t_h: float) -> ProgrammeSpan:
        """The programme in force just after the events at ``t_h``."""
        return _last_at_or_before(self.programmes, t_h)

    def concentration_after(self, t_h: float) -> ConcentrationSpan:
        """The concentrations just after the events at ``t_h``."""
        return _last_at_or_before(self.concentrations, t_h)

    def pump_after(self, t_h: float) -> PumpSpan:
        """The pump in place just after the events at ``t_h``."""
        return _last_at_or_before(self.pumps, t_h)

    # -- visits ---------------------------------------------------------------------------------
    def refill_at(self, t_h: float) -> RefillRecord | None:
        """The (first, not missed) refill at exactly ``t_h``, or None."""
        for rec in self.refills:
            if rec.at_h == t_h and not rec.missed:
                return rec
        return None

    def estimate_after(self, t_h: float) -> float:
        """The pump's estimate just after the events at ``t_h`` (a refill sets it exactly)."""
        rec = self.refill_at(t_h)
        if rec is not None and rec.volume_ml is not None:
            return rec.volume_ml
        return self.at(t_h).estimated_ml

    def projected_alarm_h(self, t_h: float, level_ml: float | None = None) -> float:
        """The programmer's projection at a visit at ``t_h``: when the estimate reaches the
        low-reservoir alarm (or ``level_ml``) under the programme then set (inf: never)."""
        level = self.setup.low_reservoir_alarm_ml if level_ml is None else level_ml
        return project_alarm_h(
            self.programme_after(t_h).schedule,
            t_h,
            self.estimate_after(t_h),
            level,
            self.concentration_after(t_h).pump_mcg_per_ml,
        )

    # -- alarms beside flags ----------------------------------------------------------------
    def first_critical_at_or_after(self, t_h: float, until_h: float = math.inf) -> float | None:
        """The first instant in [t, until] at which a critical alarm is sounding (None if none)."""
        if self._critical is None:
            self._critical = CriticalAlarms(self.alarms)
        return self._critical.first_at_or_after(t_h, until_h)

    def alarm_for(self, flag: Flag) -> str:
        """The alarm that goes with a flag: the one sounding when it was raised (critical
        first), else the first raised while it was open, else ``none``."""
        sounding = []
        later: tuple[float, str] | None = None
        stop = math.inf if flag.end_h is None else flag.end_h
        for rec in self.alarms:
            rec_end = math.inf if rec.end_h is None else rec.end_h
            if rec.start_h <= flag.start_h < rec_end:
                sounding.append((rec.priority != "critical", rec.start_h, rec.type))
            elif flag.start_h < rec.start_h <= stop and (later is None or rec.start_h < later[0]):
                later = (rec.start_h, rec.type)
        if sounding:
            return min(sounding)[2]
        return later[1] if later is not None else "none"
