"""The quantities of the scenario contract: durations, instants, volumes, doses, fractions.

Durations are read with their unit and held in hours (see ``pumpsim.model.units``); an instant is a
duration from the start or a calendar date already placed on the scenario clock. Also the
``Strict`` base every scenario model derives from: unknown keys are errors, numbers are finite.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
)
from pydantic import Strict as Exact

from pumpsim.model.units import DurationError, format_duration_h, parse_duration_h
from pumpsim.scenario import grammar, limits
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


_DURATION_TEXT = "a duration with units: 90d, 36h, 15min, 45s, 2d6h30min or P90DT6H"
Duration = Annotated[
    float,
    BeforeValidator(read_duration_h),
    WithJsonSchema({"type": "string", "pattern": grammar.DURATION, "description": _DURATION_TEXT}),
]
"""A duration given with its unit in YAML, held in hours."""

PositiveDuration = Annotated[
    Duration,
    AfterValidator(_longer_than_zero),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": grammar.POSITIVE_DURATION,
            "description": _DURATION_TEXT + ", longer than zero",
        }
    ),
]
"""A duration that must be longer than zero (an interval, a span that divides)."""
InstantH = Annotated[
    float,
    BeforeValidator(read_duration_h),
    WithJsonSchema(
        {
            "type": "string",
            "anyOf": [{"pattern": grammar.DURATION}, {"pattern": grammar.CALENDAR_VALUE}],
            "description": (
                "an instant: a duration from the start (85d, 2d6h) or a calendar date or "
                "date-time on the clock of start: (2026-03-27, 2026-03-27T09:30, "
                "2026-03-27T09:30+01:00)"
            ),
        }
    ),
]
"""An instant on the scenario clock (a duration from the start, or a calendar date), in hours."""


def _integer(value: Any) -> Any:
    """An integer is written as a number (``5``, or ``5.0``), never as text or true/false."""
    if isinstance(value, bool | str):
        raise ValueError(f"{value!r} is not a whole number (numbers are written without quotes)")
    return value


# Numbers are numbers and true/false are booleans (contract section 5): ``'2000'`` in quotes,
# ``yes`` for a number or ``1`` for true are refused, as the published JSON Schema refuses them,
# never converted. ``Exact`` is pydantic's strict mode for one value (a float still takes 5).
Number = Annotated[float, Exact()]
"""A number (an integer is a number too); never text."""
Integer = Annotated[int, BeforeValidator(_integer)]
"""A whole number (``5`` or ``5.0``); never text or true/false."""
Boolean = Annotated[bool, Exact()]
"""``true`` or ``false`` (YAML's ``yes``/``no`` too); never a number or quoted text."""
Fraction = Annotated[float, Exact(), Field(ge=0.0, le=1.0)]
VolumeMl = Annotated[float, Exact(), Field(ge=0.0, le=limits.MAX_VOLUME_ML)]
PositiveVolumeMl = Annotated[float, Exact(), Field(gt=0.0, le=limits.MAX_VOLUME_ML)]
ConcentrationMcgPerMl = Annotated[
    float, Exact(), Field(gt=0.0, le=limits.MAX_CONCENTRATION_MCG_PER_ML)
]
DoseMcg = Annotated[float, Exact(), Field(ge=0.0, le=limits.MAX_DOSE_MCG)]
PositiveDoseMcg = Annotated[float, Exact(), Field(gt=0.0, le=limits.MAX_DOSE_MCG)]
DoseMcgPerHour = Annotated[float, Exact(), Field(ge=0.0, le=limits.MAX_DOSE_MCG_PER_HOUR)]


class Strict(BaseModel):
    """Base: unknown keys are errors, numbers are finite; models are immutable once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, allow_inf_nan=False)
