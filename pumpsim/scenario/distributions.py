"""Distributions a sweep file draws from (contract section 8).

``{normal: {mean, sd}}``, ``{lognormal: {median, sigma}}``, ``{uniform: {low, high}}``,
``{exponential: {mean}}``, ``{choice: {value: weight, ...}}`` and ``{fixed: value}``. Numeric
parameters are either all plain numbers or all durations with units (``57d``, ``15d``); a
duration distribution draws hours. Draws take a ``numpy.random.Generator`` so that every stream
is reproducible on its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pumpsim.model.units import DurationError, parse_duration_h

KINDS = ("normal", "lognormal", "uniform", "exponential", "choice", "fixed")
_PARAMS = {
    "normal": ("mean", "sd"),
    "lognormal": ("median", "sigma"),
    "uniform": ("low", "high"),
    "exponential": ("mean",),
}
#: Redraw limit for interval draws below the minimum (a distribution almost always below it is
#: a mistake in the sweep file, reported rather than looped on).
MAX_REDRAWS = 1000


class DistributionError(ValueError):
    """A malformed distribution; ``path`` is the key path inside it."""

    def __init__(self, message: str, path: tuple[object, ...] = ()) -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True)
class Distribution:
    """One parsed distribution. ``is_duration``: draws are hours (the file gave units)."""

    kind: str
    params: tuple[float, ...] = ()
    choices: tuple[Any, ...] = ()
    cumulative: tuple[float, ...] = ()
    value: Any = None
    is_duration: bool = False

    def draw(self, rng: Any) -> Any:
        """One draw (hours for a duration distribution)."""
        kind = self.kind
        if kind == "fixed":
            return self.value
        if kind == "normal":
            return float(self.params[0] + self.params[1] * rng.standard_normal())
        if kind == "lognormal":
            return float(self.params[0] * math.exp(self.params[1] * rng.standard_normal()))
        if kind == "uniform":
            lo, hi = self.params
            return float(lo + (hi - lo) * rng.random())
        if kind == "exponential":
            return float(self.params[0] * rng.standard_exponential())
        u = rng.random()
        for value, edge in zip(self.choices, self.cumulative, strict=True):
            if u < edge:
                return value
        return self.choices[-1]

    def draw_interval(self, rng: Any, minimum: float) -> float:
        """A draw of at least ``minimum`` (drawn again while below it)."""
        for _ in range(MAX_REDRAWS):
            value = self.draw(rng)
            if value >= minimum:
                return float(value)
        raise DistributionError(
            f"{MAX_REDRAWS} draws in a row fell below the minimum interval ({minimum:g} h)"
        )

    def mean(self) -> float | None:
        """The distribution's mean where it is numeric (used for sanity checks and docs)."""
        if self.kind == "fixed":
            return float(self.value) if isinstance(self.value, int | float) else None
        if self.kind == "normal" or self.kind == "exponential":
            return self.params[0]
        if self.kind == "lognormal":
            return self.params[0] * math.exp(self.params[1] ** 2 / 2)
        if self.kind == "uniform":
            return (self.params[0] + self.params[1]) / 2
        return None


def cumulative_shares(weights: list[float]) -> list[float]:
    """Cumulative shares of positive-sum weights, the last exactly 1 (one uniform draw picks)."""
    total = sum(weights)
    out, run = [], 0.0
    for w in weights:
        run += w
        out.append(run / total)
    out[-1] = 1.0
    return out


def _number(value: Any, path: tuple[object, ...]) -> tuple[float, bool]:
    """A parameter as (value, is_duration): a plain number, or a duration string in hours."""
    if isinstance(value, bool):
        raise DistributionError(f"{value!r} is not a number or a duration", path)
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise DistributionError(f"{value!r} is not a finite number", path)
        return float(value), False
    if isinstance(value, str):
        try:
            return parse_duration_h(value), True
        except DurationError as exc:
            raise DistributionError(str(exc), path) from None
    raise DistributionError(f"{value!r} is not a number or a duration", path)


def parse_distribution(spec: Any, *, duration: bool | None = None) -> Distribution:
    """Read one distribution mapping. ``duration``: True/False to require (or forbid) units.

    Raises DistributionError with the key path inside ``spec``.
    """
    if not isinstance(spec, dict) or len(spec) != 1:
        raise DistributionError(
            "a distribution is one of {normal: {mean, sd}}, {lognormal: {median, sigma}}, "
            "{uniform: {low, high}}, {exponential: {mean}}, {choice: {value: weight}}, "
            "{fixed: value}"
        )
    ((kind, body),) = spec.items()
    if kind not in KINDS:
        raise DistributionError(f"unknown distribution {kind!r}; known: {', '.join(KINDS)}")
    if kind == "fixed":
        if isinstance(body, str):
            try:
                hours = parse_duration_h(body)
            except DurationError:
                hours = None
            if hours is not None:
                return _checked(Distribution("fixed", value=hours, is_duration=True), duration)
        if isinstance(body, dict | list) or body is None:
            raise DistributionError("fixed takes one value", (kind,))
        if isinstance(body, float) and not math.isfinite(body):
            raise DistributionError(f"{body!r} is not a finite number", (kind,))
        return _checked(Distribution("fixed", value=body, is_duration=False), duration)
    if kind == "choice":
        if not isinstance(body, dict) or not body:
            raise DistributionError("choice takes a mapping {value: weight, ...}", (kind,))
        weights = []
        for value, weight in body.items():
            w, is_dur = _number(weight, (kind, value))
            if is_dur or w < 0:
                raise DistributionError(f"weight {weight!r} must be a number >= 0", (kind, value))
            weights.append(w)
        if sum(weights) <= 0:
            raise DistributionError("choice weights must not all be zero", (kind,))
        cumulative = cumulative_shares(weights)
        values = tuple(_choice_value(v) for v in body)
        is_dur = all(
            isinstance(v, float) and isinstance(k, str) for k, v in zip(body, values, strict=True)
        )
        return _checked(
            Distribution(
                "choice", choices=values, cumulative=tuple(cumulative), is_duration=is_dur
            ),
            duration,
        )
    names = _PARAMS[kind]
    if not isinstance(body, dict):
        raise DistributionError(f"{kind} takes a mapping with {', '.join(names)}", (kind,))
    unknown = [k for k in body if k not in names]
    if unknown:
        raise DistributionError(
            f"unknown key {unknown[0]!r}; {kind} takes {', '.join(names)}", (kind, unknown[0])
        )
    missing = [k for k in names if k not in body]
    if missing:
        raise DistributionError("required key is missing", (kind, missing[0]))
    parsed = [_number(body[k], (kind, k)) for k in names]
    if kind == "lognormal":  # sigma is a shape (log scale): always a plain number
        if parsed[1][1]:
            raise DistributionError("sigma is a plain number (log scale)", (kind, "sigma"))
        parsed = parsed[:1]
    units = {is_dur for _, is_dur in parsed}
    values = tuple(_number(body[k], (kind, k))[0] for k in names)
    if len(units) > 1:
        raise DistributionError(f"{kind}: give every parameter with a unit, or none", (kind,))
    is_dur = units.pop()
    if kind == "lognormal" and values[0] <= 0:
        raise DistributionError("median must be greater than zero", (kind, "median"))
    if kind in ("normal", "lognormal") and values[1] < 0:
        raise DistributionError(f"{names[1]} must not be negative", (kind, names[1]))
    if kind == "uniform" and values[1] < values[0]:
        raise DistributionError("high must not be below low", (kind, "high"))
    if kind == "exponential" and values[0] <= 0:
        raise DistributionError("mean must be greater than zero", (kind, "mean"))
    return _checked(Distribution(kind, params=values, is_duration=is_dur), duration)


def _choice_value(value: Any) -> Any:
    """A choice key: a duration string becomes hours; anything else stays as written."""
    if isinstance(value, str):
        try:
            return parse_duration_h(value)
        except DurationError:
            return value
    return value


def _checked(dist: Distribution, duration: bool | None) -> Distribution:
    if duration is True and not dist.is_duration:
        raise DistributionError("this is a duration: give values with units, e.g. '57d'")
    if duration is False and dist.is_duration:
        raise DistributionError("this is a number, not a duration")
    return dist
