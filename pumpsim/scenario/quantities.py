"""The quantities of the scenario contract: durations, instants, volumes, doses, fractions.

Durations are read with their unit and held in hours (see ``pumpsim.model.units``); an instant is a
duration from the start or a calendar date already placed on the scenario clock. Also the
``Strict`` base every scenario model derives from: unknown keys are errors, numbers are finite.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from pumpsim.model.units import DurationError, format_duration_h, parse_duration_h
from pumpsim.scenario import limits
from pumpsim.scenario.dates import Instant


def read_duration_h(value: Any) -> float:
    """A duration (with its unit) or an already placed instant, in hours; ValueError if not."""
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
    BeforeValidator(read_duration_h),
    WithJsonSchema(
        {
            "type": "string",
            "description": "a duration with units: 90d, 36h, 15min, 45s, 2d6h30min or P90DT6H",
        }
    ),
]
"""A duration given with its unit in YAML, held in hours."""

PositiveDuration = Annotated[Duration, AfterValidator(_longer_than_zero)]
"""A duration that must be longer than zero (an interval, a span that divides)."""
InstantH = Annotated[
    float,
    BeforeValidator(read_duration_h),
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
