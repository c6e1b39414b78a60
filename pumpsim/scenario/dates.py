"""Calendar instants in a scenario: ``2026-03-27`` or ``2026-03-27T09:30`` → hours from the start.

Contract section 1: every ``at:`` (and every duration-valued instant: ``first_at``,
``first_within``, ``pump.battery.eri_at``) accepts a calendar date or date-time, read on the
clock of ``start:``. A date alone is 00:00 on that clock; a time without an offset is on the
start's offset; a UTC offset is converted when ``start:`` has one and refused when it has none
(never dropped). An instant before the start or after the end is an error naming both dates.

Contract section 11: ``start:`` may name an IANA time zone after the date-time, separated by one
space (``2025-01-06T08:00 Europe/Paris``, ``2025-01-06 Europe/Paris``; a zone and an offset
together are refused). Then every date or date-time without an offset is local wall-clock time
in that zone, daylight-saving time included: a local time that does not exist (the spring gap)
is invalid input, an ambiguous one (the autumn repeat) is the first occurrence. Hours stay
elapsed time (``model.clock``).

The loader runs ``resolve_instants`` on the raw YAML data before validation: calendar values
are replaced by ``Instant`` (a float of hours), which the schema's duration fields accept as is.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, tzinfo
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from pumpsim.errors import ScenarioError
from pumpsim.model.clock import Clock
from pumpsim.model.units import DurationError, format_duration_h, parse_duration_h
from pumpsim.scenario import grammar

DEFAULT_START = datetime(2026, 1, 1)

_CALENDAR = re.compile(grammar.CALENDAR_VALUE)
_CALENDAR_SHAPE = re.compile(grammar.CALENDAR_SHAPE)
_LOOKS_CALENDAR = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}")


class Instant(float):
    """An instant already resolved to hours from the start (from a calendar date)."""

    __slots__ = ()


class InstantError(ValueError):
    """A calendar instant that cannot be placed on the scenario clock."""


#: ``start:`` with a time zone: the date or date-time (no offset), one space, the zone's name.
_ZONED = re.compile(
    r"^(?P<when>\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?)"
    r"(?P<offset>Z|[+-]\d{2}(?::?\d{2})?)? (?P<zone>[A-Za-z][A-Za-z0-9_+\-/]*)$"
)


@cache
def zone_names() -> tuple[str, ...]:
    """The IANA time-zone names ``start:`` accepts (the ``zoneinfo`` database, ``tzdata``)."""
    from zoneinfo import available_timezones

    return tuple(sorted(available_timezones() - {"localtime", "Factory", "posixrules"}))


def start_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``start:``: what ``parse_start`` reads (contract sections 1 and 11)."""
    return {
        "type": "string",
        "anyOf": [
            {"pattern": grammar.CALENDAR_VALUE},
            {"pattern": grammar.zoned_start(zone_names())},
        ],
        "description": "the calendar date-time of t = 0: 2026-01-01, 2026-01-01T08:00, "
        "2026-01-01T08:00+01:00, or local time in an IANA time zone: 2026-01-01T08:00 "
        "Europe/Paris",
    }


def parse_start(value: Any) -> datetime:
    """``start:`` as a datetime: naive, aware with a fixed offset, or aware in an IANA time zone
    (``2025-01-06T08:00 Europe/Paris``). Raises InstantError."""
    if value is None:
        return DEFAULT_START
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    if isinstance(value, str):
        text = value.strip()
        zoned = _ZONED.match(text)
        if zoned:
            return _zoned_start(zoned, value)
        if _CALENDAR_SHAPE.match(text):
            return _read_calendar(text, f"start {value!r}")
        if re.fullmatch(r"\S+\s+\S+", text) and not re.fullmatch(r"\S+ \S+", text):
            # printed on one line, two spaces would read as one: say what is wrong
            raise InstantError(
                f"start {value!r}: separate the date-time and the time zone by one space"
            )
        raise InstantError(
            f"start {value!r} is not an ISO date-time (e.g. 2026-01-01, 2026-01-01T08:00+01:00 "
            "or 2026-01-01T08:00 Europe/Paris)"
        )
    raise InstantError(f"start must be an ISO date-time, got {type(value).__name__}")


def _zoned_start(match: re.Match[str], value: str) -> datetime:
    name = match["zone"]
    if match["offset"]:
        raise InstantError(
            f"start {value!r} gives both a UTC offset and a time zone: give one (the zone "
            "knows its own offset, daylight-saving time included)"
        )
    if name not in zone_names():
        close = [z for z in zone_names() if z.lower() == name.lower()]
        hint = f"; did you mean {close[0]!r}?" if close else " (an IANA name such as Europe/Paris)"
        raise InstantError(f"unknown time zone {name!r}{hint}")
    wall = _read_calendar(match["when"], f"start {value!r}")
    return local_time(wall, ZoneInfo(name), value)


def local_time(wall: datetime, zone: tzinfo, shown: str) -> datetime:
    """A naive wall-clock time in ``zone`` as an aware datetime: the first of an ambiguous
    (autumn) time; a time in the spring gap does not exist and raises InstantError."""
    moment = wall.replace(tzinfo=zone, fold=0)
    if moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
        raise InstantError(
            f"{shown!r} does not exist in {getattr(zone, 'key', zone)}: the clocks go forward "
            "that night (daylight-saving time), so that local time is skipped"
        )
    return moment


def _read_calendar(text: str, shown: str) -> datetime:
    """A date or date-time of the shape ``CALENDAR_SHAPE`` that must exist (``grammar``)."""
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError as exc:
        raise InstantError(f"{shown} is not a calendar date-time: {exc}") from None
    if not _CALENDAR.match(text):  # fromisoformat is lenient: +01:60, a fraction of 7 digits
        raise InstantError(
            f"{shown} is not a calendar date-time: hours run 00-23, minutes and seconds 00-59, "
            "a UTC offset below 24 h"
        )
    return moment


def calendar_value(value: Any) -> datetime | None:
    """The calendar date-time a scenario value names, or None when it is not a calendar value.

    A date alone becomes its midnight. Raises InstantError for a malformed date such as
    ``2026-13-01``.
    """
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not _LOOKS_CALENDAR.match(text):
        return None
    if _CALENDAR_SHAPE.match(text):
        return _read_calendar(text, repr(value))
    raise InstantError(
        f"{value!r} is not a calendar date or date-time: use 2026-03-27, 2026-03-27T09:30 or "
        "2026-03-27T09:30+01:00"
    )


def hours_on_clock(instant: datetime, clock: Clock, *, text: str | None = None) -> float:
    """Hours from the start of ``clock`` to a calendar instant (no range check)."""
    shown = text if text is not None else instant.isoformat()
    if instant.tzinfo is None and clock.zone is not None:
        instant = local_time(instant, clock.zone, shown)  # local wall-clock time in the zone
    if instant.tzinfo is None:
        return (instant - clock.start).total_seconds() / 3600.0
    if clock.utc_offset is None:
        raise InstantError(
            f"{shown!r} has a UTC offset but start: has none, so the two cannot be compared; "
            "give start: its offset (e.g. start: 2026-01-01T00:00+01:00) or drop this one"
        )
    start_utc = clock.start - clock.utc_offset
    offset = instant.utcoffset()
    assert offset is not None
    return ((instant.replace(tzinfo=None) - offset) - start_utc).total_seconds() / 3600.0


def instant_hours(
    value: Any, clock: Clock, end_h: float | None, *, text: str | None = None
) -> float | None:
    """Hours from the start for a calendar value, range-checked; None if ``value`` is no date.

    Raises InstantError naming both dates when the instant is before the start or after the end.
    """
    instant = calendar_value(value)
    if instant is None:
        return None
    shown = text if text is not None else str(value)
    hours = hours_on_clock(instant, clock, text=shown)
    check_in_range(hours, clock, end_h, shown)
    return hours


def check_in_range(hours: float, clock: Clock, end_h: float | None, shown: str) -> None:
    """Raise InstantError when ``hours`` falls before the start or after the end."""
    if hours < 0:
        raise InstantError(
            f"{_shown(shown, hours, clock)} is before the start of the scenario, "
            f"{clock.date_time(0.0)}"
        )
    if end_h is not None and hours > end_h:
        raise InstantError(
            f"{_shown(shown, hours, clock)} is after the end of the scenario, {clock.label(end_h)}"
        )


def _shown(text: str, hours: float, clock: Clock) -> str:
    """The instant as written, with its place on the scenario clock when that differs."""
    where = clock.date_time(hours)
    span = format_duration_h(hours)
    if where.startswith(text.strip().replace("T", " ")):
        return f"{where} ({span})"
    return f"{text} ({where}, {span})"


def scenario_clock(data: dict[str, Any]) -> Clock | None:
    """The clock of raw scenario data (None when ``start:`` is invalid: validation reports it)."""
    try:
        return Clock.of(parse_start(data.get("start")))
    except InstantError:
        return None


def scenario_end_h(data: dict[str, Any]) -> float | None:
    """The raw scenario's duration in hours (None when invalid: validation reports it)."""
    try:
        return parse_duration_h(data.get("duration"))
    except DurationError:
        return None


def instant_paths(data: dict[str, Any]) -> list[tuple[object, ...]]:
    """Every key path of raw scenario data that holds an instant on the scenario clock."""
    paths: list[tuple[object, ...]] = []
    for i, ev in enumerate(_list(data.get("events"))):
        if isinstance(ev, dict) and "at" in ev:
            paths.append(("events", i, "at"))
    for i, exp in enumerate(_list(data.get("expect"))):
        if not isinstance(exp, dict):
            continue
        for key in ("at", "first_at"):
            if key in exp:
                paths.append(("expect", i, key))
        within = exp.get("first_within")
        if isinstance(within, list):
            paths.extend(("expect", i, "first_within", j) for j in range(len(within)))
    battery = data.get("pump", {}).get("battery") if isinstance(data.get("pump"), dict) else None
    if isinstance(battery, dict) and "eri_at" in battery:
        paths.append(("pump", "battery", "eri_at"))
    return paths


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _get(data: Any, path: tuple[object, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def _put(data: Any, path: tuple[object, ...], value: Any) -> None:
    _get(data, path[:-1])[path[-1]] = value


def resolve_instants(data: dict[str, Any], *, line_of: Any = None, file: str | None = None) -> None:
    """Replace every calendar instant in raw scenario data by its ``Instant`` (in place).

    Raises ScenarioError (with the key path; the line when ``line_of`` is given) for a malformed
    date, an offset the start cannot honour, or an instant outside the scenario.
    """
    clock = scenario_clock(data)
    if clock is None:
        return
    end_h = scenario_end_h(data)
    for path in instant_paths(data):
        value = _get(data, path)
        try:
            hours = instant_hours(value, clock, end_h)
        except InstantError as exc:
            line = line_of(path) if line_of is not None else None
            raise ScenarioError(str(exc), file=file, path=path, line=line) from None
        if hours is not None:
            _put(data, path, Instant(hours))
