"""The resolved settings of one run: what the engine simulates, as plain data.

``pumpsim.scenario.resolve`` makes a ``Setup`` once from a checked scenario: every scenario value
over the device and drug profiles' defaults, durations in hours, the programme as step lists and
the events in time order. It is the only place a default is looked up; the model reads the Setup
and never the scenario, the profile files or pydantic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from pumpsim.model.profile import DeviceProfile, DrugProfile
from pumpsim.model.schedule import Schedule
from pumpsim.model.units import HOURS_PER_DAY

#: Catheter faults whose undelivered share stays in the reservoir (occlusion, kink hold the flow
#: back); the others send it elsewhere (contract 3.3).
RETAINING_FAULTS = frozenset(("occlusion", "kink"))


@dataclass(frozen=True, slots=True)
class PtmLimits:
    """The patient therapy manager's limits (durations in hours)."""

    dose_mcg: float
    lockout_h: float
    max_per_day: int
    duration_h: float  # how long one PTM bolus runs


class Programme:
    """A therapy programme: a continuous daily dose or flex steps, each weekday its own list.

    ``week`` holds seven (start hours, mcg/h) pairs, Monday first; a continuous programme is one
    step a day. The schedule (``f(t)`` on a run's clock) is built once per start and kept.
    """

    __slots__ = ("_schedules", "daily_dose_mcg", "mode", "ptm", "week")

    def __init__(
        self,
        mode: str,
        week: tuple[tuple[tuple[float, ...], tuple[float, ...]], ...],
        daily_dose_mcg: float,
        ptm: PtmLimits | None = None,
    ) -> None:
        self.mode = mode  # "continuous" | "flex"
        self.week = week
        self.daily_dose_mcg = daily_dose_mcg
        self.ptm = ptm
        self._schedules: dict[datetime, Schedule] = {}

    @classmethod
    def continuous(cls, dose_mcg_per_day: float, ptm: PtmLimits | None = None) -> Programme:
        """One rate all day, every day."""
        day = ((0.0,), (dose_mcg_per_day / HOURS_PER_DAY,))
        return cls("continuous", (day,) * 7, dose_mcg_per_day, ptm)

    def schedule(self, start: datetime) -> Schedule:
        """The programme as a periodic step function on the clock that starts at ``start``."""
        sched = self._schedules.get(start)
        if sched is None:
            sched = self._schedules[start] = Schedule.from_programme(self, start)
        return sched

    def __repr__(self) -> str:
        return f"Programme({self.mode!r}, {self.daily_dose_mcg:g} mcg/day)"


# -- events: what happens at an instant (hours from the start) -------------------------------------
# Events and the Setup are not changed once made (a variant is a new one: dataclasses.replace);
# they are plain slotted dataclasses, not frozen ones, because a sweep's clinic books tens of
# events per patient and a frozen dataclass is four times slower to make.
@dataclass(slots=True)
class Refill:
    """A refill visit (contract 3.5); ``missed``: the patient did not come."""

    type: ClassVar[str] = "refill"
    at_h: float
    volume_ml: float = 0.0
    concentration_mcg_per_ml: float | None = None  # None: unchanged
    missed: bool = False
    pocket_fraction: float = 0.0
    bridge_bolus: bool = False
    update_pump_concentration: bool = True
    programme: Programme | None = None  # a new programme set at the visit
    accuracy: float | None = None  # the pump's accuracy from this visit on (None: unchanged)


@dataclass(slots=True)
class Reprogram:
    """A new programme from this instant."""

    type: ClassVar[str] = "reprogram"
    at_h: float
    programme: Programme


@dataclass(slots=True)
class Bolus:
    """A clinician bolus on top of the programme."""

    type: ClassVar[str] = "bolus"
    at_h: float
    dose_mcg: float
    duration_h: float


@dataclass(slots=True)
class PtmBolus:
    """A patient's request through the therapy manager."""

    type: ClassVar[str] = "ptm_bolus"
    at_h: float


@dataclass(slots=True)
class CatheterFault:
    """A silent catheter fault (contract 3.3); ``duration_h`` None: until a repair."""

    type: ClassVar[str] = "catheter_fault"
    at_h: float
    kind: str
    delivered_fraction: float = 0.0
    duration_h: float | None = None


@dataclass(slots=True)
class CatheterRepair:
    """Ends every catheter fault."""

    type: ClassVar[str] = "catheter_repair"
    at_h: float


@dataclass(slots=True)
class Mri:
    """An MRI scan: the motor stalls for the scan and the recovery delay."""

    type: ClassVar[str] = "mri"
    at_h: float
    duration_h: float
    recovery_delay_h: float = 0.0


@dataclass(slots=True)
class MotorStall:
    """The motor stops, for ``duration_h`` or (None) for good."""

    type: ClassVar[str] = "motor_stall"
    at_h: float
    duration_h: float | None = None


@dataclass(slots=True)
class PumpFault:
    """An internal pump fault (contract 3.4): ``low_battery_reset`` or ``critical_memory_error``."""

    type: ClassVar[str] = "pump_fault"
    at_h: float
    kind: str


@dataclass(slots=True)
class PumpReplacement:
    """A new pump with a new battery, filled with the current drug."""

    type: ClassVar[str] = "pump_replacement"
    at_h: float
    volume_ml: float
    reservoir_ml: float | None = None  # None: the same size as before
    accuracy: float = 0.0


Event = (
    Refill
    | Reprogram
    | Bolus
    | PtmBolus
    | CatheterFault
    | CatheterRepair
    | Mri
    | MotorStall
    | PumpFault
    | PumpReplacement
)
#: Every event type, by its ``type`` name (the scenario's ``events[].type``).
EVENT_TYPES: tuple[str, ...] = tuple(cls.type for cls in Event.__args__)


@dataclass(slots=True)
class Setup:
    """Everything one run needs, resolved: hours, mL, mcg; no default left to look up."""

    duration_h: float
    start: datetime  # the wall-clock date-time of t = 0 (the pump's clock)
    profile: DeviceProfile
    drug: DrugProfile
    # the pump at t = 0
    reservoir_ml: float
    initial_volume_ml: float
    age_h: float  # time since implant at t = 0
    accuracy: float
    low_reservoir_alarm_ml: float
    empty_reservoir_alarm_ml: float
    min_rate_ml_per_h: float
    critical_tone_interval_h: float
    eri_at_h: float | None  # an explicit ERI instant, else the longevity model
    eos_after_eri_h: float
    # the drug, the catheter, the patient
    concentration_mcg_per_ml: float
    catheter_volume_ml: float
    established: bool  # at the programme's steady state at t = 0
    risk_factors: tuple[str, ...]
    severity: str  # of an abrupt-discontinuation flag for this patient
    # the detector (contract section 4)
    csf_half_life_h: float
    threshold: float
    max_daily_reduction: float
    # the programme at t = 0 and what happens, in time order (ties in file order)
    programme: Programme
    events: tuple[Event, ...] = ()
    #: remarks on the settings for the result (e.g. a pump beyond its accuracy specification)
    notes: tuple[str, ...] = ()

    def refill_times_h(self) -> list[float]:
        """The booked refill visits (missed or not), in time order."""
        return [ev.at_h for ev in self.events if ev.type == "refill"]


@dataclass(frozen=True, slots=True)
class Fill:
    """A moment the reservoir is filled: t = 0, a refill done, or a new pump.

    ``into_ml`` truly entered the reservoir (a pocket fill keeps some out); ``told_ml`` is what
    the pump was told it holds.
    """

    event_index: int | None  # in ``Setup.events``; None for the fill at t = 0
    at_h: float
    into_ml: float
    told_ml: float
    is_refill: bool


def fills(setup: Setup) -> list[Fill]:
    """Every fill of a run's own events, in time order, the one at t = 0 first."""
    v0 = setup.initial_volume_ml
    out = [Fill(None, 0.0, v0, v0, False)]
    for index, ev in enumerate(setup.events):
        if ev.type == "refill" and not ev.missed:
            out.append(Fill(index, ev.at_h, ev.volume_ml * (1.0 - ev.pocket_fraction),
                            ev.volume_ml, True))  # fmt: skip
        elif ev.type == "pump_replacement":
            out.append(Fill(index, ev.at_h, ev.volume_ml, ev.volume_ml, False))
    return out
