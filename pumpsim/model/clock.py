"""The scenario clock: hours from the start <-> calendar date-times, for people and documents.

The engine counts hours from ``t = 0``; ``start:`` anchors that count to the calendar (a wall
clock, with an optional fixed UTC offset). Everything a person reads shows the calendar
date-time with the offset from the start beside it (``2026-04-08 12:00 (97d 12h)``); the result
document keeps the hours and adds ISO date-times beside them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pumpsim.model.units import format_duration_h

#: Result-document keys holding an instant in hours, and the ISO key written beside each.
INSTANT_KEYS = {
    "start_h": "start_at",
    "end_h": "end_at",
    "at_h": "at",
    "t_h": "at",
    "from_h": "from_at",
    "to_h": "to_at",
    "refill_at_h": "refill_at",
    "projected_empty_alarm_h": "projected_empty_alarm_at",
    "empty_at_h": "empty_at",
    "interval_start_h": "interval_start_at",
}


@dataclass(frozen=True)
class Clock:
    """The calendar of one scenario: the wall-clock date-time of ``t = 0`` and its UTC offset."""

    start: datetime  # naive wall-clock time at t = 0
    utc_offset: timedelta | None = None

    @classmethod
    def of(cls, start: datetime) -> Clock:
        """The clock of a scenario's ``start:`` (naive, or with a fixed UTC offset)."""
        offset = start.utcoffset()
        return cls(start.replace(tzinfo=None), offset)

    def wall(self, hours: float) -> datetime | None:
        """The wall-clock date-time ``hours`` after the start (None: beyond the calendar)."""
        if hours is None or not math.isfinite(hours):
            return None
        try:
            return self.start + timedelta(seconds=round(hours * 3600.0))
        except OverflowError:
            return None

    def offset_text(self) -> str:
        """``UTC+01:00``, or ``no UTC offset`` when the start has none."""
        if self.utc_offset is None:
            return "no UTC offset"
        return "UTC" + _offset(self.utc_offset)

    def iso(self, hours: float | None) -> str | None:
        """ISO 8601 date-time of an instant (with the start's UTC offset when it has one)."""
        if hours is None:
            return None
        wall = self.wall(hours)
        if wall is None:
            return None
        text = wall.isoformat(timespec="seconds")
        return text if self.utc_offset is None else text + _offset(self.utc_offset)

    def date_time(self, hours: float | None) -> str:
        """``2026-04-08 12:00`` (seconds only when not zero)."""
        if hours is None:
            return "never"
        wall = self.wall(hours)
        if wall is None:
            return "never" if hours is not None and hours > 0 else "-"
        fmt = "%Y-%m-%d %H:%M:%S" if wall.second else "%Y-%m-%d %H:%M"
        return wall.strftime(fmt)

    def label(self, hours: float | None) -> str:
        """``2026-04-08 12:00 (97d 12h)``: the date-time and the offset from the start."""
        if hours is None:
            return "never"
        if not math.isfinite(hours) or self.wall(hours) is None:
            return "never" if hours > 0 else "-"
        return f"{self.date_time(hours)} ({format_duration_h(hours)})"

    def day(self, hours: float) -> str:
        """The calendar date of an instant, ``2026-04-08``."""
        wall = self.wall(hours)
        return "-" if wall is None else wall.strftime("%Y-%m-%d")


def _offset(delta: timedelta) -> str:
    total = int(delta.total_seconds())
    sign = "-" if total < 0 else "+"
    hours, rem = divmod(abs(total), 3600)
    return f"{sign}{hours:02d}:{rem // 60:02d}"


def with_calendar(value: Any, clock: Clock) -> Any:
    """A copy of a result-document fragment with an ISO date-time beside each instant in hours.

    Every key of ``INSTANT_KEYS`` (``start_h``, ``at_h`` ...) gets its ISO twin (``start_at``,
    ``at`` ...) inserted right after it; durations (``duration_h``) are left alone.
    """
    if isinstance(value, list):
        return [with_calendar(v, clock) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        out[key] = with_calendar(item, clock)
        twin = INSTANT_KEYS.get(key)
        if twin is not None and twin not in value and (item is None or _is_number(item)):
            out[twin] = None if item is None else clock.iso(float(item))
    return out


def _is_number(item: Any) -> bool:
    return isinstance(item, int | float) and not isinstance(item, bool)


def calendar_fields(doc: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """The result document with ``start_at``/``end_at`` at the top and ISO twins of instants."""
    out: dict[str, Any] = {}
    for key, item in doc.items():
        if key in ("series",):  # columns of numbers, not instants a person reads
            out[key] = item
        else:
            out[key] = with_calendar(item, clock)
        if key == "duration_h":
            out["start_at"] = clock.iso(0.0)
            out["end_at"] = clock.iso(float(item))
    return out
