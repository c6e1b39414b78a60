"""The JSON Schema of one clinic-log row (``pumpsim schema clinic-log``, contract sections 7, 11).

A CSV row read as an object of its cells (``{"date": "2026-04-03", "event": "refill", ...}``,
every column of the header, an empty cell as ``""``); numeric columns also take JSON numbers, so
a row converted to JSON validates either way. The schema accepts what the reader accepts wherever
a JSON Schema can say it, from the same text forms (``grammar``) and the same column tables
(``clinic_log_columns``): cells as the reader strips them, event kinds and words in any case,
which columns each kind of row may fill and which it must, and the programme a row sets. What a
row means on the scenario's clock (an instant before the start, a duplicate of another row) needs
the scenario and the other rows, and is the reader's alone.
"""

from __future__ import annotations

from typing import Any

from pumpsim.scenario import grammar
from pumpsim.scenario.clinic_log_columns import (
    ALLOWED_COLUMNS,
    COLUMNS,
    EVENT_KINDS,
    NO_WORDS,
    NUMBER_COLUMNS,
    PROGRAMME_COLUMNS,
    YES_WORDS,
)
from pumpsim.scenario.events import CATHETER_FAULT_KINDS

_EMPTY = {"type": "string", "pattern": r"^\s*$"}
_POSITIVE = ("concentration_mcg_per_ml", "dose_mcg", "reservoir_ml")
_FRACTIONS = ("pocket_fraction", "delivered_fraction")
#: Cells each kind of row must fill (besides date and event): its event's required keys.
_REQUIRED = {
    "refill": ("volume_injected_ml",),
    "pump_replacement": ("volume_injected_ml",),
    "bolus": ("dose_mcg", "duration"),
    "catheter_fault": ("kind",),
    "mri": ("duration",),
}


def filled(col: str) -> dict[str, Any]:
    """The cell is there and not blank."""
    return {"required": [col], "properties": {col: {"not": _EMPTY}}}


def blank(col: str) -> dict[str, Any]:
    """The cell is missing or blank."""
    return {"not": filled(col)}


def _is(col: str, *words: str) -> dict[str, Any]:
    """The cell holds one of ``words`` (any case, as the reader lowercases it)."""
    return {
        "required": [col],
        "properties": {col: {"type": "string", "pattern": grammar.one_of_words(list(words))}},
    }


def _number(col: str) -> dict[str, Any]:
    if col in _FRACTIONS:
        text, number = grammar.CELL_FRACTION, {"type": "number", "minimum": 0, "maximum": 1}
    elif col in _POSITIVE:
        text, number = grammar.CELL_POSITIVE, {"type": "number", "exclusiveMinimum": 0}
    else:
        text, number = grammar.CELL_NUMBER, {"type": "number", "minimum": 0}
    return {"anyOf": [number, {"type": "string", "pattern": text}, _EMPTY]}


def _cell(col: str) -> dict[str, Any]:
    """What one column's cell may hold."""
    if col in NUMBER_COLUMNS:
        out = _number(col)
    elif col == "date":
        out = {"type": "string", "pattern": grammar.CALENDAR_VALUE}
    elif col == "alarm_date":
        out = {"type": "string", "pattern": f"{grammar.CALENDAR_VALUE}|" + r"^\s*$"}
    elif col == "event":
        out = {"type": "string", "pattern": grammar.one_of_words(EVENT_KINDS)}
    elif col == "duration":
        out = {"type": "string", "pattern": f"{grammar.POSITIVE_DURATION}|" + r"^\s*$"}
    elif col == "recovery_delay":
        out = {"type": "string", "pattern": f"{grammar.DURATION}|" + r"^\s*$"}
    elif col == "bridge_bolus":
        out = {
            "type": "string",
            "pattern": grammar.one_of_words([*YES_WORDS, *NO_WORDS], empty=True),
        }
    elif col == "mode":
        out = {
            "type": "string",
            "pattern": grammar.one_of_words(["continuous", "flex"], empty=True),
        }
    elif col == "flex_steps":
        out = {"type": "string", "pattern": f"{grammar.FLEX_STEPS}|" + r"^\s*$"}
    elif col == "kind":
        out = {"type": "string", "pattern": grammar.one_of_words(CATHETER_FAULT_KINDS, empty=True)}
    else:
        out = {"type": "string"}
    return {"description": COLUMNS[col], **out}


def _row_rules() -> list[dict[str, Any]]:
    """Per kind of row: the columns it may fill and those it must; the programme it sets."""
    rules: list[dict[str, Any]] = []
    for kind in EVENT_KINDS:
        allowed = {"date", "event", "note", *ALLOWED_COLUMNS[kind]}
        then = [blank(c) for c in COLUMNS if c not in allowed]
        then += [filled(c) for c in _REQUIRED.get(kind, ())]
        if kind == "reprogram":
            then.append({"anyOf": [filled(c) for c in PROGRAMME_COLUMNS]})
        if kind == "catheter_fault":
            then.append({"if": _is("kind", "kink", "leak"), "then": filled("delivered_fraction")})
        rules.append({"if": _is("event", kind), "then": {"allOf": then}})
    # The programme set at a visit: flex needs its steps and no daily dose, continuous the
    # reverse; with no mode, flex steps mean flex and a daily dose alone means continuous.
    rules += [
        {
            "if": _is("mode", "continuous"),
            "then": {"allOf": [blank("flex_steps"), filled("dose_mcg_per_day")]},
        },
        {
            "if": _is("mode", "flex"),
            "then": {"allOf": [blank("dose_mcg_per_day"), filled("flex_steps")]},
        },
        {
            "if": {"allOf": [blank("mode"), filled("flex_steps")]},
            "then": blank("dose_mcg_per_day"),
        },
    ]
    return rules


def clinic_log_json_schema() -> dict[str, Any]:
    """A JSON Schema for one clinic-log row (a CSV row read as an object of its cells)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "pumpsim clinic log row",
        "description": (
            "One row of a pumpsim clinic log (CSV, UTF-8, header row, one row per clinic "
            "event; units in the column names; an empty cell means not recorded), as an object "
            "of its cells. See scenario-format sections 7 and 11 and docs/howto-replay.md."
        ),
        "type": "object",
        "properties": {col: _cell(col) for col in COLUMNS},
        "required": ["date", "event"],
        "additionalProperties": False,
        "allOf": _row_rules(),
    }
