"""Fault streams as data: catheter faults, motor stalls, pump faults and pocket fills.

Settings come from the sweep file's ``faults:`` section (or a scenario's), each omitted key
taking the device profile's default (``fault_parameters:`` in the profile YAML, each with its
source or assumed tag). Rates are Poisson hazards per patient-year; the catheter hazard is
``first_year_factor`` times higher in the catheter's first year after implant or revision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pumpsim.model.profile import DeviceProfile
from pumpsim.model.units import HOURS_PER_YEAR
from pumpsim.scenario.distributions import (
    Distribution,
    DistributionError,
    cumulative_shares,
    parse_distribution,
)
from pumpsim.scenario.events import CATHETER_FAULT_KINDS, PUMP_FAULT_KINDS

CATHETER_MODELS = ("reinforced", "silicone")
_SECTIONS = {
    "catheter": (
        "model",
        "rate_per_year",
        "first_year_factor",
        "kinds",
        "delivered_fraction",
        "repair_after",
    ),
    "motor_stall": ("rate_per_year",),
    "pump_fault": ("rate_per_year", "kinds"),
    "pocket_fill": ("per_refill", "fraction", "found_after"),
}


class SettingsError(ValueError):
    """A malformed ``faults:`` or ``clinic:`` section; ``path`` is the key path inside it."""

    def __init__(self, message: str, path: tuple[object, ...] = ()) -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True)
class Choice:
    """Named outcomes with cumulative probabilities (drawn with one uniform number)."""

    names: tuple[str, ...]
    cumulative: tuple[float, ...]

    def draw(self, rng: Any) -> str:
        """One outcome."""
        u = rng.random()
        for name, edge in zip(self.names, self.cumulative, strict=True):
            if u < edge:
                return name
        return self.names[-1]


@dataclass(frozen=True)
class FaultModel:
    """Resolved fault settings of one grid point. Rates are per hour."""

    catheter_model: str
    catheter_rate_per_h: float
    catheter_first_year_factor: float
    catheter_kinds: Choice
    delivered_fraction: dict[str, Distribution]
    repair_after: Distribution
    motor_stall_rate_per_h: float
    pump_fault_rate_per_h: float
    pump_fault_kinds: Choice
    pocket_fill_per_refill: float
    pocket_fill_fraction: Distribution
    pocket_fill_found_after: Distribution

    def next_catheter_fault_h(self, rng: Any, age_h: float) -> float:
        """Hours from now to the next catheter fault of a catheter ``age_h`` old (inf: never).

        Inverse of the cumulative hazard of a piecewise-constant hazard: ``factor * rate``
        during the first year after implant, ``rate`` after it.
        """
        rate = self.catheter_rate_per_h
        if rate <= 0.0:
            return math.inf
        target = rng.standard_exponential()
        if age_h < HOURS_PER_YEAR:
            early = rate * self.catheter_first_year_factor
            first = early * (HOURS_PER_YEAR - age_h)
            if target < first:
                return target / early
            return (HOURS_PER_YEAR - age_h) + (target - first) / rate
        return target / rate


def _choice(weights: Any, allowed: tuple[str, ...], path: tuple[object, ...]) -> Choice:
    if not isinstance(weights, dict) or not weights:
        raise SettingsError("give a mapping {kind: weight, ...}", path)
    names, values = [], []
    for name, weight in weights.items():
        if name not in allowed:
            raise SettingsError(
                f"unknown kind {name!r}; known: {', '.join(allowed)}", (*path, name)
            )
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight >= 0:
            raise SettingsError(f"weight {weight!r} must be a number >= 0", (*path, name))
        names.append(str(name))
        values.append(float(weight))
    total = sum(values)
    if not math.isfinite(total) or total <= 0:
        raise SettingsError("weights must not all be zero", path)
    return Choice(tuple(names), tuple(cumulative_shares(values)))


def _rate(value: Any, path: tuple[object, ...], upper: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SettingsError(f"{value!r} must be a number", path)
    if value < 0 or (upper is not None and value > upper):
        bound = f" and <= {upper:g}" if upper is not None else ""
        raise SettingsError(f"{value!r} must be >= 0{bound}", path)
    return float(value)


def _dist(spec: Any, path: tuple[object, ...], duration: bool | None) -> Distribution:
    try:
        return parse_distribution(spec, duration=duration)
    except DistributionError as exc:
        raise SettingsError(str(exc), (*path, *exc.path)) from None


def no_faults(profile: DeviceProfile) -> FaultModel:
    """A fault model with every rate at zero (``faults: none``)."""
    model = resolve_faults({}, profile)
    return FaultModel(
        **{
            **model.__dict__,
            "catheter_rate_per_h": 0.0,
            "motor_stall_rate_per_h": 0.0,
            "pump_fault_rate_per_h": 0.0,
            "pocket_fill_per_refill": 0.0,
        }
    )


def resolve_faults(raw: Any, profile: DeviceProfile) -> FaultModel:
    """Resolve a ``faults:`` mapping against the profile's defaults. Raises SettingsError."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise SettingsError(
            "faults: is a mapping of catheter, motor_stall, pump_fault, pocket_fill"
        )
    for section, body in raw.items():
        if section not in _SECTIONS:
            raise SettingsError(
                f"unknown fault stream {section!r}; known: {', '.join(_SECTIONS)}", (section,)
            )
        if not isinstance(body, dict):
            raise SettingsError(
                f"{section}: give a mapping of {', '.join(_SECTIONS[section])}", (section,)
            )
        for key in body:
            if key not in _SECTIONS[section]:
                raise SettingsError(
                    f"unknown key {key!r}; {section} takes {', '.join(_SECTIONS[section])}",
                    (section, key),
                )
    cat = raw.get("catheter", {})
    mot = raw.get("motor_stall", {})
    pf = raw.get("pump_fault", {})
    pocket = raw.get("pocket_fill", {})
    d = profile.fault_default

    model = cat.get("model", "reinforced")
    if model not in CATHETER_MODELS:
        raise SettingsError(
            f"unknown catheter model {model!r}; known: {', '.join(CATHETER_MODELS)}",
            ("catheter", "model"),
        )
    rate_y = _rate(
        cat.get("rate_per_year", d("catheter_fault_rate_per_year")[model]),
        ("catheter", "rate_per_year"),
    )
    factor = _rate(
        cat.get("first_year_factor", d("catheter_fault_first_year_factor")),
        ("catheter", "first_year_factor"),
    )
    kinds = _choice(
        cat.get("kinds", d("catheter_fault_kinds")[model]),
        CATHETER_FAULT_KINDS,
        ("catheter", "kinds"),
    )
    fractions_raw = {**d("catheter_fault_delivered_fraction"), **cat.get("delivered_fraction", {})}
    fractions = {}
    for kind, spec in fractions_raw.items():
        if kind not in ("kink", "leak"):
            raise SettingsError(
                f"{kind!r}: only kink and leak deliver a fraction",
                ("catheter", "delivered_fraction", kind),
            )
        dist = _dist(spec, ("catheter", "delivered_fraction", kind), duration=False)
        fractions[kind] = dist
    repair = _dist(
        cat.get("repair_after", d("catheter_repair_after")), ("catheter", "repair_after"), True
    )
    return FaultModel(
        catheter_model=model,
        catheter_rate_per_h=rate_y / HOURS_PER_YEAR,
        catheter_first_year_factor=factor,
        catheter_kinds=kinds,
        delivered_fraction=fractions,
        repair_after=repair,
        motor_stall_rate_per_h=_rate(
            mot.get("rate_per_year", d("motor_stall_rate_per_year")),
            ("motor_stall", "rate_per_year"),
        )
        / HOURS_PER_YEAR,
        pump_fault_rate_per_h=_rate(
            pf.get("rate_per_year", d("pump_fault_rate_per_year")), ("pump_fault", "rate_per_year")
        )
        / HOURS_PER_YEAR,
        pump_fault_kinds=_choice(
            pf.get("kinds", d("pump_fault_kinds")), PUMP_FAULT_KINDS, ("pump_fault", "kinds")
        ),
        pocket_fill_per_refill=_rate(
            pocket.get("per_refill", d("pocket_fill_per_refill")),
            ("pocket_fill", "per_refill"),
            1.0,
        ),
        pocket_fill_fraction=_dist(
            pocket.get("fraction", d("pocket_fill_fraction")), ("pocket_fill", "fraction"), False
        ),
        pocket_fill_found_after=_dist(
            pocket.get("found_after", d("pocket_fill_found_after")),
            ("pocket_fill", "found_after"),
            True,
        ),
    )
