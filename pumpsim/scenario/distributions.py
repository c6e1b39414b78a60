"""Distributions a sweep file draws from (contract section 8).

``{normal: {mean, sd}}``, ``{lognormal: {median, sigma}}``, ``{uniform: {low, high}}``,
``{exponential: {mean}}``, ``{choice: {value: weight, ...}}`` and ``{fixed: value}``. Numeric
parameters are either all plain numbers or all durations with units (``57d``, ``15d``); a
duration distribution draws hours. Any of them may add ``within: [low, high]``: a draw outside
is drawn again from the same stream (contract section 10). Draws take a
``numpy.random.Generator`` so that every stream is reproducible on its own.

Parameters whose draws could overflow a float (``lognormal: {sigma: 1000}``, weights summing
past 1e308) are refused when read (contract section 13), never met by a draw.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any

from pumpsim.model.units import DurationError, parse_duration_h

KINDS = ("normal", "lognormal", "uniform", "exponential", "choice", "fixed")
_PARAMS = {
    "normal": ("mean", "sd"),
    "lognormal": ("median", "sigma"),
    "uniform": ("low", "high"),
    "exponential": ("mean",),
}
#: Redraw limit for interval draws below the minimum and for ``within`` (a distribution almost
#: always outside is a mistake in the sweep file, reported rather than looped on).
MAX_REDRAWS = 1000
#: ``within`` must hold at least this share of the distribution, so that 1,000 tries fail with
#: a probability below 2e-9 (a share this small is refused when the file is read).
MIN_WITHIN_SHARE = 0.02
#: Standard deviations of the widest draw checked for overflow (numpy's normal and exponential
#: draws stay far inside: 2**-64 is about 9.3 sd of a normal, 44 means of an exponential).
OVERFLOW_SD = 50.0
_LOG_MAX = math.log(1.7e308)


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
    within: tuple[float, float] | None = None

    def draw(self, rng: Any) -> Any:
        """One draw (hours for a duration distribution), inside ``within`` when given.

        Raises DistributionError after ``MAX_REDRAWS`` draws outside ``within``.
        """
        if self.within is None:
            return self._draw(rng)
        low, high = self.within
        for _ in range(MAX_REDRAWS):
            value = self._draw(rng)
            if low <= value <= high:
                return value
        raise DistributionError(
            f"{MAX_REDRAWS} draws in a row fell outside within: [{low:g}, {high:g}]"
        )

    def _draw(self, rng: Any) -> Any:
        kind = self.kind
        if kind == "fixed":
            return self.value
        if kind == "normal":
            return float(self.params[0] + self.params[1] * rng.standard_normal())
        if kind == "lognormal":  # parameters checked: no overflow within OVERFLOW_SD
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

    def share_within(self, low: float, high: float) -> float:
        """The probability that one draw (before any ``within``) falls in ``[low, high]``."""
        kind, p = self.kind, self.params
        if kind == "fixed":
            return 1.0 if _inside(self.value, low, high) else 0.0
        if kind == "choice":
            shares = [b - a for a, b in zip((0.0, *self.cumulative), self.cumulative, strict=False)]
            return math.fsum(
                s for v, s in zip(self.choices, shares, strict=True) if _inside(v, low, high)
            )
        if kind == "uniform":
            if p[1] == p[0]:
                return 1.0 if low <= p[0] <= high else 0.0
            return max(0.0, min(high, p[1]) - max(low, p[0])) / (p[1] - p[0])
        if kind == "exponential":
            return _exp_cdf(high, p[0]) - _exp_cdf(low, p[0])
        if kind == "normal":
            return _normal_cdf(high, p[0], p[1]) - _normal_cdf(low, p[0], p[1])
        if low <= 0:  # lognormal
            return _normal_cdf(math.log(high), math.log(p[0]), p[1]) if high > 0 else 0.0
        return _normal_cdf(math.log(high), math.log(p[0]), p[1]) - _normal_cdf(
            math.log(low), math.log(p[0]), p[1]
        )


def _inside(value: Any, low: float, high: float) -> bool:
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    return numeric and low <= value <= high


def _exp_cdf(x: float, mean: float) -> float:
    return 0.0 if x <= 0 else -math.expm1(-x / mean)


def _normal_cdf(x: float, mean: float, sd: float) -> float:
    if sd == 0:
        return 1.0 if x >= mean else 0.0
    return 0.5 * math.erfc(-(x - mean) / (sd * math.sqrt(2.0)))


def cumulative_shares(weights: list[float]) -> list[float]:
    """Cumulative shares of positive-sum weights, the last exactly 1 (one uniform draw picks)."""
    total = math.fsum(weights)
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
        if _FLOAT.fullmatch(value):  # YAML 1.1 reads 1e308 (no dot, no sign) as text
            raise DistributionError(
                f"{value!r} is text to YAML, not a number: write it with a dot and a signed "
                "exponent (1.0e+308)",
                path,
            )
        try:
            return parse_duration_h(value), True
        except DurationError as exc:
            raise DistributionError(str(exc), path) from None
    raise DistributionError(f"{value!r} is not a number or a duration", path)


def parse_distribution(spec: Any, *, duration: bool | None = None) -> Distribution:
    """Read one distribution mapping. ``duration``: True/False to require (or forbid) units.

    Raises DistributionError with the key path inside ``spec``.
    """
    if isinstance(spec, dict) and "within" in spec:
        rest = {k: v for k, v in spec.items() if k != "within"}
        dist = parse_distribution(rest, duration=duration)
        return _with_within(dist, spec["within"])
    if not isinstance(spec, dict) or len(spec) != 1:
        raise DistributionError(
            "a distribution is one of {normal: {mean, sd}}, {lognormal: {median, sigma}}, "
            "{uniform: {low, high}}, {exponential: {mean}}, {choice: {value: weight}}, "
            "{fixed: value}, optionally with within: [low, high]"
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
        try:
            total = math.fsum(weights)
        except OverflowError:
            total = math.inf
        if not math.isfinite(total):
            raise DistributionError("choice weights must sum to a finite number", (kind,))
        if total <= 0:
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
    _check_overflow(kind, values)
    return _checked(Distribution(kind, params=values, is_duration=is_dur), duration)


def _check_overflow(kind: str, values: tuple[float, ...]) -> None:
    """Refuse parameters whose draws (within OVERFLOW_SD) would not be finite floats."""
    if kind == "lognormal":
        ok = math.log(values[0]) + OVERFLOW_SD * values[1] < _LOG_MAX
        which = "sigma"
    elif kind == "normal":
        ok = math.isfinite(abs(values[0]) + OVERFLOW_SD * values[1])
        which = "sd"
    elif kind == "uniform":
        ok = math.isfinite(values[1] - values[0])
        which = "high"
    else:
        ok = math.isfinite(values[0] * OVERFLOW_SD)
        which = "mean"
    if not ok:
        raise DistributionError(f"{which} is too large: draws would overflow", (kind, which))


def _with_within(dist: Distribution, raw: Any) -> Distribution:
    """``dist`` limited to ``within: [low, high]`` (units as the distribution's)."""
    path: tuple[object, ...] = ("within",)
    if not isinstance(raw, list) or len(raw) != 2:
        raise DistributionError("within takes [low, high]", path)
    bounds = [_number(v, (*path, i)) for i, v in enumerate(raw)]
    if any(is_dur != dist.is_duration for _, is_dur in bounds):
        unit = "with units, e.g. '1d'" if dist.is_duration else "as plain numbers"
        raise DistributionError(f"give within's bounds {unit}, like the distribution's", path)
    low, high = bounds[0][0], bounds[1][0]
    if high < low:
        raise DistributionError("within: high must not be below low", (*path, 1))
    share = dist.share_within(low, high)
    if share < MIN_WITHIN_SHARE:
        raise DistributionError(
            f"within [{raw[0]}, {raw[1]}] holds {100 * share:.3g} % of the distribution; "
            f"at least {100 * MIN_WITHIN_SHARE:g} % is needed (draws would almost never fall "
            "inside)",
            path,
        )
    return replace(dist, within=(low, high))


_INT = re.compile(r"[-+]?[0-9]+")
_FLOAT = re.compile(r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")
#: A YAML mapping key reaches us as text (the loader keeps keys as strings): a choice of
#: ``{20: 1, 40: 1}`` means the numbers 20 and 40, ``{true: 1, false: 3}`` the booleans.
_BOOLS = {"True": True, "False": False, "true": True, "false": False}


def _choice_value(value: Any) -> Any:
    """A choice key as the value it stands for: a number written as a number, a boolean, a
    duration in hours; any other text stays text."""
    if not isinstance(value, str):
        return value
    if _INT.fullmatch(value):
        return int(value)
    if _FLOAT.fullmatch(value) and math.isfinite(float(value)):
        return float(value)
    if value in _BOOLS:
        return _BOOLS[value]
    try:
        return parse_duration_h(value)
    except DurationError:
        return value


def _checked(dist: Distribution, duration: bool | None) -> Distribution:
    if duration is True and not dist.is_duration:
        raise DistributionError("this is a duration: give values with units, e.g. '57d'")
    if duration is False and dist.is_duration:
        raise DistributionError("this is a number, not a duration")
    return dist
