"""Calendar dates for people: ``2026-04-08 12:00 (97d 12h)``.

A small local helper for the report and the figures; the shared calendar-date module (the
testers' issue) will replace it when it lands.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pumpsim.units import format_duration_h


def at(start: datetime, t_h: float) -> datetime:
    """The calendar date-time ``t_h`` hours after ``start`` (to the second)."""
    return start + timedelta(seconds=round(t_h * 3600.0))


def when(start: datetime, t_h: float) -> str:
    """``2026-04-08 12:00 (97d 12h)``: the date-time and the offset from the start."""
    moment = at(start, t_h)
    stamp = moment.strftime("%Y-%m-%d %H:%M" if moment.second == 0 else "%Y-%m-%d %H:%M:%S")
    offset = moment.strftime("%z")
    if offset:
        stamp += f"{offset[:3]}:{offset[3:]}"
    return f"{stamp} ({format_duration_h(t_h)})"
