"""Clinic-log rows: one row of cells → a scenario event mapping and its expectation mappings.

Each event is checked with the scenario's own event model, and a failure names the row's column
(``RowOrigin.error``), so a bad cell is reported where the clinic typed it.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from pumpsim.model.clock import Clock
from pumpsim.scenario import events
from pumpsim.scenario.clinic_log_columns import (
    ALLOWED_COLUMNS,
    EVENT_KINDS,
    KEY_COLUMN,
    PROGRAMME_COLUMNS,
    RowOrigin,
    cell_values,
    day_cell,
    instant_cell,
)
from pumpsim.scenario.dates import Instant


def read_row(
    row: dict[str, str], origin: RowOrigin, clock: Clock, end_h: float | None
) -> tuple[float, dict[str, Any] | None, list[dict[str, Any]]]:
    """One row → (hours, event mapping or None for a note, expectation mappings)."""
    kind = row.get("event", "").lower()
    if not kind:
        raise origin.error("required cell is empty", "event")
    if kind not in EVENT_KINDS:
        close = difflib.get_close_matches(kind, EVENT_KINDS, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(EVENT_KINDS)}"
        raise origin.error(f"unknown event {row['event']!r}{hint}", "event")
    if "date" not in row:
        raise origin.error("required cell is empty", "date")
    hours = instant_cell(row["date"], origin, clock, end_h, "date")
    allowed = ALLOWED_COLUMNS[kind]
    for col in row:
        if col not in ("date", "event", "note") and col not in allowed:
            where = ", ".join(allowed) if allowed else "none"
            raise origin.error(f"does not apply to a {kind} row (columns for {kind}: {where})", col)
    values = cell_values(row, origin)
    at = Instant(hours)
    source = f"{os.path.basename(origin.file)}:{origin.line}"
    expects: list[dict[str, Any]] = []
    for col in ("residual_expected_ml", "residual_withdrawn_ml"):
        if col in values:
            expects.append({col: values[col], "at": at, "source": source})
    if "alarm_date" in row:
        expects.append(
            {"alarm_date": day_cell(row["alarm_date"], origin), "at": at, "source": source}
        )
    event = _event(kind, values, row, origin, at)
    if event is not None:
        _validate(event, origin)
    return hours, event, expects


def _therapy(values: dict[str, Any], origin: RowOrigin) -> dict[str, Any] | None:
    if not any(k in values for k in PROGRAMME_COLUMNS):
        return None
    mode = values.get("mode", "flex" if "flex_steps" in values else "continuous")
    if mode == "continuous":
        if "flex_steps" in values:
            raise origin.error("flex steps need mode flex", "flex_steps")
        if "dose_mcg_per_day" not in values:
            raise origin.error("a continuous programme needs dose_mcg_per_day", "dose_mcg_per_day")
        return {"mode": "continuous", "dose_mcg_per_day": values["dose_mcg_per_day"]}
    if "dose_mcg_per_day" in values:
        raise origin.error(
            "a flex programme takes flex_steps, not a daily dose", "dose_mcg_per_day"
        )
    if "flex_steps" not in values:
        raise origin.error("a flex programme needs flex_steps", "flex_steps")
    return {"mode": "flex", "steps": values["flex_steps"]}


def _event(
    kind: str, values: dict[str, Any], row: dict[str, str], origin: RowOrigin, at: Instant
) -> dict[str, Any] | None:
    if kind == "note":
        return None
    if kind == "missed_refill":
        return {"at": at, "type": "refill", "missed": True}
    event: dict[str, Any] = {"at": at, "type": kind}
    therapy = _therapy(values, origin)
    if kind == "refill":
        if "volume_injected_ml" not in values:
            raise origin.error("a refill needs the volume injected", "volume_injected_ml")
        event["volume_ml"] = values["volume_injected_ml"]
        for col in ("concentration_mcg_per_ml", "bridge_bolus", "pocket_fraction"):
            if col in values:
                event[col] = values[col]
        if therapy is not None:
            event["therapy"] = therapy
    elif kind == "reprogram":
        if therapy is None:
            raise origin.error("a reprogram row needs the programme set", "dose_mcg_per_day")
        event["therapy"] = therapy
    elif kind == "pump_replacement":
        if "volume_injected_ml" not in values:
            raise origin.error("a new pump needs the volume injected", "volume_injected_ml")
        event["volume_ml"] = values["volume_injected_ml"]
        if "reservoir_ml" in values:
            event["reservoir_ml"] = values["reservoir_ml"]
    else:
        for col in ("dose_mcg", "duration", "kind", "delivered_fraction", "recovery_delay"):
            if col in values:
                event[col] = values[col]
    return event


def _validate(event: dict[str, Any], origin: RowOrigin) -> None:
    """Validate one event mapping with the scenario's own event model; errors name the column."""
    model: Callable[..., Any] = {
        "refill": events.RefillEvent,
        "reprogram": events.ReprogramEvent,
        "bolus": events.BolusEvent,
        "catheter_fault": events.CatheterFaultEvent,
        "catheter_repair": events.CatheterRepairEvent,
        "mri": events.MriEvent,
        "motor_stall": events.MotorStallEvent,
        "pump_replacement": events.PumpReplacementEvent,
    }[event["type"]].model_validate
    try:
        model(event)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = tuple(err["loc"])
        key = str(loc[0]) if loc else None
        column = KEY_COLUMN.get(key, key) if key else None
        if loc and loc[0] == "therapy":
            if "steps" in loc or "step" in err["msg"]:
                column = "flex_steps"
            elif "dose_mcg_per_day" in loc or "dose" in err["msg"]:
                column = "dose_mcg_per_day"
            else:
                column = "mode"
        if key is None and err["type"] == "value_error":
            column = _column_of_message(err["msg"])
        msg = err["msg"]
        for prefix in ("Value error, ", "Assertion failed, "):
            msg = msg.removeprefix(prefix)
        if err["type"] in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
            msg = f"{err['input']!r}: {msg.replace('Input should be', 'must be')}"
        if err["type"] == "literal_error":
            msg = f"{err['input']!r} is not allowed: {msg.replace('Input should be ', 'expected ')}"
        if err["type"] == "missing":
            kind = event["type"]
            article = "an" if kind[0] in "aeiou" or kind == "mri" else "a"
            msg = f"{article} {kind} row needs {column}"
        raise origin.error(msg, column) from None


def _column_of_message(msg: str) -> str | None:
    """The column a whole-event message is about (e.g. a leak without its fraction)."""
    if "delivered_fraction" in msg:
        return "delivered_fraction"
    if "duration" in msg:
        return "duration"
    return None
