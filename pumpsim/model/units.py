"""Durations with units, and the few unit conversions the model needs.

The engine's one time unit is the hour; every duration is converted here, at the edge.
A bare number is never a duration: units are never guessed.
"""

from __future__ import annotations

import math
from datetime import datetime, time

SECONDS_PER_HOUR = 3600.0
HOURS_PER_DAY = 24.0
HOURS_PER_WEEK = 7 * HOURS_PER_DAY
#: A year is the Julian year (365.25 d), so `7y` is the same span whatever the start date.
HOURS_PER_YEAR = 365.25 * HOURS_PER_DAY

_UNIT_HOURS = {
    "y": HOURS_PER_YEAR,
    "w": HOURS_PER_WEEK,
    "d": HOURS_PER_DAY,
    "h": 1.0,
    "min": 1.0 / 60.0,
    "s": 1.0 / SECONDS_PER_HOUR,
}
#: ISO 8601 designators in the order they may appear: date part, then after ``T`` the time part.
_ISO_DATE = (("Y", "y"), ("W", "w"), ("D", "d"))
_ISO_TIME = (("H", "h"), ("M", "min"), ("S", "s"))
#: Inputs longer than this are shown shortened in messages (a message stays one short line).
_SHOWN_CHARS = 40


def hour_of_day(moment: time | datetime) -> float:
    """Hours after midnight of a wall-clock time (``08:30`` -> 8.5)."""
    return moment.hour + moment.minute / 60.0 + moment.second / SECONDS_PER_HOUR


class DurationError(ValueError):
    """A duration string that cannot be read."""


def parse_duration_h(value: object) -> float:
    """Return the duration in hours of a string such as ``90d``, ``2d6h30min`` or ``P90DT6H``.

    Raises DurationError for bare numbers, unknown units, ISO years and months (ambiguous),
    negatives and spans too long to be a number of hours (a 400-digit count is not infinity).
    The reader is a single left-to-right scan, so it answers in time linear in the input's
    length.
    """
    if isinstance(value, (bool, int | float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise DurationError(
                f"bare number {value!r} is not a duration, and no unit makes it one: e.g. '90d'"
            )
        raise DurationError(
            f"bare number {value!r} is not a duration: give a unit, e.g. '{value}d' or '{value}h'"
        )
    if not isinstance(value, str):
        raise DurationError(f"expected a duration string such as '90d', got {type(value).__name__}")
    text = value.strip()
    shown = _shown(value)
    if not text:
        raise DurationError("empty duration")
    if text.startswith("-"):
        raise DurationError(f"negative duration {shown}")
    parts = _compact_parts(text)
    if parts is None:
        iso = _iso_parts(text)
        if iso is not None and any(unit == "y" for _, unit in iso):
            raise DurationError(f"{shown}: years are ambiguous; give days or weeks, e.g. 'P365D'")
        if iso is not None and text not in ("P", "PT") and not text.endswith("T"):
            parts = iso
    if parts is not None:
        hours = sum(float(number) * _UNIT_HOURS[unit] for number, unit in parts)
        if not math.isfinite(hours):
            raise DurationError(f"{shown} is too long a duration to count in hours")
        return hours
    if _names_months(text):
        raise DurationError(f"{shown}: months are ambiguous; give days, e.g. 'P90D'")
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(number):  # 'nan', 'inf': no unit makes them a duration
            raise DurationError(
                f"bare number {shown} is not a duration, and no unit makes it one: e.g. '90d'"
            )
        raise DurationError(
            f"bare number {shown} is not a duration: give a unit, e.g. "
            f"'{_shorten(text)}d' or '{_shorten(text)}h'"
        )
    raise DurationError(
        f"cannot read duration {shown}: use y, w, d, h, min, s (e.g. '2d6h30min') or ISO 8601 "
        "(e.g. 'P2DT6H')"
    )


def _shorten(text: str) -> str:
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "..."


def _shown(value: str) -> str:
    """``repr`` of the input, cut short when long (a 100,000-digit input is not echoed)."""
    if len(value) <= _SHOWN_CHARS:
        return repr(value)
    return f"{value[:_SHOWN_CHARS]!r}... ({len(value):,} characters)"


def _number_end(text: str, i: int) -> int:
    """End of the number ``digits[.digits]`` starting at ``i`` (``i`` itself when there is none)."""
    n = len(text)
    j = i
    while j < n and text[j].isdecimal():
        j += 1
    if j == i:
        return i
    if j + 1 < n and text[j] == "." and text[j + 1].isdecimal():
        j += 2
        while j < n and text[j].isdecimal():
            j += 1
    return j


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def _compact_parts(text: str) -> list[tuple[str, str]] | None:
    """``2d 6h30min`` -> [("2", "d"), ("6", "h"), ("30", "min")], or None if it is not that form."""
    parts: list[tuple[str, str]] = []
    i = 0
    while True:
        i = _skip_space(text, i)
        if i == len(text):
            return parts or None
        end = _number_end(text, i)
        if end == i:
            return None
        number = text[i:end]
        i = _skip_space(text, end)
        if text.startswith("min", i):
            parts.append((number, "min"))
            i += 3
        elif i < len(text) and text[i] in "ywdhs":
            parts.append((number, text[i]))
            i += 1
        else:
            return None


def _iso_parts(text: str) -> list[tuple[str, str]] | None:
    """``P2DT6H`` -> [("2", "d"), ("6", "h")], or None if it is not an ISO 8601 duration."""
    if not text.startswith("P"):
        return None
    parts: list[tuple[str, str]] = []
    i = _iso_section(text, 1, _ISO_DATE, parts)
    if i < len(text) and text[i] == "T":
        i = _iso_section(text, i + 1, _ISO_TIME, parts)
    return parts if i == len(text) else None


def _iso_section(
    text: str, i: int, designators: tuple[tuple[str, str], ...], parts: list[tuple[str, str]]
) -> int:
    """Read ``nY``, ``nW``, ``nD`` (or ``nH``, ``nM``, ``nS``) in order, each optional."""
    for designator, unit in designators:
        end = _number_end(text, i)
        if end > i and end < len(text) and text[end] == designator:
            parts.append((text[i:end], unit))
            i = end + 1
    return i


def _names_months(text: str) -> bool:
    """An ISO duration with a month count (``P18M``, ``P1Y6M``): a digit then ``M`` before ``T``."""
    if not text.startswith("P") or "T" in text.split("M")[0]:
        return False
    first_line = text.split("\n", 1)[0]
    return any(
        first_line[j] == "M" and first_line[j - 1].isdecimal() for j in range(2, len(first_line))
    )


def format_duration_h(hours: float) -> str:
    """A compact human form of a span in hours: ``97d 12h``, ``1h 30min``, ``45s``."""
    if hours is None or math.isnan(hours):
        return "-"
    sign = "-" if hours < 0 else ""
    total_s = round(abs(hours) * SECONDS_PER_HOUR)
    days, rem = divmod(total_s, 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    parts = []
    if days:
        parts.append(f"{days}d")
    if h:
        parts.append(f"{h}h")
    if m:
        parts.append(f"{m}min")
    if s and not days:
        parts.append(f"{s}s")
    return sign + (" ".join(parts) if parts else "0s")
