"""The scenario contract as pydantic models (shared/scenario-format.md, sections 1, 2 and 5).

Every model is strict: an unknown key is an error. Durations are read with their unit and held
in hours (fields named after the YAML key hold hours; see ``pumpsim.model.units``).

This module holds the ``ScenarioFile`` itself and what is implanted and known at t = 0 (pump,
battery, drug, catheter, patient, risk settings). The rest of the contract lives in modules named
after it and is re-exported here: ``quantities`` (durations, instants, volumes, doses, the
``Strict`` base), ``therapy`` (programmes and flex steps), ``events`` (the event models and their
union) and ``expect`` (expectations and their targets).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, PrivateAttr, WithJsonSchema, field_validator
from pydantic import Strict as Exact

from pumpsim.errors import format_path
from pumpsim.model.setup import EVENT_TYPES
from pumpsim.scenario import grammar, limits
from pumpsim.scenario.dates import DEFAULT_START, InstantError, parse_start, start_json_schema
from pumpsim.scenario.events import (
    CATHETER_FAULT_KINDS,
    PUMP_FAULT_KINDS,
    RETAINING_FAULTS,
    BolusEvent,
    CatheterFaultEvent,
    CatheterRepairEvent,
    Event,
    MotorStallEvent,
    MriEvent,
    PtmBolusEvent,
    PumpFaultEvent,
    PumpReplacementEvent,
    RefillEvent,
    ReprogramEvent,
)
from pumpsim.scenario.expect import (
    FAIL_ON_KINDS,
    VALUE_TARGETS,
    VISIT_TARGETS,
    AlarmName,
    Expectation,
    FailOn,
    FlagName,
)
from pumpsim.scenario.faults import SettingsError, resolve_faults
from pumpsim.scenario.profiles import ProfileError, load_device_profile
from pumpsim.scenario.quantities import (
    Boolean,
    ConcentrationMcgPerMl,
    DoseMcg,
    DoseMcgPerHour,
    Duration,
    Fraction,
    InstantH,
    Integer,
    Number,
    PositiveDoseMcg,
    PositiveDuration,
    PositiveVolumeMl,
    Strict,
    VolumeMl,
)
from pumpsim.scenario.therapy import WEEKDAYS, FlexStep, Ptm, Therapy, clock_to_h

__all__ = [
    "CATHETER_FAULT_KINDS",
    "EVENT_TYPES",
    "FAIL_ON_KINDS",
    "PUMP_FAULT_KINDS",
    "RETAINING_FAULTS",
    "VALUE_TARGETS",
    "VISIT_TARGETS",
    "WEEKDAYS",
    "AlarmName",
    "BatterySection",
    "BolusEvent",
    "CatheterFaultEvent",
    "CatheterRepairEvent",
    "CatheterSection",
    "ConcentrationMcgPerMl",
    "DoseMcg",
    "DoseMcgPerHour",
    "Drug",
    "Duration",
    "Event",
    "Expectation",
    "FlagName",
    "FlexStep",
    "Fraction",
    "InstantH",
    "MotorStallEvent",
    "MriEvent",
    "Patient",
    "PositiveDoseMcg",
    "PositiveDuration",
    "PositiveVolumeMl",
    "Ptm",
    "PtmBolusEvent",
    "Pump",
    "PumpFaultEvent",
    "PumpReplacementEvent",
    "RefillEvent",
    "ReprogramEvent",
    "Risk",
    "ScenarioFile",
    "Strict",
    "Therapy",
    "VolumeMl",
    "clock_to_h",
]

_LEVEL = re.compile(r"^(C[1-8]|T(?:[1-9]|1[0-2])|L[1-5]|S[1-5])$")


class BatterySection(Strict):
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
    accuracy: Annotated[float, Exact(), Field(gt=-1.0, le=10.0)] | Literal["fit"] = 0.0
    low_reservoir_alarm_ml: VolumeMl | None = None
    empty_reservoir_alarm_ml: VolumeMl | None = None
    min_rate_ml_per_day: VolumeMl | None = None
    critical_tone_interval: PositiveDuration | None = None
    battery: BatterySection = BatterySection()


class Drug(Strict):
    """The drug in the reservoir at t = 0."""

    name: Literal["baclofen"] = "baclofen"
    concentration_mcg_per_ml: ConcentrationMcgPerMl


class CatheterSection(Strict):
    """Dead volume between pump and tip (plug flow)."""

    volume_ml: VolumeMl = 0.0


class Patient(Strict):
    """Boxed-warning risk factors and whether therapy is at steady state at t = 0."""

    injury_level: Annotated[
        str | None,
        WithJsonSchema(
            {
                "anyOf": [{"type": "string", "pattern": grammar.INJURY_LEVEL}, {"type": "null"}],
                "description": "vertebral level of the spinal cord injury (C1-C8, T1-T12, "
                "L1-L5, S1-S5), or null",
            }
        ),
    ] = None
    communication_difficulty: Boolean = False
    prior_withdrawal: Boolean = False
    established: Boolean = True

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

    csf_half_life: PositiveDuration | None = None  # default: the drug profile's half-life
    threshold: Number = Field(0.5, gt=0.0, lt=1.0)
    max_daily_reduction: Number = Field(0.3, gt=0.0, lt=1.0)


class ScenarioFile(Strict):
    """A whole scenario file. Events keep file order; the engine sorts them by ``at``. Build one
    with ``pumpsim.load_scenario`` (YAML), ``Scenario.from_dict`` (a mapping shaped like the
    YAML) or ``scenario.with_values`` (a checked variant): these apply every check, device
    limits included."""

    # The schema alone; the scenario people build and run is pumpsim.scenario.checked.Scenario
    # (pumpsim.Scenario), this model plus the checked constructors. Validated on its own
    # (model_validate), a ScenarioFile has passed the schema only, not the device checks.
    model_config = ConfigDict(**Strict.model_config, title="Scenario")

    _checked: bool = PrivateAttr(default=False)
    #: the model's resolved settings, made once (``pumpsim.scenario.resolve.setup_of``)
    _setup: Any = PrivateAttr(default=None)

    name: Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]
    description: str = ""
    duration: PositiveDuration
    seed: Integer = Field(0, ge=0, lt=limits.SEED_LIMIT)
    start: Annotated[datetime, WithJsonSchema(start_json_schema())] = DEFAULT_START
    hazard: list[str] = []  # noqa: RUF012 (pydantic copies defaults; Strict is a BaseModel)
    #: a clinic log (CSV, relative to the scenario file) whose rows are appended to ``events``
    clinic_log: Annotated[
        str | None,
        WithJsonSchema({"anyOf": [{"type": "string", "pattern": r"\S"}, {"type": "null"}]}),
    ] = None
    pump: Pump = Pump()
    drug: Drug
    catheter: CatheterSection = CatheterSection()
    patient: Patient = Patient()
    therapy: Therapy
    risk: Risk = Risk()
    events: list[Event] = []  # noqa: RUF012 (pydantic copies defaults; Strict is a BaseModel)
    expect: list[Expectation] = []  # noqa: RUF012 (pydantic copies defaults; Strict is a BaseModel)
    #: strict mode (section 11): findings that fail the run like expectations
    fail_on: list[FailOn] = []  # noqa: RUF012 (pydantic copies defaults; Strict is a BaseModel)
    #: Optional stochastic fault streams (contract section 8's ``faults:``), drawn from ``seed``.
    #: Without it a scenario is deterministic.
    faults: dict[str, Any] | None = None

    @field_validator("faults")
    @classmethod
    def _faults(cls, value: dict[str, Any] | None, info: Any) -> dict[str, Any] | None:
        if value is None:
            return None
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

    @property
    def checked(self) -> bool:
        """Whether every check passed (set by the checked constructors only)."""
        return self._checked

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Any:
        """A copy; with ``update`` (unchecked values) it loses the checked mark."""
        copy = super().model_copy(update=update, deep=deep)
        if update:
            copy._checked = False
            copy._setup = None
        return copy


def scenario_json_schema() -> dict[str, Any]:
    """The published JSON Schema of a scenario file (``pumpsim schema scenario``).

    Generated from the models that validate, with the text forms of ``grammar`` and the
    cross-key rules of ``schema_rules``, so it accepts what ``pumpsim validate`` accepts wherever
    a JSON Schema can say it. What needs the device profile (a reservoir size, a rate limit), the
    scenario's own clock (an instant after the end) or arithmetic (steps in increasing order) is
    the tool's alone. Dates are text, as editors read YAML (YAML 1.1 timestamps as their ISO form,
    as check-jsonschema writes them). The tool reads YAML 1.1: an editor reading YAML 1.2 takes
    ``1e308`` for a number and ``yes`` for text, where the tool takes text and true.
    """
    doc = ScenarioFile.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$comment": "generated by pumpsim schema scenario from the models that validate",
        **doc,
    }
