"""Device and drug profiles: the device as data.

A profile is a YAML file shipped in the package or found on ``PUMPSIM_PROFILE_PATH``. It is
read like a scenario (regular files only, size cap, plain YAML data, no tags) and checked by
``profile_rules``: each parameter carries a ``source`` or an ``assumed`` note and a value of its
kind, so no number enters the model without a pedigree, and a bad file is invalid input naming
the file, key and line. The engine reads these dataclasses, never literals.
"""

from __future__ import annotations

import os
import stat
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pumpsim.errors import ScenarioError, format_path
from pumpsim.model.profile import (
    AlarmSpec,
    DeviceProfile,
    DrugProfile,
    Parameter,
    ProfileError,
)
from pumpsim.model.units import parse_duration_h
from pumpsim.scenario.faults import CATHETER_MODELS, SettingsError, resolve_faults
from pumpsim.scenario.profile_rules import (
    DEVICE_PARAMETERS,
    DRUG_PARAMETERS,
    OPTIONAL_DEVICE_PARAMETERS,
    ProfileFileError,
    ProfileNotFound,
    ProfileReader,
)
from pumpsim.scenario.yamlsafe import load_yaml_text, read_text_file

__all__ = [
    "PROFILE_PATH_ENV",
    "DeviceProfile",
    "DrugProfile",
    "ProfileError",
    "ProfileFileError",
    "ProfileNotFound",
    "available_profiles",
    "load_device_profile",
    "load_drug_profile",
]

#: Folders (separated like PATH) searched for ``NAME.yaml`` before the profiles shipped in the
#: package, so that a user's own device profile needs no change to the package.
PROFILE_PATH_ENV = "PUMPSIM_PROFILE_PATH"


def _user_folders() -> list[Path]:
    return [Path(f) for f in os.environ.get(PROFILE_PATH_ENV, "").split(os.pathsep) if f]


def _is_regular_file(path: Path | str) -> bool:
    """A regular file (through symlinks), found without opening it: FIFOs, devices and
    directories named like a profile are passed over, so looking never blocks."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def _plain_name(name: str) -> bool:
    """A profile name is a file name, never a path (``../x`` would leave the folders)."""
    return bool(name) and not name.startswith(".") and "/" not in name and os.sep not in name


def _find(name: str) -> tuple[str, str]:
    """(text, file shown in messages) of the profile ``name``: the path's first, else shipped."""
    if not _plain_name(name):
        raise ProfileNotFound(f"no profile named {name!r}")
    for folder in _user_folders():
        path = folder / f"{name}.yaml"
        if _is_regular_file(path):
            try:
                return read_text_file(str(path)), str(path)
            except ScenarioError as exc:  # unreadable, too large, not UTF-8: a read problem
                raise ProfileFileError(exc.message, file=str(path), line=exc.line) from None
    shipped = resources.files("pumpsim.profiles").joinpath(f"{name}.yaml")
    try:
        return shipped.read_text("utf-8"), str(shipped)
    except (FileNotFoundError, IsADirectoryError):
        raise ProfileNotFound(f"no profile named {name!r}") from None


def _reader(name: str, *, device: bool) -> ProfileReader:
    text, file = _find(name)
    try:
        located = load_yaml_text(text, file)
    except ScenarioError as exc:
        if exc.message.startswith("file is empty"):
            raise ProfileFileError("file is empty: expected a profile", file=file) from None
        raise ProfileFileError(exc.message, file=file, path=exc.path, line=exc.line) from None
    if device and isinstance(located.data, dict) and "alarms" not in located.data:
        raise ProfileNotFound(f"{name!r} is not a device profile")
    reader = ProfileReader(located, file)
    reader.top(name, device=device)
    return reader


def _parameters(entries: dict[str, Any]) -> dict[str, Parameter]:
    return {
        key: Parameter(entry["value"], entry.get("source"), entry.get("assumed"))
        for key, entry in entries.items()
    }


def available_profiles() -> list[str]:
    """Names of the device profiles shipped in the package and in ``PUMPSIM_PROFILE_PATH``.

    Entries are judged without being opened when they are not regular files, and a file that
    is not a readable profile is left out (it does not stop the others from being listed).
    """
    names = set()
    candidates: list[tuple[str, Any]] = [
        (item.name, item) for item in resources.files("pumpsim.profiles").iterdir()
    ]
    for folder in _user_folders():
        try:
            entries = sorted(os.listdir(folder))
        except (OSError, ValueError):
            continue
        candidates += [(entry, folder / entry) for entry in entries]
    for file_name, item in candidates:
        if not file_name.endswith(".yaml") or file_name.startswith("."):
            continue
        if isinstance(item, Path) and not _is_regular_file(item):
            continue
        try:
            text = read_text_file(str(item)) if isinstance(item, Path) else item.read_text("utf-8")
            raw = load_yaml_text(text, str(item)).data
        except (ScenarioError, OSError, UnicodeDecodeError):
            continue
        if isinstance(raw, dict) and "alarms" in raw:
            names.add(file_name.removesuffix(".yaml"))
    return sorted(names)


#: Which ``fault_parameters:`` entry gives the default of each key of a ``faults:`` section.
_FAULT_KEYS = {
    ("catheter", "rate_per_year"): "catheter_fault_rate_per_year",
    ("catheter", "first_year_factor"): "catheter_fault_first_year_factor",
    ("catheter", "kinds"): "catheter_fault_kinds",
    ("catheter", "delivered_fraction"): "catheter_fault_delivered_fraction",
    ("catheter", "repair_after"): "catheter_repair_after",
    ("motor_stall", "rate_per_year"): "motor_stall_rate_per_year",
    ("pump_fault", "rate_per_year"): "pump_fault_rate_per_year",
    ("pump_fault", "kinds"): "pump_fault_kinds",
    ("pocket_fill", "per_refill"): "pocket_fill_per_refill",
    ("pocket_fill", "fraction"): "pocket_fill_fraction",
    ("pocket_fill", "found_after"): "pocket_fill_found_after",
}


def _check_fault_defaults(reader: ProfileReader, profile: DeviceProfile) -> None:
    """The ``fault_parameters:`` (when given) resolve into fault streams for every catheter."""
    entries = reader.raw.get("fault_parameters")
    if entries is None:
        return  # a profile without fault defaults: only sweeps and fault streams need them
    for key in ("catheter_fault_rate_per_year", "catheter_fault_kinds"):
        value = entries.get(key, {}).get("value") if isinstance(entries.get(key), dict) else None
        if key in entries and not (
            isinstance(value, dict) and all(m in value for m in CATHETER_MODELS)
        ):
            raise reader.fail(
                ("fault_parameters", key, "value"),
                f"give a value for each catheter model: {', '.join(CATHETER_MODELS)}",
            )
    fractions = entries.get("catheter_fault_delivered_fraction")
    if fractions is not None and not isinstance(fractions.get("value"), dict):
        raise reader.fail(
            ("fault_parameters", "catheter_fault_delivered_fraction", "value"),
            "give a distribution for each of kink and leak",
        )
    for model in CATHETER_MODELS:
        try:
            resolve_faults({"catheter": {"model": model}}, profile)
        except SettingsError as exc:
            key = _FAULT_KEYS.get(tuple(exc.path[:2]))
            where = ("fault_parameters", key, "value", *exc.path[2:]) if key else ()
            stream = format_path(("faults", *exc.path))
            raise reader.fail(
                where or ("fault_parameters",), f"{exc} (the default of {stream})"
            ) from None
        except ProfileError as exc:
            raise reader.fail(("fault_parameters",), str(exc).split(": ", 1)[-1]) from None


@cache
def load_device_profile(name: str) -> DeviceProfile:
    """Load a device profile by name (e.g. ``synchromed-ii``): ``PUMPSIM_PROFILE_PATH``, then
    the package. Raises ProfileNotFound, or ProfileFileError naming the file and key."""
    reader = _reader(name, device=True)
    entries = reader.section("parameters", DEVICE_PARAMETERS, OPTIONAL_DEVICE_PARAMETERS)
    reader.ordered("flow_rate_min_ml_per_day", "flow_rate_max_ml_per_day")
    reader.ordered("accuracy_plausible_above", "accuracy_plausible_max")
    reader.ordered("empty_reservoir_alarm_ml", "low_reservoir_alarm_ml", strict=False)
    faults = reader.section("fault_parameters", {})
    table = reader.alarms()

    def v(key: str) -> Any:
        return entries[key]["value"]

    profile = DeviceProfile(
        name=name,
        description=str(reader.raw.get("description", "")),
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
        alarms={
            alarm: AlarmSpec(alarm, spec["priority"], spec["response"], spec["meaning"])
            for alarm, spec in table.items()
        },
        parameters=_parameters(entries),
        fault_parameters=_parameters(faults),
    )
    _check_fault_defaults(reader, profile)
    return profile


@cache
def load_drug_profile(name: str) -> DrugProfile:
    """Load drug data by name (e.g. ``baclofen``). Raises ProfileNotFound or ProfileFileError."""
    reader = _reader(name, device=False)
    entries = reader.section("parameters", DRUG_PARAMETERS)
    course = reader.raw.get("withdrawal_course") or ()
    if not isinstance(course, list) or not all(isinstance(stage, dict) for stage in course):
        raise reader.fail(("withdrawal_course",), "must be a list of stages (mappings)")
    return DrugProfile(
        name=name,
        csf_half_life_h=parse_duration_h(entries["csf_half_life"]["value"]),
        concentrations_mcg_per_ml=tuple(
            float(c) for c in entries["concentrations_mcg_per_ml"]["value"]
        ),
        withdrawal_course=tuple(course),
        parameters=_parameters(entries),
    )
