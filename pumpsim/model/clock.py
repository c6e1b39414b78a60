"""The scenario clock: hours from the start <-> calendar date-times, for people and documents.

The engine counts hours from ``t = 0``; ``start:`` anchors that count to the calendar: a wall
clock with no offset, a fixed UTC offset, or an IANA time zone (contract section 11). Everything
a person reads shows the calendar date-time with the offset from the start beside it
(``2026-04-08 12:00 (97d 12h)``); the result document keeps the hours and adds ISO date-times
beside them. In a time zone, hours are elapsed time: two dates across a clock change are 23 or
25 h apart, and every time shown carries the UTC offset in force then
(``2025-04-08 12:00+02:00 (92d 4h)``).

The pump keeps its own clock (``Clock.pump``): the UTC offset in force at the start, for the whole
run. An implanted pump does not change its clock for daylight-saving time, so its days stay 24 h
long (flex steps, weekday programmes and the calendar-day rules of the detectors use it).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
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


def zone_name(zone: tzinfo | None) -> str | None:
    """The IANA name of a time zone (``Europe/Paris``), None for no zone or a fixed offset."""
    key = getattr(zone, "key", None)
    return key if isinstance(key, str) else None


@dataclass(frozen=True)
class Clock:
    """The calendar of one scenario: the wall-clock date-time of ``t = 0``, its UTC offset and,
    for a start in a time zone, the zone (whose offset may change during the run)."""

    start: datetime  # naive wall-clock time at t = 0
    utc_offset: timedelta | None = None
    zone: tzinfo | None = None

    @classmethod
    def of(cls, start: datetime) -> Clock:
        """The clock of a scenario's ``start:`` (naive, a fixed UTC offset, or a time zone)."""
        offset = start.utcoffset()
        zone = start.tzinfo if zone_name(start.tzinfo) is not None else None
        return cls(start.replace(tzinfo=None), offset, zone)

    def pump(self) -> Clock:
        """The pump's own clock: the UTC offset of the start kept for the whole run."""
        return Clock(self.start, self.utc_offset) if self.zone is not None else self

    def _utc(self, hours: float) -> datetime:
        assert self.utc_offset is not None
        return self.start - self.utc_offset + timedelta(seconds=round(hours * 3600.0))

    def aware(self, hours: float) -> datetime | None:
        """The instant ``hours`` after the start as an aware date-time in the start's zone or
        offset (None: beyond the calendar, or no offset at all)."""
        if self.utc_offset is None or hours is None or not math.isfinite(hours):
            return None
        try:
            utc = self._utc(hours).replace(tzinfo=UTC)
            return utc.astimezone(self.zone or timezone(self.utc_offset))
        except (OverflowError, ValueError):
            return None

    def offset_at(self, hours: float) -> timedelta | None:
        """The UTC offset in force ``hours`` after the start (None: no offset)."""
        if self.zone is None:
            return self.utc_offset
        moment = self.aware(hours)
        return None if moment is None else moment.utcoffset()

    def wall(self, hours: float) -> datetime | None:
        """The wall-clock date-time ``hours`` after the start (None: beyond the calendar)."""
        if hours is None or not math.isfinite(hours):
            return None
        if self.zone is not None:
            moment = self.aware(hours)
            return None if moment is None else moment.replace(tzinfo=None)
        try:
            return self.start + timedelta(seconds=round(hours * 3600.0))
        except OverflowError:
            return None

    def offset_text(self) -> str:
        """``UTC+01:00``, ``Europe/Paris, UTC+01:00 at the start`` or ``no UTC offset``."""
        if self.utc_offset is None:
            return "no UTC offset"
        if self.zone is not None:
            return f"{zone_name(self.zone)}, UTC{_offset(self.utc_offset)} at the start"
        return "UTC" + _offset(self.utc_offset)

    def iso(self, hours: float | None) -> str | None:
        """ISO 8601 date-time of an instant (with the UTC offset in force then, when the start
        has one)."""
        if hours is None:
            return None
        wall = self.wall(hours)
        if wall is None:
            return None
        text = wall.isoformat(timespec="seconds")
        offset = self.offset_at(hours)
        return text if offset is None else text + _offset(offset)

    def date_time(self, hours: float | None) -> str:
        """``2026-04-08 12:00`` (seconds only when not zero); in a time zone with the offset in
        force then, ``2026-04-08 12:00+02:00``."""
        if hours is None:
            return "never"
        wall = self.wall(hours)
        if wall is None:
            return "never" if hours is not None and hours > 0 else "-"
        fmt = "%Y-%m-%d %H:%M:%S" if wall.second else "%Y-%m-%d %H:%M"
        text = wall.strftime(fmt)
        if self.zone is not None:
            offset = self.offset_at(hours)
            text += _offset(offset) if offset is not None else ""
        return text

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

    def offset_changes(self, end_h: float) -> list[float]:
        """The instants in ``(0, end_h]`` at which the zone's UTC offset changes (hours from the
        start, in order): daylight-saving time starting or ending. None without a zone."""
        if self.zone is None or self.utc_offset is None:
            return []
        found: list[float] = []
        lo, offset = 0.0, self.utc_offset
        step = 24.0 * 7.0  # zones change at most a few times a year, never twice in a week
        while lo < end_h:
            hi = min(lo + step, end_h)
            new = self.offset_at(hi)
            if new is None:
                break
            if new != offset:
                a, b = lo, hi  # bisect to the second: the change is a whole minute in practice
                while b - a > 1.0 / 3600.0:
                    mid = (a + b) / 2.0
                    a, b = (mid, b) if self.offset_at(mid) == offset else (a, mid)
                found.append(round(b * 3600.0) / 3600.0)
                offset = new
            lo = hi
        return found


def pump_clock_note(clock: Clock, end_h: float) -> str | None:
    """What a person must know when local time and the pump's clock part during a run (a start
    in a time zone with daylight-saving time): None when they never do."""
    changes = clock.offset_changes(end_h)
    if not changes or clock.utc_offset is None:
        return None
    spans: list[str] = []
    bounds = [*changes, end_h]
    for a, b in itertools.pairwise(bounds):
        offset = clock.offset_at(a)
        if offset is None or offset == clock.utc_offset:
            continue
        ahead = offset - clock.utc_offset
        word = "ahead of" if ahead > timedelta(0) else "behind"
        until = "the end" if b >= end_h else clock.date_time(b)
        spans.append(f"from {clock.date_time(a)} to {until} local time is "
                     f"{_span(abs(ahead))} {word} it")  # fmt: skip
    return (
        f"the pump keeps UTC{_offset(clock.utc_offset)}, the offset in force at the start (an "
        "implanted pump does not change its clock for daylight-saving time): "
        + "; ".join(spans)
        + ", so flex steps, weekday programmes and the pump's calendar days fall that much off "
        "local time then"
    )


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, rem = divmod(minutes, 60)
    if rem == 0:
        return "an hour" if hours == 1 else f"{hours} hours"
    return f"{hours} h {rem} min" if hours else f"{rem} min"


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
            if clock.zone is not None:
                out["time_zone"] = zone_name(clock.zone)
    return out
