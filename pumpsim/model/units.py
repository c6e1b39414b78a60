"""Durations with units, and the few unit conversions the model needs.

The engine's one time unit is the hour; every duration is converted here, at the edge.
A bare number is never a duration: units are never guessed.
"""

from __future__ import annotations

import math
import re
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
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(y|w|d|h|min|s)")
_COMPACT = re.compile(r"^(?:\s*\d+(?:\.\d+)?\s*(?:y|w|d|h|min|s))+\s*$")
_ISO = re.compile(
    r"^P(?:(?P<y>\d+(?:\.\d+)?)Y)?(?:(?P<w>\d+(?:\.\d+)?)W)?(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<min>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def hour_of_day(moment: time | datetime) -> float:
    """Hours after midnight of a wall-clock time (``08:30`` -> 8.5)."""
    return moment.hour + moment.minute / 60.0 + moment.second / SECONDS_PER_HOUR


class DurationError(ValueError):
    """A duration string that cannot be read."""


def parse_duration_h(value: object) -> float:
    """Return the duration in hours of a string such as ``90d``, ``2d6h30min`` or ``P90DT6H``.

    Raises DurationError for bare numbers, unknown units, months (ambiguous) and negatives.
    """
    if isinstance(value, (bool, int | float)):
        raise DurationError(
            f"bare number {value!r} is not a duration: give a unit, e.g. '{value}d' or '{value}h'"
        )
    if not isinstance(value, str):
        raise DurationError(f"expected a duration string such as '90d', got {type(value).__name__}")
    text = value.strip()
    if not text:
        raise DurationError("empty duration")
    if text.startswith("-"):
        raise DurationError(f"negative duration {value!r}")
    if _COMPACT.match(text):
        return sum(float(n) * _UNIT_HOURS[u] for n, u in _PART.findall(text))
    iso = _ISO.match(text)
    if iso and iso.group("y") is not None:
        raise DurationError(f"{value!r}: years are ambiguous; give days or weeks, e.g. 'P365D'")
    if iso and text not in ("P", "PT") and not text.endswith("T"):
        parts = iso.groupdict()
        return sum(float(v) * _UNIT_HOURS[k] for k, v in parts.items() if v is not None)
    if re.match(r"^P.*\d+M", text) and "T" not in text.split("M")[0]:
        raise DurationError(f"{value!r}: months are ambiguous; give days, e.g. 'P90D'")
    try:
        float(text)
    except ValueError:
        pass
    else:
        raise DurationError(
            f"bare number {value!r} is not a duration: give a unit, e.g. '{text}d' or '{text}h'"
        )
    raise DurationError(
        f"cannot read duration {value!r}: use y, w, d, h, min, s (e.g. '2d6h30min') or ISO 8601 "
        "(e.g. 'P2DT6H')"
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
