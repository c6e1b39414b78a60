"""The synthetic clinic: refill visits, alarm visits, repairs, and the fault streams it books.

One ``SyntheticClinic`` drives one patient through the engine's clinic hook (``start``,
``on_alarm``, ``on_event``; see ``pumpsim.model.engine.Desk``):

- Routine refills: each booked ``refill_every`` (a draw of at least one day) plus ``late_by``
  after the last routine visit, counted from t = 0 for the first. With ``missed_probability``
  the patient does not come (a missed refill is logged) and is booked again one interval later.
  A booked appointment is kept even when an alarm visit came first.
- Alarm visits: after a ``low_reservoir`` or ``empty_reservoir`` alarm the patient comes in for a
  refill after an ``alarm_visit_after`` draw, unless a routine visit is booked sooner; after
  ``eri``, ``eos``, ``motor_stall``, ``low_battery_reset`` or ``critical_memory_error`` the
  patient gets a new pump of the same accuracy (filled to ``refill_to``). ``never`` turns alarm
  visits off.
- Faults: a catheter fault is repaired ``repair_after`` its onset (it is silent: symptoms bring
  the patient in), and the revised catheter starts a new first year; motor stalls and pump
  faults are Poisson streams (memoryless: a new pump keeps the pending draw); each refill is a
  pocket fill with ``per_refill`` probability, refilled properly ``found_after`` it.

Every draw comes from the patient's own named stream (``pumpsim.studies.sweep.streams``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pumpsim.model.parts.detectors import project_alarm_h
from pumpsim.model.profile import DeviceProfile
from pumpsim.model.setup import (
    CatheterFault,
    CatheterRepair,
    MotorStall,
    PumpFault,
    PumpReplacement,
    Refill,
    Setup,
)
from pumpsim.model.units import HOURS_PER_DAY, DurationError, parse_duration_h
from pumpsim.scenario.distributions import Distribution, DistributionError, parse_distribution
from pumpsim.scenario.faults import FaultModel, SettingsError
from pumpsim.studies.sweep.streams import PatientStreams

#: A drawn duration below this, where an interval is meant, is drawn again (contract 8).
MIN_INTERVAL_H = HOURS_PER_DAY
RESERVOIR_ALARMS = ("low_reservoir", "empty_reservoir")
REPLACEMENT_ALARMS = ("eri", "eos", "motor_stall", "low_battery_reset", "critical_memory_error")
_KEYS = (
    "refill_every",
    "refill_to",
    "late_by",
    "missed_probability",
    "alarm_visit_after",
    "book_before_alarm",
)


@dataclass(frozen=True)
class ClinicPolicy:
    """Resolved ``clinic:`` settings of one grid point (durations in hours)."""

    refill_every: Distribution
    refill_to_ml: float | None  # None: full
    late_by: Distribution | None
    missed_probability: float
    alarm_visit_after: Distribution | None  # None: never
    book_before_alarm_h: float | None = None  # None: the drawn interval alone


def _dist(spec: Any, path: tuple[object, ...]) -> Distribution:
    if isinstance(spec, int | float) and not isinstance(spec, bool):
        raise SettingsError(
            f"bare number {spec!r} is not a duration: give a unit, e.g. '{spec}d', or a "
            "distribution",
            path,
        )
    if isinstance(spec, str):
        spec = {"fixed": spec}
    try:
        return parse_distribution(spec, duration=True)
    except DistributionError as exc:
        raise SettingsError(str(exc), (*path, *exc.path)) from None


def resolve_clinic(raw: Any, profile: DeviceProfile) -> ClinicPolicy:
    """Resolve a ``clinic:`` mapping against the profile's defaults. Raises SettingsError."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise SettingsError("clinic: is a mapping of " + ", ".join(_KEYS))
    for key in raw:
        if key not in _KEYS:
            raise SettingsError(f"unknown key {key!r}; clinic takes {', '.join(_KEYS)}", (key,))
    d = profile.fault_default
    refill_to = raw.get("refill_to", "full")
    if refill_to == "full":
        refill_to_ml = None
    elif isinstance(refill_to, int | float) and not isinstance(refill_to, bool) and refill_to > 0:
        refill_to_ml = float(refill_to)
    else:
        raise SettingsError(f"{refill_to!r}: refill_to is 'full' or a volume in mL", ("refill_to",))
    missed = raw.get("missed_probability", d("refill_missed_probability"))
    if isinstance(missed, bool) or not isinstance(missed, int | float) or not 0 <= missed <= 1:
        raise SettingsError(f"{missed!r} must be a probability (0..1)", ("missed_probability",))
    visit = raw.get("alarm_visit_after", d("alarm_visit_after"))
    late = raw.get("late_by", d("refill_late_by"))
    every = _dist(raw.get("refill_every", d("refill_every")), ("refill_every",))
    mean = every.mean()
    if mean is not None and mean < MIN_INTERVAL_H:
        raise SettingsError("refill_every must be at least 1d on average", ("refill_every",))
    return ClinicPolicy(
        refill_every=every,
        refill_to_ml=refill_to_ml,
        late_by=None if late in ("never", None, "0d") else _dist(late, ("late_by",)),
        missed_probability=float(missed),
        alarm_visit_after=None if visit == "never" else _dist(visit, ("alarm_visit_after",)),
        book_before_alarm_h=_margin(raw.get("book_before_alarm", "never")),
    )


def _margin(value: Any) -> float | None:
    if value == "never":
        return None
    try:
        return parse_duration_h(value)
    except DurationError as exc:
        raise SettingsError(f"{exc} (or 'never')", ("book_before_alarm",)) from None


class AlarmDate:
    """The programmer's projection at a visit: hours from a fill to the low-reservoir alarm under
    the programme at the start (``project_alarm_h``: no boluses, stalls or faults)."""

    __slots__ = ("_conc", "_level_ml", "_schedule")

    def __init__(self, setup: Setup) -> None:
        self._schedule = setup.programme.schedule(setup.start)
        self._level_ml = setup.low_reservoir_alarm_ml
        self._conc = setup.concentration_mcg_per_ml

    def __call__(self, fill_ml: float, at_h: float) -> float:
        return project_alarm_h(self._schedule, at_h, fill_ml, self._level_ml, self._conc) - at_h


@dataclass
class Tally:
    """What the clinic booked and saw for one patient (columns of the patients table)."""

    refills: int = 0
    missed_refills: int = 0
    alarm_visits: int = 0
    pump_replacements: int = 0
    catheter_faults: int = 0
    motor_stalls: int = 0
    pump_faults: int = 0
    pocket_fills: int = 0


class SyntheticClinic:
    """The clinic policy and the fault streams of one patient, driven by the engine's hook."""

    def __init__(
        self,
        policy: ClinicPolicy | None,
        faults: FaultModel | None,
        streams: PatientStreams,
        catheter_age_h: float,
        alarm_after_fill_h: Any = None,
        initial_ml: float | None = None,
        pump_accuracy: float = 0.0,
    ) -> None:
        self.policy = policy
        self.faults = faults
        self.streams = streams
        self.catheter_age_h = catheter_age_h
        #: (fill volume mL, visit h) -> hours until the programmer's low-reservoir alarm (for
        #: ``book_before_alarm``); None when the clinic does not book by the alarm date
        self.alarm_after_fill_h = alarm_after_fill_h
        self.initial_ml = initial_ml
        #: a new pump is of the same model and accuracy as the first (the patient's draw)
        self.pump_accuracy = pump_accuracy
        self.tally = Tally()
        self._routine: Any = None
        self._routine_at: float | None = None
        self._refill_visit_at: float | None = None
        self._replacement_at: float | None = None
        self._stall_pending = False
        self._pump_fault_pending = False
        self._redo: Any = None
        # the routine visit's streams, held once first asked for (a visit draws from each)
        self._routine_rngs: tuple[Any, Any, Any] | None = None

    # -- the engine's hook -------------------------------------------------------------------
    def start(self, desk: Any) -> None:
        """Book the first routine visit and the first fault of each stream."""
        if self.policy is not None:
            self._book_routine(desk, 0.0, fill_ml=self.initial_ml)
        if self.faults is not None:
            self._book_catheter_fault(desk, 0.0, self.catheter_age_h)
            self._book_stall(desk, 0.0)
            self._book_pump_fault(desk, 0.0)

    def on_alarm(self, desk: Any, alarm: str) -> None:
        """Reservoir alarms bring the patient in for a refill; pump alarms for a new pump."""
        policy = self.policy
        if policy is None or policy.alarm_visit_after is None:
            return
        now = desk.now_h
        if alarm in RESERVOIR_ALARMS:
            delay = policy.alarm_visit_after.draw(self.streams("alarm_visit_after"))
            at = now + delay
            if self._refill_visit_at is not None and self._refill_visit_at >= now:
                return  # already coming in
            if self._routine_at is not None and now <= self._routine_at <= at:
                return  # the booked appointment comes sooner
            self._refill_visit_at = at
            self.tally.alarm_visits += 1
            self._book_refill(desk, at)
        elif alarm in REPLACEMENT_ALARMS:
            delay = policy.alarm_visit_after.draw(self.streams("alarm_visit_after"))
            if self._replacement_at is not None and self._replacement_at >= now:
                return
            self._replacement_at = now + delay
            self.tally.alarm_visits += 1
            volume = self._fill_ml(desk)
            desk.book(
                now + delay,
                PumpReplacement(now + delay, volume, accuracy=self.pump_accuracy),
            )

    def on_event(self, desk: Any, event: Any) -> None:
        """Book what follows an applied event (the next visit, a repair, the next fault)."""
        kind = event.type
        now = desk.now_h
        tally = self.tally
        if kind == "refill":
            if event.missed:
                tally.missed_refills += 1
            else:
                tally.refills += 1
                if event.pocket_fraction > 0:
                    tally.pocket_fills += 1
                    assert self.faults is not None
                    found = self.faults.pocket_fill_found_after.draw(self.streams("pocket_fill"))
                    self._book_refill(desk, now + found)
            if event is self._routine:
                self._book_routine(desk, now, filled=not event.missed)
        elif kind == "pump_replacement":
            tally.pump_replacements += 1
            self._replacement_at = None
            if self.faults is not None:
                if not self._stall_pending:
                    self._book_stall(desk, now)
                if not self._pump_fault_pending:
                    self._book_pump_fault(desk, now)
        elif kind == "catheter_fault":
            tally.catheter_faults += 1
            assert self.faults is not None
            repair = self.faults.repair_after.draw(self.streams("catheter"))
            desk.book(now + repair, CatheterRepair(now + repair))
        elif kind == "catheter_repair":
            if self.faults is not None:
                self._book_catheter_fault(desk, now, 0.0)
        elif kind == "motor_stall":
            tally.motor_stalls += 1
            self._stall_pending = False
        elif kind == "pump_fault":
            tally.pump_faults += 1
            self._pump_fault_pending = False

    # -- booking -----------------------------------------------------------------------------
    def _fill_ml(self, desk: Any) -> float:
        assert self.policy is not None
        size = desk.reservoir_ml
        wanted = self.policy.refill_to_ml
        return size if wanted is None else min(wanted, size)

    def _book_routine(
        self, desk: Any, from_h: float, filled: bool = True, fill_ml: float | None = None
    ) -> None:
        policy = self.policy
        assert policy is not None
        rngs = self._routine_rngs
        if rngs is None:
            streams = self.streams
            rngs = self._routine_rngs = (
                streams("refill_every"),
                streams("late_by"),
                streams("missed"),
            )
        every_rng, late_rng, missed_rng = rngs
        interval = policy.refill_every.draw_interval(every_rng, MIN_INTERVAL_H)
        margin = policy.book_before_alarm_h
        if filled and margin is not None and self.alarm_after_fill_h is not None:
            # The visit is booked before the alarm date the programmer printed at this visit.
            volume = self._fill_ml(desk) if fill_ml is None else fill_ml
            latest = self.alarm_after_fill_h(volume, from_h) - margin
            interval = min(interval, max(latest, MIN_INTERVAL_H))
        at = from_h + interval
        if policy.late_by is not None:
            at += max(0.0, policy.late_by.draw(late_rng))
        missed = policy.missed_probability > 0 and (missed_rng.random() < policy.missed_probability)
        if missed:
            event = Refill(at, missed=True)
            self._routine_at = at
            self._routine = event
            desk.book(at, event)
            return
        self._routine = self._book_refill(desk, at)
        self._routine_at = at

    def _book_refill(self, desk: Any, at: float) -> Any:
        pocket = 0.0
        faults = self.faults
        if faults is not None and faults.pocket_fill_per_refill > 0:
            rng = self.streams("pocket_fill")
            if rng.random() < faults.pocket_fill_per_refill:
                pocket = min(1.0, max(0.0, faults.pocket_fill_fraction.draw(rng)))
        event = Refill(at, self._fill_ml(desk), pocket_fraction=pocket)
        desk.book(at, event)
        return event

    def _book_catheter_fault(self, desk: Any, now: float, age_h: float) -> None:
        faults = self.faults
        assert faults is not None
        rng = self.streams("catheter")
        dt = faults.next_catheter_fault_h(rng, age_h)
        if not math.isfinite(dt) or now + dt > desk.duration_h:
            return
        kind = faults.catheter_kinds.draw(rng)
        fraction = 0.0
        if kind in faults.delivered_fraction:
            fraction = min(1.0, max(0.0, float(faults.delivered_fraction[kind].draw(rng))))
        desk.book(now + dt, CatheterFault(now + dt, kind, fraction))

    def _book_stall(self, desk: Any, now: float) -> None:
        faults = self.faults
        assert faults is not None
        rate = faults.motor_stall_rate_per_h
        if rate <= 0:
            return
        at = now + self.streams("motor_stall").standard_exponential() / rate
        if at > desk.duration_h:
            return
        self._stall_pending = True
        desk.book(at, MotorStall(at))

    def _book_pump_fault(self, desk: Any, now: float) -> None:
        faults = self.faults
        assert faults is not None
        rate = faults.pump_fault_rate_per_h
        if rate <= 0:
            return
        rng = self.streams("pump_fault")
        at = now + rng.standard_exponential() / rate
        kind = faults.pump_fault_kinds.draw(rng)
        if at > desk.duration_h:
            return
        self._pump_fault_pending = True
        desk.book(at, PumpFault(at, kind))


def fault_streams(faults: FaultModel, setup: Setup, seed: int) -> SyntheticClinic:
    """The fault streams of a scenario's ``faults:`` section, drawn from its seed.

    Catheter faults, motor stalls and pump faults are booked as events; a catheter fault is
    repaired after ``repair_after``. No clinic visits are added (the scenario has its own).
    """
    return SyntheticClinic(None, faults, PatientStreams(seed, 0), setup.age_h)
