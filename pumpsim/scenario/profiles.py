"""Device and drug profiles: the device as data.

A profile is a YAML file shipped in the package. Each parameter carries a ``source`` or an
``assumed`` note; loading refuses a parameter with neither, so no number enters the model
without a pedigree. The engine reads these dataclasses, never literals.
"""

from __future__ import annotations

import os
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from pumpsim.model.profile import (
    ALARM_RESPONSES,
    AlarmSpec,
    DeviceProfile,
    DrugProfile,
    Parameter,
    ProfileError,
)
from pumpsim.model.units import parse_duration_h

#: Folders (separated like PATH) searched for ``NAME.yaml`` before the profiles shipped in the
#: package, so that a user's own device profile needs no change to the package.
PROFILE_PATH_ENV = "PUMPSIM_PROFILE_PATH"


def _user_folders() -> list[Path]:
    return [Path(f) for f in os.environ.get(PROFILE_PATH_ENV, "").split(os.pathsep) if f]


def _read(name: str) -> dict[str, Any]:
    for folder in _user_folders():
        path = folder / f"{name}.yaml"
        if path.is_file():
            return yaml.safe_load(path.read_text("utf-8"))
    try:
        text = resources.files("pumpsim.profiles").joinpath(f"{name}.yaml").read_text("utf-8")
    except FileNotFoundError:
        raise ProfileError(f"no profile named {name!r}") from None
    # Package data: libyaml's C loader when present (the pure one costs ~10 ms per start).
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _parameters(
    raw: dict[str, Any], origin: str, section: str = "parameters"
) -> dict[str, Parameter]:
    params = {}
    for key, entry in (raw.get(section) or {}).items():
        if not isinstance(entry, dict) or "value" not in entry:
            raise ProfileError(f"{origin}: parameter {key} has no value")
        if not entry.get("source") and not entry.get("assumed"):
            raise ProfileError(f"{origin}: parameter {key} has neither source nor assumed")
        params[key] = Parameter(entry["value"], entry.get("source"), entry.get("assumed"))
    return params


def available_profiles() -> list[str]:
    """Names of the device profiles shipped in the package and in ``PUMPSIM_PROFILE_PATH``."""
    names = set()
    items = [*resources.files("pumpsim.profiles").iterdir()]
    items += [p for folder in _user_folders() if folder.is_dir() for p in folder.iterdir()]
    for item in items:
        if item.name.endswith(".yaml"):
            raw = yaml.safe_load(item.read_text("utf-8"))
            if isinstance(raw, dict) and "alarms" in raw:
                names.add(raw["name"])
    return sorted(names)


@cache
def load_device_profile(name: str) -> DeviceProfile:
    """Load a shipped device profile by name (e.g. ``synchromed-ii``)."""
    raw = _read(name)
    if "alarms" not in raw:
        raise ProfileError(f"{name!r} is not a device profile")
    p = _parameters(raw, name)

    def v(key: str) -> Any:
        if key not in p:
            raise ProfileError(f"{name}: missing parameter {key}")
        return p[key].value

    alarms = {}
    for alarm, spec in raw["alarms"].items():
        if spec["response"] not in ALARM_RESPONSES:
            raise ProfileError(f"{name}: alarm {alarm} has unknown response {spec['response']}")
        if spec["priority"] not in ("critical", "non_critical"):
            raise ProfileError(f"{name}: alarm {alarm} has unknown priority {spec['priority']}")
        alarms[alarm] = AlarmSpec(alarm, spec["priority"], spec["response"], spec["meaning"])
    return DeviceProfile(
        name=raw["name"],
        description=raw.get("description", ""),
        reservoir_sizes_ml=tuple(float(x) for x in v("reservoir_sizes_ml")),
        flow_rate_min_ml_per_day=float(v("flow_rate_min_ml_per_day")),
        flow_rate_max_ml_per_day=float(v("flow_rate_max_ml_per_day")),
        flex_max_steps_per_day=int(v("flex_max_steps_per_day")),
        accuracy_spec_fraction=float(v("accuracy_spec_fraction")),
        low_reservoir_alarm_ml=float(v("low_reservoir_alarm_ml")),
        empty_reservoir_alarm_ml=float(v("empty_reservoir_alarm_ml")),
        min_rate_ml_per_day=float(v("min_rate_ml_per_day")),
        noncritical_tone_interval_h=parse_duration_h(v("noncritical_tone_interval")),
        noncritical_tone=str(v("noncritical_tone")),
        critical_tone_interval_h=parse_duration_h(v("critical_tone_interval")),
        critical_tone=str(v("critical_tone")),
        eos_after_eri_h=parse_duration_h(v("eos_after_eri")),
        hard_stop_life_h=parse_duration_h(v("hard_stop_life")),
        battery_idle_longevity_h=parse_duration_h(v("battery_idle_longevity")),
        battery_volume_capacity_ml=float(v("battery_volume_capacity_ml")),
        refill_discrepancy_ml={float(k): float(x) for k, x in v("refill_discrepancy_ml").items()},
        ptm_bolus_duration_h=parse_duration_h(v("ptm_bolus_duration")),
        pocket_fill_watch_h=parse_duration_h(v("pocket_fill_watch")),
        alarms=alarms,
        parameters=p,
        fault_parameters=_parameters(raw, name, "fault_parameters"),
    )


@cache
def load_drug_profile(name: str) -> DrugProfile:
    """Load shipped drug data by name (e.g. ``baclofen``)."""
    raw = _read(name)
    p = _parameters(raw, name)
    return DrugProfile(
        name=raw["name"],
        csf_half_life_h=parse_duration_h(p["csf_half_life"].value),
        concentrations_mcg_per_ml=tuple(float(c) for c in p["concentrations_mcg_per_ml"].value),
        withdrawal_course=tuple(raw.get("withdrawal_course", ())),
        parameters=p,
    )
