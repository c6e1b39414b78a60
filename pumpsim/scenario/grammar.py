"""The text forms the scenario contract accepts, as regular expressions shared by the reader and
the published JSON Schemas (``pumpsim schema``), so that both accept the same strings.

Every pattern here is anchored (``^...$``) and written in the common subset of Python's ``re`` and
ECMA-262 (what JSON Schema validators and editors use): no possessive quantifiers, no inline
flags, no ``\\Z``; digits are ASCII ``[0-9]`` (Python's ``\\d`` takes any script's digits). A
calendar date is checked in the pattern itself (``2026-02-30`` and ``2025-02-29`` do not match,
``2024-02-29`` does), so an editor refuses what the tool refuses without format checking.

Tests check each pattern against the function that reads the same text (``dates``,
``units.parse_duration_h``, ``therapy.clock_to_h``) on generated strings.
"""

from __future__ import annotations

#: Whitespace the reader strips around a value.
_WS = r"\s*"

# -- calendar dates ---------------------------------------------------------------------------
_YEAR = r"(?:000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"
_MONTH_DAY = (
    r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    r"|02-(?:0[1-9]|1[0-9]|2[0-8]))"
)
#: Years with a 29 February: divisible by 4 and not by 100, or divisible by 400.
_LEAP_YEAR = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
#: A calendar date that exists, ``YYYY-MM-DD``.
DATE = rf"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"
#: A time of day, ``HH:MM`` with optional seconds and a decimal fraction.
TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]+)?)?"
#: A UTC offset: ``Z``, ``+01``, ``+0100`` or ``+01:00``.
OFFSET = r"(?:Z|[+-](?:[01][0-9]|2[0-3])(?::?[0-5][0-9])?)"
#: A date or a date-time (``T`` or one space between them), without an offset.
LOCAL_DATE_TIME = rf"{DATE}(?:[T ]{TIME})?"

#: The structure of a calendar value (digits in the right places, the date not yet checked):
#: what looks like a date but fails ``CALENDAR_VALUE`` is a malformed date, not a duration.
CALENDAR_SHAPE = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"
    r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?$"
)
#: A calendar date or date-time, with an optional UTC offset (an instant in a scenario, a cell
#: of a clinic log).
CALENDAR_VALUE = rf"^{_WS}{LOCAL_DATE_TIME}{OFFSET}?{_WS}$"


def zoned_start(zone_names: tuple[str, ...]) -> str:
    """``start:`` with an IANA time zone: a date or date-time without an offset, one space, and
    one of ``zone_names``."""
    names = "|".join(name.replace("+", r"\+") for name in zone_names)
    return rf"^{_WS}{LOCAL_DATE_TIME} (?:{names}){_WS}$"


# -- durations --------------------------------------------------------------------------------
# ``\\d`` as ``units.parse_duration_h`` reads it (any script's digits, in Python)
_NUMBER = r"\d+(?:\.\d+)?"
_COMPACT = rf"(?:\s*{_NUMBER}\s*(?:y|w|d|h|min|s))+"
#: ISO 8601 in weeks, days, hours, minutes and seconds (``P2W``, ``P90DT6H``); no years or
#: months, whose length is ambiguous; ``P`` and a ``T`` with nothing after it are refused.
_ISO = (
    rf"P(?=\d|T\d)(?:{_NUMBER}W)?(?:{_NUMBER}D)?"
    rf"(?:T(?=\d)(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?"
)
#: A duration with its unit: ``90d``, ``2d6h30min``, ``P90DT6H`` (zero allowed).
DURATION = rf"^{_WS}(?:{_COMPACT}|{_ISO}){_WS}$"
#: A duration longer than zero: some digit is not 0.
POSITIVE_DURATION = rf"^(?=[^1-9]*[1-9]){_WS}(?:{_COMPACT}|{_ISO}){_WS}$"

# -- other text -------------------------------------------------------------------------------
#: A time of day for a flex step: ``H:MM`` or ``HH:MM`` from 00:00 to 23:59.
CLOCK_TIME = rf"^{_WS}(?:[01]?[0-9]|2[0-3]):[0-5][0-9]{_WS}$"
#: The first step of a flex day starts at midnight.
MIDNIGHT = rf"^{_WS}0?0:00{_WS}$"
#: A vertebral level (``T4``, ``t-4``, ``C6``): letters in any case, dashes anywhere.
_D = "-*"
INJURY_LEVEL = (
    rf"^{_WS}{_D}(?:[Cc]{_D}[1-8]|[Tt]{_D}(?:[1-9]|1{_D}[0-2])|[LlSs]{_D}[1-5]){_D}{_WS}$"
)


def any_case(word: str) -> str:
    """A pattern matching ``word`` in any letter case (``[Rr][Ee]...``): JSON Schema patterns
    take no case-insensitive flag."""
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word)


def one_of_words(words: tuple[str, ...] | list[str], *, empty: bool = False) -> str:
    """Any of ``words`` in any case, with the whitespace the reader strips; or nothing."""
    body = "|".join(any_case(w) for w in words)
    return rf"^{_WS}(?:{body}){_WS}$" + (rf"|^{_WS}$" if empty else "")


# -- clinic-log cells -------------------------------------------------------------------------
#: A number in a clinic-log cell: plain decimal notation as spreadsheets export it (``12``,
#: ``12.5``, ``.5``, ``+3``); no exponent, no thousands separator, never negative.
_CELL_DIGITS = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
CELL_NUMBER = rf"^{_WS}\+?{_CELL_DIGITS}{_WS}$"
#: A cell number above zero (some digit is not 0).
CELL_POSITIVE = rf"^(?=[^1-9]*[1-9]){_WS}\+?{_CELL_DIGITS}{_WS}$"
#: A cell number from 0 to 1.
CELL_FRACTION = rf"^(?=\D*[0-9]){_WS}\+?(?:0*(?:\.[0-9]*)?|\.[0-9]+|0*1(?:\.0*)?){_WS}$"
_STEP_DOSE = rf"{_WS}=\s*\+?{_CELL_DIGITS}{_WS}"
#: A flex programme in one cell: ``00:00=10;08:00=30`` (mcg/h), the first step at midnight.
FLEX_STEPS = (
    rf"^[\s;]*0?0:00{_STEP_DOSE}"
    rf"(?:;[\s;]*(?:[01]?[0-9]|2[0-3]):[0-5][0-9]{_STEP_DOSE})*[\s;]*$"
)
