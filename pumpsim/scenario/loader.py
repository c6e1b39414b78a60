"""Load a scenario: safe YAML → pydantic → checks against the device profile.

Every failure becomes one ScenarioError naming the file, the key path and the YAML line.
"""

from __future__ import annotations

import copy
import difflib
import os
from typing import Any

from pydantic import BaseModel, ValidationError

from pumpsim.clinic.fit import check_fit_inputs
from pumpsim.clinic.log import ClinicLog, read_clinic_log
from pumpsim.clock import Clock
from pumpsim.errors import ScenarioError
from pumpsim.profile import DeviceProfile, ProfileError, available_profiles, load_device_profile
from pumpsim.scenario import dates, schema
from pumpsim.scenario.yamlsafe import LocatedYaml, load_yaml_file, load_yaml_text

_EVENT_MODELS: dict[str, type[BaseModel]] = {
    "refill": schema.RefillEvent,
    "reprogram": schema.ReprogramEvent,
    "bolus": schema.BolusEvent,
    "ptm_bolus": schema.PtmBolusEvent,
    "catheter_fault": schema.CatheterFaultEvent,
    "catheter_repair": schema.CatheterRepairEvent,
    "mri": schema.MriEvent,
    "motor_stall": schema.MotorStallEvent,
    "pump_fault": schema.PumpFaultEvent,
    "pump_replacement": schema.PumpReplacementEvent,
}


def _model_at(path: tuple[object, ...], data: Any) -> type[BaseModel] | None:
    """The pydantic model that owns the mapping at ``path`` (for did-you-mean)."""
    model: Any = schema.Scenario
    node = data
    for part in path:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else None
            continue
        if model is None:
            return None
        field = model.model_fields.get(str(part))
        node = node.get(part) if isinstance(node, dict) else None
        if field is None:
            return None
        name = str(part)
        if name == "events":
            model = _EVENT_MODELS.get(node.get("type")) if isinstance(node, dict) else None
            continue
        model = {
            "pump": schema.Pump,
            "battery": schema.Battery,
            "drug": schema.Drug,
            "catheter": schema.Catheter,
            "patient": schema.Patient,
            "therapy": schema.Therapy,
            "ptm": schema.Ptm,
            "risk": schema.Risk,
            "expect": schema.Expectation,
            "steps": schema.FlexStep,
        }.get(name)
    return model


def _event_model(path: tuple[object, ...], data: Any) -> type[BaseModel] | None:
    if len(path) >= 2 and path[0] == "events" and isinstance(path[1], int):
        events = data.get("events") if isinstance(data, dict) else None
        if isinstance(events, list) and path[1] < len(events) and isinstance(events[path[1]], dict):
            return _EVENT_MODELS.get(events[path[1]].get("type"))
    return None


def _data_path(loc: tuple[Any, ...], data: Any) -> tuple[object, ...]:
    """Map a pydantic error location onto the data's key path (drops union/discriminator tags)."""
    path: list[object] = []
    node = data
    for i, part in enumerate(loc):
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if in_dict or in_list:
            path.append(part)
            node = node[part]
        elif isinstance(node, dict) and part == node.get("type"):
            continue  # the discriminator tag of an event
        elif i == len(loc) - 1 and isinstance(part, str) and not part.startswith("function-"):
            path.append(part)  # a missing or unknown key
        # else: a union member or discriminator tag: not part of the user's path
    return tuple(path)


def _message(err: dict[str, Any], path: tuple[object, ...], data: Any) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(path[-1]) if path else "?"
        owner = _event_model(path, data) if len(path) == 3 else None
        owner = owner or _model_at(path[:-1], data)
        known = list(owner.model_fields) if owner is not None else []
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        listing = f" (known keys: {', '.join(known)})" if known and not close else ""
        return f"unknown key {key!r}{hint}{listing}"
    if kind == "missing":
        return "required key is missing"
    if kind == "union_tag_invalid":
        given = err.get("input", {}).get("type")
        return f"unknown event type {given!r}; known: {', '.join(schema.EVENT_TYPES)}"
    if kind == "union_tag_not_found":
        return "event needs a type: (one of " + ", ".join(schema.EVENT_TYPES) + ")"
    if kind == "literal_error":
        allowed = err["msg"].replace("Input should be ", "expected ")
        return f"{err['input']!r} is not allowed: {allowed}"
    msg = err["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        msg = f"{err['input']!r}: {msg.replace('Input should be', 'must be')}"
    return msg


def _from_validation(exc: ValidationError, located: LocatedYaml, file: str) -> ScenarioError:
    errors = exc.errors(include_url=False)
    # Report the deepest, most specific error first (a union's members add noise).
    err = max(errors, key=lambda e: len(_data_path(tuple(e["loc"]), located.data)))
    path = _data_path(tuple(err["loc"]), located.data)
    return ScenarioError(
        _message(err, path, located.data), file=file, path=path, line=located.line_of(path)
    )


def _with_clinic_log(
    data: dict[str, Any], located: LocatedYaml, file: str, base_dir: str | None
) -> ClinicLog | None:
    """Append the rows of ``clinic_log:`` to ``events``/``expect`` of ``data`` (in place)."""
    name = data.get("clinic_log")
    if name is None:
        return None
    if not isinstance(name, str) or not name.strip():
        raise ScenarioError(
            "clinic_log is the path of a CSV file, relative to the scenario file",
            file=file,
            path=("clinic_log",),
            line=located.line_of(("clinic_log",)),
        )
    clock = dates.scenario_clock(data)
    if clock is None:
        return None  # validation reports the bad start:
    path = os.path.join(base_dir if base_dir is not None else os.getcwd(), name)
    shown = os.path.normpath(os.path.join(os.path.dirname(file), name)) if base_dir else name
    log = read_clinic_log(path, clock, dates.scenario_end_h(data), shown=shown)
    for key, rows in (("events", log.events), ("expect", log.expectations)):
        existing = data.get(key)
        if existing is None:
            data[key] = []
        elif not isinstance(existing, list):
            return log  # validation reports the bad key
        data[key] = [*data[key], *rows]
    return log


def parse_scenario(
    located: LocatedYaml, file: str, *, base_dir: str | None = None
) -> schema.Scenario:
    """Validate parsed YAML into a Scenario and check it against its device profile.

    Calendar instants are placed on the clock of ``start:`` first, and the rows of a
    ``clinic_log:`` (read relative to ``base_dir``; default: the working folder) join the
    scenario's events and expectations.
    """
    if not isinstance(located.data, dict):
        raise ScenarioError("a scenario is a YAML mapping of keys", file=file, line=1)
    data = copy.deepcopy(located.data)
    dates.resolve_instants(data, line_of=located.line_of, file=file)
    n_own_events = len(data["events"]) if isinstance(data.get("events"), list) else 0
    n_own_expect = len(data["expect"]) if isinstance(data.get("expect"), list) else 0
    log = _with_clinic_log(data, located, file, base_dir)
    view = LocatedYaml(data=data, lines=located.lines)
    try:
        scenario = schema.Scenario.model_validate(data)
    except ValidationError as exc:
        err = _from_validation(exc, view, file)
        moved = log.relocate(err, n_own_events, n_own_expect) if log is not None else None
        raise (moved or err) from None
    try:
        check_against_profile(scenario)
        check_fit_inputs(scenario)
    except ScenarioError as exc:
        moved = log.relocate(exc, n_own_events, n_own_expect) if log is not None else None
        raise (moved or exc.located(file, located.line_of(exc.path))) from None
    return scenario


def load_scenario(path: str) -> schema.Scenario:
    """Load and validate a scenario file. Raises ScenarioError (one line, with file and line)."""
    located, name = load_yaml_file(str(path))
    return parse_scenario(located, name, base_dir=os.path.dirname(os.path.abspath(str(path))))


def load_scenario_text(text: str, file: str = "<text>") -> schema.Scenario:
    """Load and validate a scenario from a YAML string."""
    return parse_scenario(load_yaml_text(text, file), file)


def _check_therapy(
    therapy: schema.Therapy,
    profile: DeviceProfile,
    concentration: float,
    path: tuple[object, ...],
) -> None:
    lo, hi = profile.flow_rate_min_ml_per_day, profile.flow_rate_max_ml_per_day

    def rate_ok(dose_per_day: float, where: tuple[object, ...]) -> None:
        rate = dose_per_day / concentration
        if rate > hi or 0 < rate < lo:
            raise ScenarioError(
                f"{dose_per_day:g} mcg/day at {concentration:g} mcg/mL is {rate:.4g} mL/day, "
                f"outside the {profile.name} programmable range {lo:g}-{hi:g} mL/day",
                path=where,
            )

    if therapy.mode == "continuous":
        assert therapy.dose_mcg_per_day is not None
        rate_ok(therapy.dose_mcg_per_day, (*path, "dose_mcg_per_day"))
        return
    lists: list[tuple[tuple[object, ...], list[schema.FlexStep]]] = []
    if therapy.steps is not None:
        lists.append(((*path, "steps"), therapy.steps))
    for day, steps in (therapy.days or {}).items():
        lists.append(((*path, "days", day), steps))
    for where, steps in lists:
        if len(steps) > profile.flex_max_steps_per_day:
            raise ScenarioError(
                f"{len(steps)} steps in a day; {profile.name} allows at most "
                f"{profile.flex_max_steps_per_day}",
                path=where,
            )
        for i, step in enumerate(steps):
            rate_ok(step.dose_mcg_per_hour * 24.0, (*where, i, "dose_mcg_per_hour"))


def check_against_profile(scenario: schema.Scenario) -> None:
    """Checks that need the device profile or several keys at once. Raises ScenarioError."""
    try:
        profile = load_device_profile(scenario.pump.profile)
    except ProfileError:
        raise ScenarioError(
            f"unknown device profile {scenario.pump.profile!r}; shipped: "
            + ", ".join(available_profiles()),
            path=("pump", "profile"),
        ) from None
    pump = scenario.pump

    def size_ok(size: float, where: tuple[object, ...]) -> None:
        if size not in profile.reservoir_sizes_ml:
            sizes = " or ".join(f"{s:g}" for s in profile.reservoir_sizes_ml)
            raise ScenarioError(
                f"{size:g} mL is not a {profile.name} reservoir ({sizes} mL)", path=where
            )

    size_ok(pump.reservoir_ml, ("pump", "reservoir_ml"))
    if pump.initial_volume_ml is not None and pump.initial_volume_ml > pump.reservoir_ml:
        raise ScenarioError(
            f"{pump.initial_volume_ml:g} mL exceeds the {pump.reservoir_ml:g} mL reservoir",
            path=("pump", "initial_volume_ml"),
        )
    low = (
        pump.low_reservoir_alarm_ml
        if pump.low_reservoir_alarm_ml is not None
        else profile.low_reservoir_alarm_ml
    )
    empty = (
        pump.empty_reservoir_alarm_ml
        if pump.empty_reservoir_alarm_ml is not None
        else profile.empty_reservoir_alarm_ml
    )
    if empty >= low:
        raise ScenarioError(
            f"empty-reservoir alarm {empty:g} mL must be below the low-reservoir alarm {low:g} mL",
            path=("pump", "empty_reservoir_alarm_ml"),
        )
    if low >= pump.reservoir_ml:
        raise ScenarioError(
            f"low-reservoir alarm {low:g} mL must be below the reservoir size",
            path=("pump", "low_reservoir_alarm_ml"),
        )
    if pump.battery.eri_at is not None and pump.battery.eri_at < 0:
        raise ScenarioError("eri_at must not be negative", path=("pump", "battery", "eri_at"))

    pump_conc = scenario.drug.concentration_mcg_per_ml
    _check_therapy(scenario.therapy, profile, pump_conc, ("therapy",))
    size = pump.reservoir_ml
    for index, event in scenario.sorted_events():
        where: tuple[object, ...] = ("events", index)
        if event.at > scenario.duration:
            clock = Clock.of(scenario.start)
            raise ScenarioError(
                f"{clock.label(event.at)} is after the end of the scenario, "
                f"{clock.label(scenario.duration)}",
                path=(*where, "at"),
            )
        if isinstance(event, schema.RefillEvent) and not event.missed:
            assert event.volume_ml is not None
            if event.volume_ml > size:
                raise ScenarioError(
                    f"refill of {event.volume_ml:g} mL exceeds the {size:g} mL reservoir",
                    path=(*where, "volume_ml"),
                )
            if event.update_pump_concentration and event.concentration_mcg_per_ml:
                pump_conc = event.concentration_mcg_per_ml
            if event.therapy is not None:
                _check_therapy(event.therapy, profile, pump_conc, (*where, "therapy"))
        elif isinstance(event, schema.ReprogramEvent):
            _check_therapy(event.therapy, profile, pump_conc, (*where, "therapy"))
        elif isinstance(event, schema.PumpReplacementEvent):
            new_size = event.reservoir_ml if event.reservoir_ml is not None else size
            size_ok(new_size, (*where, "reservoir_ml"))
            if event.volume_ml > new_size:
                raise ScenarioError(
                    f"{event.volume_ml:g} mL exceeds the {new_size:g} mL reservoir",
                    path=(*where, "volume_ml"),
                )
            size = new_size
    for i, exp in enumerate(scenario.expect):
        if exp.cause is not None and exp.flag is not None:
            from pumpsim.safety.flags import CAUSES

            if exp.cause not in CAUSES:
                raise ScenarioError(
                    f"unknown cause {exp.cause!r}; known: {', '.join(CAUSES)}",
                    path=("expect", i, "cause"),
                )
