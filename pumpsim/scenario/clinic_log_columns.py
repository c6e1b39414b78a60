"""The clinic-log columns (contract section 7): what each column holds, which rows fill it, and
how its cells are read.

Also where a row came from (``RowOrigin``, for errors naming file, line and column) and the JSON
Schema of one row (``pumpsim schema clinic-log``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from pumpsim.errors import ScenarioError
from pumpsim.model.clock import Clock
from pumpsim.model.units import DurationError, parse_duration_h
from pumpsim.scenario import grammar
from pumpsim.scenario.dates import InstantError, calendar_value, check_in_range
from pumpsim.scenario.dates import hours_on_clock as _hours_on_clock

EVENT_KINDS = (
    "refill",
    "missed_refill",
    "reprogram",
    "bolus",
    "catheter_fault",
    "catheter_repair",
    "mri",
    "motor_stall",
    "pump_replacement",
    "note",
)

#: Column → what it holds (published by ``pumpsim schema clinic-log``).
COLUMNS: dict[str, str] = {
    "date": "ISO date or date-time of the visit (required); a date alone is 00:00 on the clock "
    "of start:",
    "event": "what happened (required): " + ", ".join(EVENT_KINDS),
    "residual_expected_ml": "the programmer's expected residual (the pump's estimate), mL",
    "residual_withdrawn_ml": "the residual actually withdrawn with the syringe, mL",
    "volume_injected_ml": "volume injected into the reservoir (refill, pump_replacement), mL",
    "concentration_mcg_per_ml": "concentration of the drug injected, mcg/mL",
    "bridge_bolus": "yes/no: a bridge bolus at a concentration change",
    "pocket_fraction": "share of the injected volume that went into the pocket, 0..1",
    "dose_mcg_per_day": "the continuous programme set at this visit, mcg/day",
    "mode": "continuous or flex: the programme set at this visit",
    "flex_steps": "the flex programme set at this visit: HH:MM=mcg/h;HH:MM=mcg/h "
    "(e.g. 00:00=10;08:00=30)",
    "alarm_date": "the low-reservoir alarm date the programmer printed at this visit (ISO date)",
    "dose_mcg": "bolus dose, mcg",
    "duration": "duration with units (bolus, catheter_fault, mri, motor_stall), e.g. 2h",
    "kind": "catheter_fault kind (occlusion, kink, disconnection, fracture, leak, migration)",
    "delivered_fraction": "share of the pump's output reaching the intrathecal space, 0..1",
    "recovery_delay": "MRI recovery delay with units, e.g. 20min",
    "reservoir_ml": "reservoir size of a new pump (pump_replacement), mL",
    "note": "free text, never parsed",
}

NUMBER_COLUMNS = (
    "residual_expected_ml",
    "residual_withdrawn_ml",
    "volume_injected_ml",
    "concentration_mcg_per_ml",
    "pocket_fraction",
    "dose_mcg_per_day",
    "dose_mcg",
    "delivered_fraction",
    "reservoir_ml",
)
_DURATION_COLUMNS = ("duration", "recovery_delay")
PROGRAMME_COLUMNS = ("dose_mcg_per_day", "mode", "flex_steps")
MEASURED_COLUMNS = ("residual_expected_ml", "residual_withdrawn_ml", "alarm_date")

#: Which columns each kind of row may fill (besides date, event and note).
ALLOWED_COLUMNS: dict[str, tuple[str, ...]] = {
    "refill": (
        "volume_injected_ml",
        "concentration_mcg_per_ml",
        "bridge_bolus",
        "pocket_fraction",
        *PROGRAMME_COLUMNS,
        *MEASURED_COLUMNS,
    ),
    "missed_refill": (),
    "reprogram": (*PROGRAMME_COLUMNS, "residual_expected_ml", "alarm_date"),
    "bolus": ("dose_mcg", "duration"),
    "catheter_fault": ("kind", "delivered_fraction", "duration"),
    "catheter_repair": (),
    "mri": ("duration", "recovery_delay"),
    "motor_stall": ("duration",),
    "pump_replacement": ("volume_injected_ml", "reservoir_ml"),
    "note": ("residual_expected_ml",),
}

#: Event key (section 2) → the column it came from, per kind of row.
KEY_COLUMN = {
    "volume_ml": "volume_injected_ml",
    "therapy": "dose_mcg_per_day",
    "missed": "event",
    "type": "event",
    "at": "date",
}

YES_WORDS = ("yes", "y", "true", "1")
NO_WORDS = ("no", "n", "false", "0")


@dataclass(frozen=True)
class RowOrigin:
    """Where an event came from: the CSV file (as shown in messages) and the row's line."""

    file: str
    line: int

    def error(self, message: str, column: str | None) -> ScenarioError:
        """A ScenarioError naming the file, the line and the column."""
        text = f"column {column}: {message}" if column else message
        return ScenarioError(text, file=self.file, line=self.line)


def instant_cell(
    text: str, origin: RowOrigin, clock: Clock, end_h: float | None, col: str
) -> float:
    """A date or date-time cell → hours on the scenario clock, inside the run."""
    try:
        instant = calendar_value(text)
        if instant is None:
            raise InstantError(
                f"{text!r} is not a calendar date: use 2026-03-27 or 2026-03-27T09:30"
            )
        hours = _hours_on_clock(instant, clock, text=text)
        check_in_range(hours, clock, end_h, text)
    except InstantError as exc:
        raise origin.error(str(exc), col) from None
    return hours


def day_cell(text: str, origin: RowOrigin) -> date:
    """An ``alarm_date`` cell → the calendar day it names."""
    try:
        instant = calendar_value(text)
    except InstantError as exc:
        raise origin.error(str(exc), "alarm_date") from None
    if instant is None:
        raise origin.error(f"{text!r} is not a calendar date such as 2026-03-27", "alarm_date")
    return instant.date()


def cell_values(row: dict[str, str], origin: RowOrigin) -> dict[str, Any]:
    """A row's typed cells: numbers, checked durations, yes/no, mode, flex steps, fault kind."""
    out: dict[str, Any] = {}
    for col, text in row.items():
        if col in NUMBER_COLUMNS:
            out[col] = _number(text, origin, col)
        elif col in _DURATION_COLUMNS:
            try:
                parse_duration_h(text)
            except DurationError as exc:
                raise origin.error(str(exc), col) from None
            out[col] = text
        elif col == "bridge_bolus":
            low = text.lower()
            if low not in YES_WORDS + NO_WORDS:
                raise origin.error(f"{text!r}: expected yes or no", col)
            out[col] = low in YES_WORDS
        elif col == "mode":
            if text.lower() not in ("continuous", "flex"):
                raise origin.error(f"{text!r}: expected continuous or flex", col)
            out[col] = text.lower()
        elif col == "flex_steps":
            out[col] = _flex_steps(text, origin)
        elif col == "kind":
            out[col] = text.lower()
    return out


_CELL_NUMBER = re.compile(grammar.CELL_NUMBER)


def _number(text: str, origin: RowOrigin, col: str) -> float:
    """A cell number as ``grammar.CELL_NUMBER`` writes it (plain decimals, never negative)."""
    if _CELL_NUMBER.match(text):
        value = float(text)
        if math.isfinite(value):  # 400 digits of a plain decimal still overflow
            return value
        raise origin.error(f"{text!r} is not a finite number", col)
    try:
        value = float(text)
    except ValueError:
        raise origin.error(
            f"{text!r} is not a number (units are in the column name)", col
        ) from None
    if not math.isfinite(value):
        raise origin.error(f"{text!r} is not a finite number", col)
    if value < 0 or text.strip().startswith("-"):
        raise origin.error(f"{text!r} must not be negative", col)
    raise origin.error(
        f"{text!r}: write the number in plain decimals (e.g. 12.5: no exponent, no separators)",
        col,
    )


def _flex_steps(text: str, origin: RowOrigin) -> list[dict[str, Any]]:
    steps = []
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        clock_text, sep, dose = part.partition("=")
        if not sep:
            raise origin.error(
                f"step {part!r} must be HH:MM=mcg/h, e.g. 00:00=10;08:00=30", "flex_steps"
            )
        steps.append(
            {
                "at": clock_text.strip(),
                "dose_mcg_per_hour": _number(dose.strip(), origin, "flex_steps"),
            }
        )
    if not steps:
        raise origin.error("no steps: expected HH:MM=mcg/h;...", "flex_steps")
    return steps
