"""Clinic logs (contract section 7): a clinic's CSV export → scenario events and expectations.

One row per clinic event, a header row, units in the column names, an empty cell meaning "not
recorded". UTF-8 with or without a byte-order mark, LF or CRLF, cells quoted as spreadsheets
export them. A date-only cell is 00:00 on the clock of ``start:``; a time without an offset is on
the start's offset. Rows may come in any order (same-instant rows keep file order).

Every recorded measurement becomes an expectation (``residual_expected_ml``,
``residual_withdrawn_ml``, ``alarm_date`` at the row's instant), each with its own result line.

A bad row is invalid input: one ScenarioError naming the CSV file, the row's physical line (the
header is line 1) and the column. The whole file is read and checked before anything is used:
nothing is half-read.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pumpsim.clock import Clock
from pumpsim.errors import ScenarioError
from pumpsim.scenario.dates import Instant, InstantError, calendar_value, check_in_range
from pumpsim.scenario.dates import hours_on_clock as _hours_on_clock
from pumpsim.units import DurationError, parse_duration_h

MAX_LOG_BYTES = 5_000_000

#: The simulated estimate must match a recorded ``residual_expected_ml`` within this (contract 7).
EXPECTED_RESIDUAL_TOLERANCE_ML = 0.05

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

_NUMBER_COLUMNS = (
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
_PROGRAMME = ("dose_mcg_per_day", "mode", "flex_steps")
_MEASURED = ("residual_expected_ml", "residual_withdrawn_ml", "alarm_date")

#: Which columns each kind of row may fill (besides date, event and note).
_ALLOWED: dict[str, tuple[str, ...]] = {
    "refill": (
        "volume_injected_ml",
        "concentration_mcg_per_ml",
        "bridge_bolus",
        "pocket_fraction",
        *_PROGRAMME,
        *_MEASURED,
    ),
    "missed_refill": (),
    "reprogram": (*_PROGRAMME, "residual_expected_ml", "alarm_date"),
    "bolus": ("dose_mcg", "duration"),
    "catheter_fault": ("kind", "delivered_fraction", "duration"),
    "catheter_repair": (),
    "mri": ("duration", "recovery_delay"),
    "motor_stall": ("duration",),
    "pump_replacement": ("volume_injected_ml", "reservoir_ml"),
    "note": ("residual_expected_ml",),
}

#: Event key (section 2) → the column it came from, per kind of row.
_KEY_COLUMN = {
    "volume_ml": "volume_injected_ml",
    "therapy": "dose_mcg_per_day",
    "missed": "event",
    "type": "event",
    "at": "date",
}

_YES = ("yes", "y", "true", "1")
_NO = ("no", "n", "false", "0")


@dataclass(frozen=True)
class RowOrigin:
    """Where an event came from: the CSV file (as shown in messages) and the row's line."""

    file: str
    line: int

    def error(self, message: str, column: str | None) -> ScenarioError:
        """A ScenarioError naming the file, the line and the column."""
        text = f"column {column}: {message}" if column else message
        return ScenarioError(text, file=self.file, line=self.line)


@dataclass
class ClinicLog:
    """A read clinic log: raw event and expectation mappings, ready to join a scenario's data."""

    file: str
    events: list[dict[str, Any]] = field(default_factory=list)
    expectations: list[dict[str, Any]] = field(default_factory=list)
    origins: list[RowOrigin] = field(default_factory=list)  # one per event
    expect_origins: list[RowOrigin] = field(default_factory=list)  # one per expectation

    def relocate(
        self, exc: ScenarioError, first_event: int, first_expect: int = 0
    ) -> ScenarioError | None:
        """Map an error about ``events[i]``/``expect[i]`` from this log onto its row."""
        path = exc.path
        if len(path) < 2 or path[0] not in ("events", "expect") or not isinstance(path[1], int):
            return None
        if path[0] == "expect":
            i = path[1] - first_expect
            if not 0 <= i < len(self.expect_origins):
                return None
            column = str(path[2]) if len(path) > 2 else None
            return self.expect_origins[i].error(exc.message, column)
        i = path[1] - first_event
        if not 0 <= i < len(self.origins):
            return None
        key = str(path[2]) if len(path) > 2 else None
        column = None if key is None else _KEY_COLUMN.get(key, key)
        if len(path) > 3 and path[2] == "therapy":
            column = "flex_steps" if "steps" in path else "dose_mcg_per_day"
        return self.origins[i].error(exc.message, column)


def read_clinic_log(
    path: str, clock: Clock, end_h: float | None, *, shown: str | None = None
) -> ClinicLog:
    """Read and check a whole clinic log. Raises ScenarioError (file, line, column)."""
    name = shown or path
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_LOG_BYTES + 1)
    except FileNotFoundError:
        raise ScenarioError("no such clinic log", file=name) from None
    except IsADirectoryError:
        raise ScenarioError("is a directory, not a clinic log", file=name) from None
    except OSError as exc:
        raise ScenarioError(f"cannot read clinic log: {exc.strerror}", file=name) from None
    if len(raw) > MAX_LOG_BYTES:
        raise ScenarioError(f"clinic log is larger than {MAX_LOG_BYTES} bytes", file=name)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScenarioError("clinic log is not UTF-8 text", file=name, line=line) from None
    return parse_clinic_log(text, name, clock, end_h)


def parse_clinic_log(text: str, file: str, clock: Clock, end_h: float | None) -> ClinicLog:
    """Parse clinic-log CSV text (see the module docstring). Raises ScenarioError."""
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    line = 1
    try:
        for cells in reader:
            rows.append((line, cells))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise ScenarioError(f"unreadable CSV: {exc}", file=file, line=reader.line_num) from None
    rows = [(n, cells) for n, cells in rows if any(c.strip() for c in cells)]
    if not rows:
        raise ScenarioError("clinic log is empty: expected a header row", file=file, line=1)
    header_line, header = rows[0]
    columns = _header(header, file, header_line)
    parsed: list[tuple[float, int, dict[str, Any], list[dict[str, Any]], RowOrigin]] = []
    for order, (n, cells) in enumerate(rows[1:]):
        origin = RowOrigin(file, n)
        if len(cells) > len(columns):
            raise origin.error(
                f"row has {len(cells)} cells but the header names {len(columns)} columns", None
            )
        row = {c: v.strip() for c, v in zip(columns, cells, strict=False) if v.strip()}
        hours, event, expects = _row(row, origin, clock, end_h)
        parsed.append((hours, order, event, expects, origin))
    parsed.sort(key=lambda r: (r[0], r[1]))
    log = ClinicLog(file)
    for _, _, event, expects, origin in parsed:
        if event is not None:
            log.events.append(event)
            log.origins.append(origin)
        log.expectations.extend(expects)
        log.expect_origins.extend(origin for _ in expects)
    return log


def _header(header: list[str], file: str, line: int) -> list[str]:
    columns = [h.strip() for h in header]
    seen: set[str] = set()
    for col in columns:
        if col not in COLUMNS:
            close = difflib.get_close_matches(col, list(COLUMNS), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(COLUMNS)})"
            raise ScenarioError(
                f"column {col or '(empty)'}: unknown column {col!r}{hint}", file=file, line=line
            )
        if col in seen:
            raise ScenarioError(f"column {col}: appears twice in the header", file=file, line=line)
        seen.add(col)
    for required in ("date", "event"):
        if required not in seen:
            raise ScenarioError(
                f"column {required}: required column is missing from the header",
                file=file,
                line=line,
            )
    return columns


def _row(
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
    hours = _instant(row["date"], origin, clock, end_h, "date")
    allowed = _ALLOWED[kind]
    for col in row:
        if col not in ("date", "event", "note") and col not in allowed:
            where = ", ".join(allowed) if allowed else "none"
            raise origin.error(f"does not apply to a {kind} row (columns for {kind}: {where})", col)
    values = _values(row, origin)
    at = Instant(hours)
    source = f"{os.path.basename(origin.file)}:{origin.line}"
    expects: list[dict[str, Any]] = []
    for col in ("residual_expected_ml", "residual_withdrawn_ml"):
        if col in values:
            expects.append({col: values[col], "at": at, "source": source})
    if "alarm_date" in row:
        expects.append({"alarm_date": _day(row["alarm_date"], origin), "at": at, "source": source})
    event = _event(kind, values, row, origin, at)
    if event is not None:
        _validate(event, origin)
    return hours, event, expects


def _instant(text: str, origin: RowOrigin, clock: Clock, end_h: float | None, col: str) -> float:
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


def _day(text: str, origin: RowOrigin) -> date:
    try:
        instant = calendar_value(text)
    except InstantError as exc:
        raise origin.error(str(exc), "alarm_date") from None
    if instant is None:
        raise origin.error(f"{text!r} is not a calendar date such as 2026-03-27", "alarm_date")
    return instant.date()


def _values(row: dict[str, str], origin: RowOrigin) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for col, text in row.items():
        if col in _NUMBER_COLUMNS:
            out[col] = _number(text, origin, col)
        elif col in _DURATION_COLUMNS:
            try:
                parse_duration_h(text)
            except DurationError as exc:
                raise origin.error(str(exc), col) from None
            out[col] = text
        elif col == "bridge_bolus":
            low = text.lower()
            if low not in _YES + _NO:
                raise origin.error(f"{text!r}: expected yes or no", col)
            out[col] = low in _YES
        elif col == "mode":
            if text.lower() not in ("continuous", "flex"):
                raise origin.error(f"{text!r}: expected continuous or flex", col)
            out[col] = text.lower()
        elif col == "flex_steps":
            out[col] = _flex_steps(text, origin)
        elif col == "kind":
            out[col] = text.lower()
    return out


def _number(text: str, origin: RowOrigin, col: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise origin.error(
            f"{text!r} is not a number (units are in the column name)", col
        ) from None
    if not math.isfinite(value):
        raise origin.error(f"{text!r} is not a finite number", col)
    if value < 0:
        raise origin.error(f"{text!r} must not be negative", col)
    return value


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


def _therapy(values: dict[str, Any], origin: RowOrigin) -> dict[str, Any] | None:
    if not any(k in values for k in _PROGRAMME):
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
    from pydantic import ValidationError

    from pumpsim.scenario import schema

    model: Callable[..., Any] = {
        "refill": schema.RefillEvent,
        "reprogram": schema.ReprogramEvent,
        "bolus": schema.BolusEvent,
        "catheter_fault": schema.CatheterFaultEvent,
        "catheter_repair": schema.CatheterRepairEvent,
        "mri": schema.MriEvent,
        "motor_stall": schema.MotorStallEvent,
        "pump_replacement": schema.PumpReplacementEvent,
    }[event["type"]].model_validate
    try:
        model(event)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = tuple(err["loc"])
        key = str(loc[0]) if loc else None
        column = _KEY_COLUMN.get(key, key) if key else None
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
        raise origin.error(msg, column) from None


def _column_of_message(msg: str) -> str | None:
    """The column a whole-event message is about (e.g. a leak without its fraction)."""
    if "delivered_fraction" in msg:
        return "delivered_fraction"
    if "duration" in msg:
        return "duration"
    return None


_NUMBER_PATTERN = r"^\s*\d+(\.\d+)?\s*$"
_DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$"
_DURATION_PATTERN = r"^(\s*\d+(\.\d+)?\s*(y|w|d|h|min|s))+\s*$|^P"


def clinic_log_json_schema() -> dict[str, Any]:
    """A JSON Schema for one clinic-log row (a CSV row read as an object of its cells).

    Cells are text in a CSV file; numeric columns also accept JSON numbers, so a row converted
    to JSON validates either way. Empty cells mean "not recorded" and may be left out.
    """
    from pumpsim.scenario.schema import CATHETER_FAULT_KINDS

    def number(col: str, maximum: float | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "description": COLUMNS[col],
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": _NUMBER_PATTERN},
                {"type": "string", "maxLength": 0},
            ],
        }
        if maximum is not None:
            out["anyOf"][0]["maximum"] = maximum
        return out

    def text(col: str, **extra: Any) -> dict[str, Any]:
        return {"description": COLUMNS[col], "type": "string", **extra}

    props: dict[str, Any] = {}
    for col in COLUMNS:
        if col in _NUMBER_COLUMNS:
            fraction = col in ("pocket_fraction", "delivered_fraction")
            props[col] = number(col, 1.0 if fraction else None)
        elif col in ("date", "alarm_date"):
            props[col] = text(col, pattern=_DATE_PATTERN)
        elif col == "event":
            props[col] = text(col, enum=list(EVENT_KINDS))
        elif col in _DURATION_COLUMNS:
            props[col] = text(col, pattern=_DURATION_PATTERN + "|^$")
        elif col == "bridge_bolus":
            props[col] = text(col, enum=[*_YES, *_NO, ""])
        elif col == "mode":
            props[col] = text(col, enum=["continuous", "flex", ""])
        elif col == "flex_steps":
            props[col] = text(
                col,
                pattern=r"^(\s*\d{1,2}:\d{2}\s*=\s*\d+(\.\d+)?\s*)(;\s*\d{1,2}:\d{2}\s*="
                r"\s*\d+(\.\d+)?\s*)*;?$|^$",
            )
        elif col == "kind":
            props[col] = text(col, enum=[*CATHETER_FAULT_KINDS, ""])
        else:
            props[col] = text(col)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "pumpsim clinic log row",
        "description": (
            "One row of a pumpsim clinic log (CSV, UTF-8, header row, one row per clinic "
            "event; units in the column names; an empty cell means not recorded). See "
            "scenario-format section 7 and docs/howto-replay.md."
        ),
        "type": "object",
        "properties": props,
        "required": ["date", "event"],
        "additionalProperties": False,
    }
