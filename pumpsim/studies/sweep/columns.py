"""The tables' columns: names, types, units and descriptions (contract section 10, "Tables").

Drawn and grid values keep their types: numbers are numbers (whole numbers int64), durations
are hours in a column whose name ends ``_h``, anything else is text. Parquet fields carry the
unit and the description in their metadata; beside a CSV table the same facts go to
``columns.csv`` (name, type, unit, description).
"""

from __future__ import annotations

import json
from typing import Any

from pumpsim.model.units import DurationError, parse_duration_h

#: Unit by key-name ending (longest first); the project's names carry their unit.
_UNITS = (
    ("_mcg_per_ml", "mcg/mL"),
    ("_mcg_per_day", "mcg/day"),
    ("_mcg_per_hour", "mcg/h"),
    ("_ml_per_day", "mL/day"),
    ("_mcg", "mcg"),
    ("_ml", "mL"),
    ("_h", "h"),
)
#: Keys whose values are plain ratios.
_RATIOS = {"pump.accuracy": "1 (actual/programmed - 1)", "risk.threshold": "1 (actual/expected)"}
_TALLY_TEXT = {
    "n_refills": "refills done (routine, alarm and pocket-fill visits)",
    "n_missed_refills": "routine refill visits missed",
    "n_alarm_visits": "visits brought on by an alarm (refill or new pump)",
    "n_pump_replacements": "new pumps implanted",
    "n_catheter_faults": "catheter faults (silent)",
    "n_motor_stalls": "permanent motor stalls",
    "n_pump_faults": "pump faults (memory error or low-battery reset)",
    "n_pocket_fills": "refills that went partly into the pocket",
    "n_redraws": "times the patient's draws were made again (on_invalid: redraw)",
}
_FIXED_TEXT = {
    "grid": ("int", "", "grid point: the index into summary.json's grid_points"),
    "patient": ("int", "", "patient index: the same person at every grid point"),
    "first_abrupt_h": ("float", "h", "start of the first abrupt-discontinuation flag"),
    "first_abrupt_cause": ("str", "", "cause of the first abrupt-discontinuation flag"),
    "first_abrupt_alarmed": ("bool", "", "a critical alarm sounded when the first flag began"),
    "first_abrupt_first_alarm": (
        "str",
        "",
        "the alarm sounding at the first flag (critical first), else the first one during it",
    ),
    "first_abrupt_cause_to_flag_h": ("float", "h", "time from the first flag's cause to it"),
}
#: The flags table: (type, unit, description) per column, in order.
FLAG_META = (
    ("grid", "int", "", "grid point"),
    ("patient", "int", "", "patient index"),
    ("start_h", "float", "h", "when the abrupt-discontinuation flag was raised"),
    ("end_h", "float", "h", "when it ended (empty: still open at the end)"),
    ("cause", "str", "", "why delivery fell short (contract section 4)"),
    ("alarmed", "bool", "", "a critical alarm sounded when it was raised (else: silent)"),
    ("first_alarm", "str", "", "the alarm sounding at the flag, else the first during it"),
    ("cause_to_flag_h", "float", "h", "time from the cause's onset to the flag"),
    ("severity", "str", "", "high: the patient has a boxed-warning risk factor"),
)


def unit_of(key: str) -> str:
    """The unit a key's name gives (empty when none)."""
    if key in _RATIOS:
        return _RATIOS[key]
    for ending, unit in _UNITS:
        if key.endswith(ending):
            return unit
    return ""


def is_duration_values(values: list[Any]) -> bool:
    """Whether every value is a duration written with a unit (``"1d"``; never a bare number)."""
    if not values or not all(isinstance(v, str) for v in values):
        return False
    try:
        for v in values:
            parse_duration_h(v)
    except DurationError:
        return False
    return True


def kind_of(values: list[Any]) -> str:
    """int, float, bool or str for a list of possible values."""
    if values and all(isinstance(v, bool) for v in values):
        return "bool"
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "int"
    if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "float"
    return "str"


def cell(value: Any, kind: str, duration: bool = False) -> Any:
    """A value converted to its column's type (a duration string to hours)."""
    if value is None:
        return None
    if duration and isinstance(value, str):
        return parse_duration_h(value)
    if kind == "float":
        return float(value)
    if kind == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    if kind == "str" and not isinstance(value, str):
        return json.dumps(value)
    return value


def describe_draw(dist: Any) -> str:
    """A distribution in words for a column description."""
    kind = getattr(dist, "kind", "?")
    if kind == "cases":
        return "drawn per patient, depending on earlier keys (cases)"
    text = f"drawn per patient ({kind}"
    if getattr(dist, "within", None):
        text += f", within {dist.within[0]:g}-{dist.within[1]:g}"
    return text + ")"


def patient_meta(spec: Any, columns: tuple[str, ...], types: list[str]) -> list[tuple[str, ...]]:
    """(name, type, unit, description) of every patients-table column."""
    vary = {v.column: v for v in spec.vary}
    grid = {grid_column(spec, k): k for k in spec.grid_keys}
    out = []
    for name, kind in zip(columns, types, strict=True):
        if name in _FIXED_TEXT:
            _, unit, text = _FIXED_TEXT[name]
        elif name in vary:
            unit = unit_of(name)
            text = f"{vary[name].path}: {describe_draw(vary[name].dist)}"
        elif name in grid:
            unit = unit_of(name)
            text = f"{grid[name]}: the grid point's value"
        elif name in _TALLY_TEXT:  # before the alarm counts: n_alarm_visits is a visit count
            unit, text = "count", _TALLY_TEXT[name]
        elif name.startswith("n_alarm_"):
            unit, text = "count", f"{name[8:].replace('_', ' ')} alarms raised"
        elif name.startswith("n_flag_"):
            unit, text = "count", f"{name[7:].replace('_', ' ')} flags raised"
        else:
            unit, text = "count", name
        out.append((name, kind, unit, text))
    return out


def grid_column(spec: Any, key: str) -> str:
    """A grid key's column: its dotted name, with ``_h`` when its values are durations."""
    i = spec.grid_keys.index(key)
    values = [p.values[i][1] for p in spec.grid]
    return f"{key}_h" if is_duration_values(values) else key
