"""What a device or drug profile file may hold: the kind and range of every parameter it gives.

A profile on ``PUMPSIM_PROFILE_PATH`` is user input like a scenario, so it is checked as data
before the model sees a number of it: every parameter with a value and a pedigree (``source`` or
``assumed``), every number finite, every interval a positive duration, every alarm with its
priority, response and meaning. A failure is a ``ProfileFileError`` naming the file, the key
path and its line (exit 2), never a KeyError or a ZeroDivisionError deep in a run.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from pumpsim.errors import ScenarioError
from pumpsim.model.profile import ALARM_NAMES, ALARM_RESPONSES, ProfileError
from pumpsim.model.units import DurationError, parse_duration_h
from pumpsim.scenario.limits import MAX_DURATION_H, MAX_VOLUME_ML
from pumpsim.scenario.yamlsafe import LocatedYaml

Path = tuple[object, ...]
#: A check of one value: returns None when it is fine, else what is wrong.
Rule = Callable[[Any], str | None]

PRIORITIES = ("critical", "non_critical")


class ProfileFileError(ScenarioError, ProfileError):
    """A profile file that is not valid data: invalid input naming the file, key and line.

    Both a ScenarioError (every command reports it as invalid input, exit 2) and a ProfileError
    (code that catches a profile problem keeps catching it).
    """


class ProfileNotFound(ProfileError):
    """No profile of that name in ``PUMPSIM_PROFILE_PATH`` or the package."""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def number(low: float = -math.inf, *, above: float | None = None, high: float = math.inf) -> Rule:
    """A finite number in [low, high] (and > ``above`` when given)."""

    def rule(value: Any) -> str | None:
        if not _is_number(value):
            return f"{value!r} is not a number"
        if not math.isfinite(value):
            return f"{value!r} is not a finite number"
        if above is not None and not value > above:
            return f"{value!r} must be above {above:g}"
        if not low <= value <= high:
            bounds = f">= {low:g}" if high == math.inf else f"between {low:g} and {high:g}"
            return f"{value!r} must be {bounds}"
        return None

    return rule


def whole(low: int = 1, high: int = 10_000) -> Rule:
    """A whole number in [low, high]."""

    def rule(value: Any) -> str | None:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            return f"{value!r} must be a whole number between {low} and {high}"
        return None

    return rule


def duration(*, zero: bool = False) -> Rule:
    """A duration with a unit (``10min``), positive (or zero when ``zero``), at most 100 years."""

    def rule(value: Any) -> str | None:
        try:
            hours = parse_duration_h(value)
        except DurationError as exc:
            return str(exc)
        if hours <= 0 and not zero:
            return f"{value!r} must be a positive duration"
        if hours > MAX_DURATION_H:
            return f"{value!r} is longer than 100 years"
        return None

    return rule


def text(value: Any) -> str | None:
    """A non-empty string."""
    if not isinstance(value, str) or not value.strip():
        return f"{value!r} must be a text"
    return None


def listing(item: Rule) -> Rule:
    """A non-empty list whose every item follows ``item``."""

    def rule(value: Any) -> str | None:
        if not isinstance(value, list) or not value:
            return f"{value!r} must be a non-empty list"
        for i, x in enumerate(value):
            why = item(x)
            if why:
                return f"item {i + 1}: {why}"
        return None

    return rule


def numeric_key(rule: Rule) -> Rule:
    """A mapping key that reads as a number following ``rule`` (YAML keys arrive as text)."""

    def check(key: Any) -> str | None:
        try:
            value = float(key)
        except (TypeError, ValueError):
            return f"{key!r} is not a number"
        return rule(value)

    return check


def mapping(key: Rule, item: Rule) -> Rule:
    """A non-empty mapping whose keys follow ``key`` and values ``item``."""

    def rule(value: Any) -> str | None:
        if not isinstance(value, dict) or not value:
            return f"{value!r} must be a non-empty mapping"
        for k, x in value.items():
            why = key(k) or item(x)
            if why:
                return f"{k!r}: {why}"
        return None

    return rule


_VOLUME = number(0.0, high=MAX_VOLUME_ML)
_POSITIVE = number(above=0.0)

#: Every parameter a device profile must give, with its rule.
DEVICE_PARAMETERS: dict[str, Rule] = {
    "reservoir_sizes_ml": listing(number(above=0.0, high=MAX_VOLUME_ML)),
    "flow_rate_min_ml_per_day": _POSITIVE,
    "flow_rate_max_ml_per_day": _POSITIVE,
    "flex_max_steps_per_day": whole(1, 1_440),
    "accuracy_spec_fraction": number(0.0),
    "accuracy_plausible_above": number(),
    "accuracy_plausible_max": number(),
    "low_reservoir_alarm_ml": _VOLUME,
    "empty_reservoir_alarm_ml": _VOLUME,
    "min_rate_ml_per_day": number(0.0),
    "noncritical_tone_interval": duration(),
    "noncritical_tone": text,
    "critical_tone_interval": duration(),
    "critical_tone": text,
    "eos_after_eri": duration(),
    "hard_stop_life": duration(),
    "battery_idle_longevity": duration(),
    "battery_volume_capacity_ml": _POSITIVE,
    "refill_discrepancy_ml": mapping(numeric_key(number(above=0.0, high=MAX_VOLUME_ML)), _VOLUME),
    "ptm_bolus_duration": duration(),
    "pocket_fill_watch": duration(),
}

#: Parameters a device profile may give (the alarm tones); checked when present.
OPTIONAL_DEVICE_PARAMETERS: dict[str, Rule] = {
    "critical_tone_duration": duration(),
    "critical_tone_pulse": duration(),
    "critical_tone_frequencies_hz": listing(_POSITIVE),
    "noncritical_tone_duration": duration(),
    "noncritical_tone_frequency_hz": _POSITIVE,
    "tone_harmonic_levels_db": listing(number()),
    "tone_level_dbfs": number(),
    "tone_ramp": duration(zero=True),
}

#: Every parameter a drug profile must give.
DRUG_PARAMETERS: dict[str, Rule] = {
    "csf_half_life": duration(),
    "concentrations_mcg_per_ml": listing(_POSITIVE),
}


def _first_non_finite(value: Any, path: Path) -> Path | None:
    """The path of the first NaN or infinity anywhere inside ``value`` (iteratively)."""
    stack: list[tuple[Any, Path]] = [(value, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            return where
        if isinstance(node, dict):
            stack.extend((v, (*where, k)) for k, v in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((v, (*where, i)) for i, v in reversed(list(enumerate(node))))
    return None


class ProfileReader:
    """Checks one profile file's data and raises ``ProfileFileError`` at the first problem."""

    def __init__(self, located: LocatedYaml, file: str) -> None:
        self.located = located
        self.file = file
        self.raw = located.data

    def fail(self, path: Path, message: str) -> ProfileFileError:
        """The error for the key at ``path``, with its line."""
        return ProfileFileError(message, file=self.file, path=path, line=self.located.line_of(path))

    def top(self, name: str, *, device: bool) -> None:
        """The file is a mapping named after its file, with the sections a profile has."""
        if not isinstance(self.raw, dict):
            raise self.fail((), "a profile is a mapping of name, parameters, ...")
        if self.raw.get("name") != name:
            raise self.fail(
                ("name",), f"name {self.raw.get('name')!r} must be the file's name, {name!r}"
            )
        sections = ("parameters", "alarms") if device else ("parameters",)
        for section in sections:
            if not isinstance(self.raw.get(section), dict):
                raise self.fail((section,), f"missing or not a mapping: a profile gives {section}")
        where = _first_non_finite(self.raw, ())
        if where is not None:
            raise self.fail(where, "NaN and infinities are not values")

    def section(
        self, section: str, required: dict[str, Rule], optional: dict[str, Rule] | None = None
    ) -> dict[str, Any]:
        """The entries of ``section`` ({key: {value, source | assumed}}), their values checked."""
        entries = self.raw.get(section) or {}
        if not isinstance(entries, dict):
            raise self.fail((section,), "must be a mapping of parameters")
        for key, entry in entries.items():
            where = (section, key)
            if not isinstance(entry, dict) or "value" not in entry:
                raise self.fail(where, "has no value")
            if not entry.get("source") and not entry.get("assumed"):
                raise self.fail(where, "has neither source nor assumed")
        for key, rule in {**(optional or {}), **required}.items():
            if key not in entries:
                if key in required:
                    raise self.fail((section,), f"missing parameter {key}")
                continue
            why = rule(entries[key]["value"])
            if why:
                raise self.fail((section, key, "value"), why)
        return entries

    def alarms(self) -> dict[str, dict[str, Any]]:
        """The alarm table: every alarm the firmware raises, each fully described."""
        table = self.raw["alarms"]
        for alarm, spec in table.items():
            where: Path = ("alarms", alarm)
            if not isinstance(spec, dict):
                raise self.fail(where, "give priority, response, meaning and source")
            for key in ("priority", "response", "meaning"):
                if key not in spec:
                    raise self.fail(where, f"has no {key}")
            if spec["priority"] not in PRIORITIES:
                raise self.fail(
                    (*where, "priority"),
                    f"unknown priority {spec['priority']!r}; known: {', '.join(PRIORITIES)}",
                )
            if spec["response"] not in ALARM_RESPONSES:
                raise self.fail(
                    (*where, "response"),
                    f"unknown response {spec['response']!r}; known: {', '.join(ALARM_RESPONSES)}",
                )
            why = text(spec["meaning"])
            if why:
                raise self.fail((*where, "meaning"), why)
            if not spec.get("source") and not spec.get("assumed"):
                raise self.fail(where, "has neither source nor assumed")
        missing = [a for a in ALARM_NAMES if a not in table]
        if missing:
            raise self.fail(("alarms",), f"missing alarm {', '.join(missing)}")
        return table

    def ordered(self, low_key: str, high_key: str, *, strict: bool = True) -> None:
        """Parameter ``low_key`` lies below ``high_key``."""
        p = self.raw["parameters"]
        low, high = p[low_key]["value"], p[high_key]["value"]
        if (low >= high) if strict else (low > high):
            raise self.fail(
                ("parameters", low_key, "value"),
                f"{low_key} {low!r} must be below {high_key} {high!r}",
            )
