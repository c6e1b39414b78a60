"""The scenario contract as pydantic models (shared/scenario-format.md, sections 1, 2 and 5).

Every model is strict: an unknown key is an error. Durations are read with their unit and held
in hours (fields named after the YAML key hold hours; see ``pumpsim.units``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from pumpsim.scenario import limits
from pumpsim.scenario.dates import DEFAULT_START, Instant, InstantError, parse_start
from pumpsim.units import DurationError, format_duration_h, parse_duration_h

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CATHETER_FAULT_KINDS = ("occlusion", "kink", "disconnection", "fracture", "leak", "migration")
#: Faults whose undelivered share stays in the reservoir (the rest leave the intrathecal space).
RETAINING_FAULTS = ("occlusion", "kink")
PUMP_FAULT_KINDS = ("low_battery_reset", "critical_memory_error")
_LEVEL = re.compile(r"^(C[1-8]|T(?:[1-9]|1[0-2])|L[1-5]|S[1-5])$")


def _duration(value: Any) -> float:
    if isinstance(value, Instant):  # a calendar date, already placed on the scenario clock
        return float(value)
    try:
        hours = parse_duration_h(value)
    except DurationError as exc:
        raise ValueError(str(exc)) from None
    if not hours <= limits.MAX_DURATION_H:
        raise ValueError(
            f"{value!r} is longer than the {format_duration_h(limits.MAX_DURATION_H)} limit "
            "of any duration"
        )
    return hours


def _longer_than_zero(hours: float) -> float:
    if hours <= 0:
        raise ValueError("must be longer than zero")
    return hours


Duration = Annotated[
    float,
    BeforeValidator(_duration),
    WithJsonSchema(
        {
            "type": "string",
            "description": "a duration with units: 90d, 36h, 15min, 45s, 2d6h30min or P90DT6H",
        }
    ),
]
"""A duration given with its unit in YAML, held in hours."""

PositiveDuration = Annotated[float, BeforeValidator(_duration), AfterValidator(_longer_than_zero)]
"""A duration that must be longer than zero (an interval, a span that divides)."""
InstantH = Annotated[
    float,
    BeforeValidator(_duration),
    WithJsonSchema(
        {
            "type": "string",
            "description": (
                "an instant: a duration from the start (85d, 2d6h) or a calendar date or "
                "date-time on the clock of start: (2026-03-27, 2026-03-27T09:30, "
                "2026-03-27T09:30+01:00)"
            ),
        }
    ),
]
"""An instant on the scenario clock (a duration from the start, or a calendar date), in hours."""

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
VolumeMl = Annotated[float, Field(ge=0.0, le=limits.MAX_VOLUME_ML)]
PositiveVolumeMl = Annotated[float, Field(gt=0.0, le=limits.MAX_VOLUME_ML)]
ConcentrationMcgPerMl = Annotated[float, Field(gt=0.0, le=limits.MAX_CONCENTRATION_MCG_PER_ML)]
DoseMcg = Annotated[float, Field(ge=0.0, le=limits.MAX_DOSE_MCG)]
PositiveDoseMcg = Annotated[float, Field(gt=0.0, le=limits.MAX_DOSE_MCG)]
DoseMcgPerHour = Annotated[float, Field(ge=0.0, le=limits.MAX_DOSE_MCG_PER_HOUR)]


class Strict(BaseModel):
    """Base: unknown keys are errors, numbers are finite; models are immutable once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, allow_inf_nan=False)


def clock_to_h(text: str) -> float:
    """``"08:30"`` → 8.5 hours after midnight."""
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if not m:
        raise ValueError(f"time of day {text!r} must be HH:MM, e.g. '08:00'")
    hours, minutes = int(m.group(1)), int(m.group(2))
    if hours > 23 or minutes > 59:
        raise ValueError(f"time of day {text!r} is not between 00:00 and 23:59")
    return hours + minutes / 60.0


class FlexStep(Strict):
    """One step of a flex day: from ``at`` (HH:MM) until the next step, this hourly dose."""

    at: str
    dose_mcg_per_hour: DoseMcgPerHour

    @field_validator("at", mode="before")
    @classmethod
    def _clock(cls, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"time of day must be a quoted 'HH:MM' string, got {value!r}")
        clock_to_h(value)
        return value.strip()

    @property
    def at_h(self) -> float:
        """Hours after midnight."""
        return clock_to_h(self.at)


def _check_steps(steps: list[FlexStep]) -> None:
    if not steps:
        raise ValueError("a flex day needs at least one step")
    if steps[0].at_h != 0.0:
        raise ValueError(f"the first step must start at '00:00', not {steps[0].at!r}")
    for before, after in itertools.pairwise(steps):
        if after.at_h <= before.at_h:
            raise ValueError(f"step times must strictly increase: {before.at!r} then {after.at!r}")


class Ptm(Strict):
    """Patient therapy manager limits."""

    dose_mcg: PositiveDoseMcg
    lockout: Duration
    max_per_day: Annotated[int, Field(gt=0, le=limits.MAX_PTM_PER_DAY)]
    duration: PositiveDuration | None = None  # default: the profile's ptm_bolus_duration


class Therapy(Strict):
    """A programme: a continuous daily dose, or flex steps repeating daily (or per weekday)."""

    mode: Literal["continuous", "flex"] = "continuous"
    dose_mcg_per_day: DoseMcg | None = None
    steps: list[FlexStep] | None = None
    days: dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], list[FlexStep]] | None = (
        None
    )
    ptm: Ptm | None = None

    @model_validator(mode="after")
    def _shape(self) -> Therapy:
        if self.mode == "continuous":
            if self.dose_mcg_per_day is None:
                raise ValueError("continuous therapy needs dose_mcg_per_day")
            if self.steps is not None or self.days is not None:
                raise ValueError("steps and days belong to mode: flex")
        else:
            if self.dose_mcg_per_day is not None:
                raise ValueError(
                    "flex therapy takes steps (dose_mcg_per_hour), not dose_mcg_per_day"
                )
            if self.steps is None and (self.days is None or len(self.days) < 7):
                raise ValueError(
                    "flex therapy needs steps (every day), or days for all of mon..sun, "
                    "or both (days override steps for the weekdays they name)"
                )
            if self.steps is not None:
                _check_steps(self.steps)
            for day_steps in (self.days or {}).values():
                _check_steps(day_steps)
        return self

    def day_steps(self, weekday: str) -> list[FlexStep]:
        """The steps that apply on a weekday (``mon``..``sun``)."""
        if self.days and weekday in self.days:
            return self.days[weekday]
        assert self.steps is not None
        return self.steps

    @property
    def daily_dose_mcg(self) -> float:
        """The programme's dose per day (for weekly patterns: the mean over the week)."""
        if self.mode == "continuous":
            assert self.dose_mcg_per_day is not None
            return self.dose_mcg_per_day
        total = 0.0
        for weekday in WEEKDAYS:
            steps = self.day_steps(weekday)
            ends = [s.at_h for s in steps[1:]] + [24.0]
            total += sum(
                s.dose_mcg_per_hour * (e - s.at_h) for s, e in zip(steps, ends, strict=True)
            )
        return total / 7.0


class Battery(Strict):
    """Battery overrides. ``eri_at`` is a scenario instant (hours from t = 0)."""

    eri_at: InstantH | None = None
    eos_after_eri: PositiveDuration | None = None


class Pump(Strict):
    """The implanted pump at t = 0."""

    profile: str = "synchromed-ii"
    reservoir_ml: PositiveVolumeMl = 20.0
    initial_volume_ml: VolumeMl | None = None
    age: Duration = 0.0
    #: actual/programmed - 1, or ``fit``: fitted per refill interval to a clinic log (section 7)
    accuracy: Annotated[float, Field(gt=-1.0, le=10.0)] | Literal["fit"] = 0.0
    low_reservoir_alarm_ml: VolumeMl | None = None
    empty_reservoir_alarm_ml: VolumeMl | None = None
    min_rate_ml_per_day: VolumeMl | None = None
    critical_tone_interval: PositiveDuration | None = None
    battery: Battery = Battery()


class Drug(Strict):
    """The drug in the reservoir at t = 0."""

    name: Literal["baclofen"] = "baclofen"
    concentration_mcg_per_ml: ConcentrationMcgPerMl


class Catheter(Strict):
    """Dead volume between pump and tip (plug flow)."""

    volume_ml: VolumeMl = 0.0


class Patient(Strict):
    """Boxed-warning risk factors and whether therapy is at steady state at t = 0."""

    injury_level: str | None = None
    communication_difficulty: bool = False
    prior_withdrawal: bool = False
    established: bool = True

    @field_validator("injury_level", mode="before")
    @classmethod
    def _level(cls, value: Any) -> Any:
        if value is None:
            return None
        text = str(value).strip().upper().replace("-", "")
        if not _LEVEL.match(text):
            raise ValueError(
                f"injury level {value!r} is not a vertebral level C1-C8, T1-T12, L1-L5, S1-S5"
            )
        return text


class Risk(Strict):
    """Abrupt-discontinuation detector settings (contract section 4)."""

    csf_half_life: Duration | None = None  # default: the drug profile's half-life
    threshold: float = Field(0.5, gt=0.0, lt=1.0)
    max_daily_reduction: float = Field(0.3, gt=0.0, lt=1.0)

    @field_validator("csf_half_life")
    @classmethod
    def _positive(cls, value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise ValueError("csf_half_life must be longer than zero")
        return value


class _Event(Strict):
    at: InstantH


class RefillEvent(_Event):
    """A refill visit (contract 3.5)."""

    type: Literal["refill"]
    volume_ml: VolumeMl | None = None
    concentration_mcg_per_ml: ConcentrationMcgPerMl | None = None
    missed: bool = False
    pocket_fraction: Fraction = 0.0
    bridge_bolus: bool = False
    update_pump_concentration: bool = True
    therapy: Therapy | None = None
    #: the pump's accuracy from this visit on (a replacement of the mechanism's behaviour, e.g.
    #: fitted to a clinic log); default: unchanged
    accuracy: float | None = Field(None, gt=-1.0, le=10.0)

    @model_validator(mode="after")
    def _volume(self) -> RefillEvent:
        if self.volume_ml is None and not self.missed:
            raise ValueError("a refill needs volume_ml (or missed: true)")
        return self


class ReprogramEvent(_Event):
    """A new programme from this instant."""

    type: Literal["reprogram"]
    therapy: Therapy


class BolusEvent(_Event):
    """A clinician bolus on top of the programme."""

    type: Literal["bolus"]
    dose_mcg: PositiveDoseMcg
    duration: Duration

    @field_validator("duration")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("a bolus duration must be longer than zero")
        return value


class PtmBolusEvent(_Event):
    """A patient request through the patient therapy manager."""

    type: Literal["ptm_bolus"]


class CatheterFaultEvent(_Event):
    """A silent catheter fault (contract 3.3)."""

    type: Literal["catheter_fault"]
    kind: Literal["occlusion", "kink", "disconnection", "fracture", "leak", "migration"]
    delivered_fraction: Fraction | None = None
    duration: PositiveDuration | None = None

    @model_validator(mode="after")
    def _fraction(self) -> CatheterFaultEvent:
        if self.delivered_fraction is None and self.kind in ("kink", "leak"):
            raise ValueError(f"a {self.kind} needs delivered_fraction (0..1)")
        return self

    @property
    def fraction(self) -> float:
        """The share of pump output reaching the intrathecal space."""
        return 0.0 if self.delivered_fraction is None else self.delivered_fraction


class CatheterRepairEvent(_Event):
    """Ends every catheter fault."""

    type: Literal["catheter_repair"]


class MriEvent(_Event):
    """An MRI scan: the motor stalls for the scan and the recovery delay."""

    type: Literal["mri"]
    duration: PositiveDuration
    recovery_delay: Duration = 0.0


class MotorStallEvent(_Event):
    """The motor stops, for a while or for good."""

    type: Literal["motor_stall"]
    duration: PositiveDuration | None = None


class PumpFaultEvent(_Event):
    """An internal pump fault (contract 3.4)."""

    type: Literal["pump_fault"]
    kind: Literal["low_battery_reset", "critical_memory_error"]


class PumpReplacementEvent(_Event):
    """A new pump with a new battery, filled with the current drug."""

    type: Literal["pump_replacement"]
    reservoir_ml: PositiveVolumeMl | None = None  # default: same size as before
    volume_ml: VolumeMl
    accuracy: float = Field(0.0, gt=-1.0, le=10.0)


Event = Annotated[
    RefillEvent
    | ReprogramEvent
    | BolusEvent
    | PtmBolusEvent
    | CatheterFaultEvent
    | CatheterRepairEvent
    | MriEvent
    | MotorStallEvent
    | PumpFaultEvent
    | PumpReplacementEvent,
    Field(discriminator="type"),
]

EVENT_TYPES = (
    "refill",
    "reprogram",
    "bolus",
    "ptm_bolus",
    "catheter_fault",
    "catheter_repair",
    "mri",
    "motor_stall",
    "pump_fault",
    "pump_replacement",
)

AlarmName = Literal[
    "low_reservoir",
    "empty_reservoir",
    "motor_stall",
    "eri",
    "eos",
    "low_battery_reset",
    "critical_memory_error",
]
FlagName = Literal[
    "abrupt_discontinuation", "overdose_risk", "refill_discrepancy", "refill_due_after_empty"
]
VALUE_TARGETS = (
    "reservoir_estimated_ml",
    "reservoir_true_ml",
    "csf_ratio",
    "delivered_intrathecal_mcg",
    "programmed_mcg",
)
#: Clinic measurements at a visit (contract section 7): read from the refill (or the pump) at ``at``
VISIT_TARGETS = ("residual_expected_ml", "residual_withdrawn_ml", "alarm_date")


class Expectation(Strict):
    """One expectation (contract section 5). Exactly one target: alarm, flag or a value."""

    alarm: AlarmName | None = None
    flag: FlagName | None = None
    reservoir_estimated_ml: float | None = None
    reservoir_true_ml: float | None = None
    csf_ratio: float | None = None
    delivered_intrathecal_mcg: float | None = None
    programmed_mcg: float | None = None
    residual_expected_ml: float | None = None
    residual_withdrawn_ml: float | None = None
    alarm_date: date | None = None
    # filters (flags)
    cause: str | None = None
    alarmed: bool | None = None
    severity: Literal["high", "moderate"] | None = None
    # predicates
    first_at: InstantH | None = None
    first_within: tuple[InstantH, InstantH] | None = None
    never: bool | None = None
    count: int | None = Field(None, ge=0)
    duration: Duration | None = None
    at: InstantH | None = None
    tolerance: float | str | None = None
    #: where the expectation comes from (``patient.csv:4``), shown in its result line
    source: str | None = None

    @model_validator(mode="after")
    def _shape(self) -> Expectation:
        names = ("alarm", "flag", *VALUE_TARGETS, *VISIT_TARGETS)
        targets = [k for k in names if getattr(self, k) is not None]
        if len(targets) != 1:
            raise ValueError("an expectation names exactly one of " + ", ".join(names))
        target = targets[0]
        if target in VALUE_TARGETS or target in VISIT_TARGETS:
            if self.at is None:
                raise ValueError(f"{target} needs at: (the instant to read it)")
            if any(
                getattr(self, k) is not None
                for k in ("first_at", "first_within", "never", "count", "duration")
            ):
                raise ValueError(f"{target} takes at: and tolerance:, not alarm/flag predicates")
            if isinstance(self.tolerance, str):
                raise ValueError(f"the tolerance of {target} is a number in its unit")
            if target == "alarm_date" and self.tolerance is not None:
                raise ValueError("alarm_date is a calendar day: it takes no tolerance")
        else:
            preds = [
                k
                for k in ("first_at", "first_within", "never", "count", "duration")
                if getattr(self, k) is not None
            ]
            if len(preds) != 1:
                raise ValueError(
                    f"a {target} expectation takes exactly one of first_at, first_within, never, "
                    "count, duration"
                )
            if self.at is not None:
                raise ValueError("at: belongs to value expectations")
            if self.first_within is not None and self.first_within[0] > self.first_within[1]:
                raise ValueError("first_within: [earliest, latest] must be in order")
            if self.tolerance is not None and not isinstance(self.tolerance, str):
                raise ValueError("the tolerance of a time is a duration, e.g. '1min'")
            if self.tolerance is not None:
                _duration(self.tolerance)
        if self.alarm is not None and any(
            getattr(self, k) is not None for k in ("cause", "alarmed", "severity")
        ):
            raise ValueError("cause, alarmed and severity filter flags, not alarms")
        return self

    @property
    def target(self) -> str:
        """The name of the thing this expectation is about."""
        for key in ("alarm", "flag", *VALUE_TARGETS, *VISIT_TARGETS):
            if getattr(self, key) is not None:
                return key
        raise AssertionError("validated expectation without a target")

    @property
    def tolerance_h(self) -> float:
        """Time tolerance in hours (alarm/flag expectations); default one minute."""
        if isinstance(self.tolerance, str):
            return _duration(self.tolerance)
        return 1.0 / 60.0

    @property
    def tolerance_value(self) -> float:
        """Value tolerance in the target's own unit; default 1e-6."""
        return 1e-6 if self.tolerance is None else float(self.tolerance)


class Scenario(Strict):
    """A whole scenario file. Events keep file order; the engine sorts them by ``at``.

    Build one with ``pumpsim.load_scenario`` (YAML), ``Scenario.from_dict`` (a mapping shaped
    like the YAML) or ``scenario.with_values`` (a checked variant). These apply every check,
    device-profile limits included, and mark the result as checked; ``pumpsim.simulate``
    refuses a scenario without that mark (``Scenario.model_validate`` skips the device checks).
    """

    _checked: bool = PrivateAttr(default=False)

    name: Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]
    description: str = ""
    duration: Duration
    seed: int = Field(0, ge=0, lt=limits.SEED_LIMIT)
    start: datetime = DEFAULT_START
    hazard: list[str] = []
    #: a clinic log (CSV, relative to the scenario file) whose rows are appended to ``events``
    clinic_log: str | None = None
    pump: Pump = Pump()
    drug: Drug
    catheter: Catheter = Catheter()
    patient: Patient = Patient()
    therapy: Therapy
    risk: Risk = Risk()
    events: list[Event] = []
    expect: list[Expectation] = []
    #: Optional stochastic fault streams (contract section 8's ``faults:``), drawn from ``seed``.
    #: Without it a scenario is deterministic.
    faults: dict[str, Any] | None = None

    @field_validator("faults")
    @classmethod
    def _faults(cls, value: dict[str, Any] | None, info: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        from pumpsim.errors import format_path
        from pumpsim.profile import ProfileError, load_device_profile
        from pumpsim.sweep.faults import SettingsError, resolve_faults

        pump = info.data.get("pump")
        try:
            profile = load_device_profile(pump.profile if pump is not None else "synchromed-ii")
        except ProfileError:
            return value  # the unknown profile is reported by the profile check
        try:
            resolve_faults(value, profile)
        except SettingsError as exc:
            where = f"{format_path(exc.path)}: " if exc.path else ""
            raise ValueError(f"{where}{exc}") from None
        return value

    @field_validator("duration")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("duration must be longer than zero")
        return value

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, value: Any) -> Any:
        # A UTC offset is kept (never dropped): calendar instants with an offset convert to it.
        # The pump keeps wall-clock time, so flex steps follow the start's wall clock.
        try:
            return parse_start(value)
        except InstantError as exc:
            raise ValueError(str(exc)) from None

    def sorted_events(self) -> list[tuple[int, Any]]:
        """(file index, event) pairs in time order; ties keep file order."""
        return sorted(enumerate(self.events), key=lambda pair: (pair[1].at, pair[0]))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<dict>") -> Scenario:
        """A checked scenario from a mapping shaped like the YAML (durations as ``"90d"``...).

        Applies every check the YAML path applies, device-profile limits included. Raises
        ScenarioError naming ``source`` and the key path.
        """
        from pumpsim.scenario.build import scenario_from_dict

        return scenario_from_dict(data, source=source)

    def with_values(self, changes: Mapping[str, Any]) -> Scenario:
        """A checked variant with some keys replaced, e.g. ``{"pump.accuracy": 0.1}``.

        Keys are dotted key paths (``events[2].volume_ml`` for list items); values are given
        as in YAML. Only what changed, and what depends on it, is checked again. Raises
        ScenarioError naming the key path.
        """
        from pumpsim.scenario.build import with_values

        return with_values(self, changes)

    @property
    def checked(self) -> bool:
        """Whether every check passed (set by the checked constructors only)."""
        return self._checked

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Any:
        """A copy; with ``update`` (unchecked values) it loses the checked mark."""
        copy = super().model_copy(update=update, deep=deep)
        if update:
            copy._checked = False
        return copy
