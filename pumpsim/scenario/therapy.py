"""The therapy programme: a continuous daily dose, or flex steps repeating daily or per weekday.

Also the patient therapy manager's limits (``ptm:``) and times of day (``"HH:MM"``).
"""

from __future__ import annotations

import itertools
import re
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, WithJsonSchema, field_validator, model_validator

from pumpsim.scenario import grammar, limits
from pumpsim.scenario.quantities import (
    DoseMcg,
    DoseMcgPerHour,
    Duration,
    Integer,
    PositiveDoseMcg,
    PositiveDuration,
    Strict,
)
from pumpsim.scenario.schema_rules import therapy_rules

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def clock_to_h(text: str) -> float:
    """``"08:30"`` → 8.5 hours after midnight."""
    m = re.fullmatch(r"([0-9]{1,2}):([0-9]{2})", text.strip())
    if not m:
        raise ValueError(f"time of day {text!r} must be HH:MM, e.g. '08:00'")
    hours, minutes = int(m.group(1)), int(m.group(2))
    if hours > 23 or minutes > 59:
        raise ValueError(f"time of day {text!r} is not between 00:00 and 23:59")
    return hours + minutes / 60.0


class FlexStep(Strict):
    """One step of a flex day: from ``at`` (HH:MM) until the next step, this hourly dose."""

    at: Annotated[
        str,
        WithJsonSchema(
            {
                "type": "string",
                "pattern": grammar.CLOCK_TIME,
                "description": "a time of day, HH:MM (quoted: '08:00')",
            }
        ),
    ]
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
        """Hours after midnight. ``at`` was validated as ``HH:MM``, so no regex here: the
        schedule reads this for every step of every programme it builds. (Not cached: a
        variant from ``with_values`` copies the model, and a cache would go stale.)"""
        hours, _, minutes = self.at.partition(":")
        return int(hours) + int(minutes) / 60.0


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
    max_per_day: Annotated[Integer, Field(gt=0, le=limits.MAX_PTM_PER_DAY)]
    duration: PositiveDuration | None = None  # default: the profile's ptm_bolus_duration


class Therapy(Strict):
    """A programme: a continuous daily dose, or flex steps repeating daily (or per weekday)."""

    model_config = ConfigDict(json_schema_extra=therapy_rules)

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
        """The programme's dose per day (for weekly patterns: the mean over the week); the one
        definition, which the schedule and the reprogramming rule read."""
        if self.mode == "continuous":
            assert self.dose_mcg_per_day is not None
            return self.dose_mcg_per_day
        by_list: dict[int, float] = {}  # weekdays mostly share one step list: sum it once
        total = 0.0
        for weekday in WEEKDAYS:
            steps = self.day_steps(weekday)
            day = by_list.get(id(steps))
            if day is None:
                starts = [s.at_h for s in steps]
                ends = [*starts[1:], 24.0]
                day = sum(
                    s.dose_mcg_per_hour * (e - a)
                    for s, a, e in zip(steps, starts, ends, strict=True)
                )
                by_list[id(steps)] = day
            total += day
        return total / 7.0
