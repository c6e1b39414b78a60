"""The sweep file (contract section 8): parse, check, and plan the grid points.

A sweep file names a base scenario (``base:``, relative to the sweep file, or ``scenario:``
inline), a number of patients per grid point, a seed, an optional ``duration`` replacing the
base's, per-patient draws (``vary:``), a ``grid:`` whose every combination is one grid point,
a synthetic ``clinic:`` replacing the base's refills, and ``faults:`` (omitted keys take the
device profile's rates; ``faults: none`` turns the streams off), ``on_invalid`` (what an
invalid draw does) and ``risk_matrix`` (the risk table's matrix file). Every error is one
ScenarioError naming the file, the key path and the line. Sizes are bounded (contract 13):
``MAX_PATIENTS`` per grid point, ``MAX_GRID_POINTS``, ``MAX_SIMULATED`` in all, durations up to
100 years.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import pickle
from dataclasses import dataclass, fields
from typing import Any

from pumpsim.errors import ScenarioError
from pumpsim.model.units import DurationError, format_duration_h, parse_duration_h
from pumpsim.scenario.faults import FaultModel, SettingsError, no_faults, resolve_faults
from pumpsim.scenario.limits import MAX_DURATION_H
from pumpsim.scenario.profiles import load_device_profile
from pumpsim.scenario.yamlsafe import load_yaml_file
from pumpsim.studies.sweep.clinic import ClinicPolicy, resolve_clinic
from pumpsim.studies.sweep.draws import ON_INVALID, patient_draw
from pumpsim.studies.sweep.risk_matrix import load_risk_matrix
from pumpsim.studies.sweep.streams import PatientStreams
from pumpsim.studies.sweep.variants import ScenarioFactory, set_path
from pumpsim.studies.sweep.vary import SWEEP_SECTIONS, VaryKey, parse_vary, yaml_draw
from pumpsim.version import __version__

KEYS = (
    "name",
    "description",
    "base",
    "scenario",
    "patients",
    "seed",
    "duration",
    "vary",
    "grid",
    "clinic",
    "faults",
    "on_invalid",
    "risk_matrix",
)
#: At most this many patients per grid point (contract section 13).
MAX_PATIENTS = 10**7
#: At most this many grid points.
MAX_GRID_POINTS = 10_000
#: At most this many simulated patients in all (patients x grid points).
MAX_SIMULATED = 10**8
__all__ = ["SWEEP_SECTIONS", "VaryKey", "yaml_draw"]


@dataclass(frozen=True)
class GridPoint:
    """One combination of the grid: its values, and the settings they resolve to."""

    index: int
    values: tuple[tuple[str, Any], ...]  # (grid key, value as written)
    scenario_values: tuple[tuple[str, Any], ...]
    clinic: ClinicPolicy | None
    faults: FaultModel | None
    duration_h: float  # this point's duration (a grid may vary it)

    def label(self) -> str:
        """``risk.threshold=0.4, faults.catheter.model=silicone`` (or ``all`` without a grid)."""
        if not self.values:
            return "all"
        return ", ".join(f"{k}={_show(v)}" for k, v in self.values)


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@dataclass(frozen=True)
class SweepSpec:
    """A checked sweep file, ready to plan batches from."""

    name: str
    file: str
    base_file: str
    patients: int
    seed: int
    duration_h: float
    vary: tuple[VaryKey, ...]
    grid_keys: tuple[str, ...]
    grid: tuple[GridPoint, ...]
    factory: ScenarioFactory
    fingerprint: str
    on_invalid: str = "stop"
    risk_matrix: Any = None  # a RiskMatrix from ``risk_matrix:``, None: the shipped default
    #: one grid point per distinct set of scenario values: where a patient's validity is checked
    check_points: tuple[int, ...] = (0,)

    def __reduce__(self) -> Any:
        # A spec is sent with every batch (processes, Dask). Pickle its fields once and let a
        # worker reuse the copy it already unpickled: a 1,000-point grid is half a megabyte,
        # and pickling it per batch made one-patient grid points cost 35 ms each.
        blob = self.__dict__.get("_blob")
        if blob is None:
            blob = pickle.dumps(astuple_shallow(self), protocol=pickle.HIGHEST_PROTOCOL)
            object.__setattr__(self, "_blob", blob)
        return (_spec_from_blob, (hashlib.sha256(blob).hexdigest(), blob))


def astuple_shallow(spec: SweepSpec) -> tuple[Any, ...]:
    """The spec's fields in order (not recursed into, unlike ``dataclasses.astuple``)."""
    return tuple(getattr(spec, f.name) for f in fields(spec))


#: Specs this process has unpickled, by the digest of their pickled fields: a worker reuses
#: the one it has (a cache of immutable values; results never depend on it).
_UNPICKLED: dict[str, SweepSpec] = {}


def _spec_from_blob(digest: str, blob: bytes) -> SweepSpec:
    spec = _UNPICKLED.get(digest)
    if spec is None:
        if len(_UNPICKLED) >= 4:
            _UNPICKLED.clear()
        spec = SweepSpec(*pickle.loads(blob))
        object.__setattr__(spec, "_blob", blob)
        _UNPICKLED[digest] = spec
    return spec


def fingerprint_of(sweep_data: Any, base_data: Any, version: str) -> str:
    """SHA-256 of the parsed sweep, the base scenario's content and the pumpsim version."""
    blob = json.dumps(
        {"sweep": sweep_data, "base": base_data, "pumpsim_version": version},
        sort_keys=True,
        default=str,
        ensure_ascii=True,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def load_sweep(path: str, overrides: dict[str, Any] | None = None) -> SweepSpec:
    """Read and check a sweep file. ``overrides`` replace top-level keys (e.g. ``patients``)."""
    located, name = load_yaml_file(str(path))
    return parse_sweep(located, name, overrides)


def parse_sweep(located: Any, file: str, overrides: dict[str, Any] | None = None) -> SweepSpec:
    """Check parsed sweep YAML (a ``LocatedYaml``) and plan its grid points."""
    data = located.data

    def fail(message: str, path: tuple[object, ...] = ()) -> ScenarioError:
        return ScenarioError(message, file=file, path=path, line=located.line_of(path))

    if not isinstance(data, dict):
        raise fail("a sweep file is a YAML mapping of keys")
    data = {**data, **(overrides or {})}
    for key in data:
        if key not in KEYS:
            raise fail(f"unknown key {key!r}; a sweep takes {', '.join(KEYS)}", (key,))
    name = data.get("name")
    if not isinstance(name, str) or not name or not all(c.isalnum() or c == "-" for c in name):
        raise fail("name is required: letters, digits and '-'", ("name",))

    # The base scenario
    if ("base" in data) == ("scenario" in data):
        raise fail("give exactly one of base: (a scenario file) or scenario: (inline)")
    if "base" in data:
        if not isinstance(data["base"], str):
            raise fail("base is a path to a scenario file", ("base",))
        base_file = os.path.normpath(os.path.join(os.path.dirname(file), data["base"]))
        if not os.path.isfile(base_file):
            raise fail(
                f"no such scenario file {base_file} (base: is relative to the folder of the "
                f"sweep file, {os.path.dirname(file) or '.'})",
                ("base",),
            )
        base_located, base_file = load_yaml_file(base_file)
        base_data = base_located.data
        base_lines = base_located.lines
    else:
        base_file = file
        base_data = data["scenario"]
        base_located = None
        base_lines = {
            path[1:]: line for path, line in located.lines.items() if path[:1] == ("scenario",)
        }
    if not isinstance(base_data, dict):
        raise fail(
            "the base scenario is a mapping", ("scenario",) if base_located is None else ("base",)
        )

    patients = data.get("patients")
    if isinstance(patients, bool) or not isinstance(patients, int) or patients < 1:
        raise fail("patients is a whole number >= 1 (per grid point)", ("patients",))
    if patients > MAX_PATIENTS:
        raise fail(f"patients is at most {MAX_PATIENTS:,} per grid point", ("patients",))
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise fail("seed is a whole number >= 0", ("seed",))
    if "duration" in data:
        try:
            duration_h = parse_duration_h(data["duration"])
        except DurationError as exc:
            raise fail(str(exc), ("duration",)) from None
        if duration_h <= 0:
            raise fail("duration must be longer than zero", ("duration",))
        if duration_h > MAX_DURATION_H:
            raise fail(f"duration is at most {format_duration_h(MAX_DURATION_H)}", ("duration",))
    else:
        try:
            duration_h = parse_duration_h(base_data.get("duration"))
        except DurationError as exc:
            raise ScenarioError(str(exc), file=base_file, path=("duration",)) from None
    on_invalid = data.get("on_invalid", "stop")
    if on_invalid not in ON_INVALID:
        raise fail(f"on_invalid is one of {', '.join(ON_INVALID)}", ("on_invalid",))
    risk_matrix = None
    if data.get("risk_matrix") is not None:
        raw_matrix = data["risk_matrix"]
        if not isinstance(raw_matrix, str):
            raise fail("risk_matrix is a path to a matrix file", ("risk_matrix",))
        matrix_file = os.path.normpath(os.path.join(os.path.dirname(file), raw_matrix))
        if not os.path.isfile(matrix_file):
            raise fail(f"no such risk matrix file {matrix_file}", ("risk_matrix",))
        risk_matrix = load_risk_matrix(matrix_file)

    clinic_raw = data.get("clinic")
    faults_raw = data.get("faults", {})
    if faults_raw is False or faults_raw == "none":
        faults_raw = None
    elif faults_raw is None:
        faults_raw = {}

    # The base as every patient starts from it: the sweep's duration, no expectations, and the
    # synthetic clinic's refills instead of the base's.
    base = dict(base_data)
    base["duration"] = data.get("duration", base.get("duration"))
    base.pop("expect", None)
    base.pop("faults", None)
    if isinstance(base.get("events"), list):
        base["events"] = [
            e
            for e in base["events"]
            if not (clinic_raw is not None and isinstance(e, dict) and e.get("type") == "refill")
            and not ("duration" in data and _after(e, duration_h))
        ]
    factory = ScenarioFactory(base, base_file, base_lines)
    try:
        base_scenario = factory.checked({}, ())  # raises with the base file's name
    except ScenarioError as exc:
        if base_located is not None:
            raise
        raise ScenarioError(
            exc.message, file=file, path=("scenario", *exc.path), line=exc.line
        ) from None
    profile = load_device_profile(base_scenario.pump.profile)

    raw_grid = data.get("grid") or {}
    if not isinstance(raw_grid, dict):
        raise fail("grid is a mapping: key path -> list of values", ("grid",))
    raw_vary = data.get("vary") or {}
    for key, values in raw_grid.items():
        if not isinstance(values, list) or not values:
            raise fail("a grid key takes a non-empty list of values", ("grid", key))
        if isinstance(raw_vary, dict) and key in raw_vary:
            raise fail("a key is either drawn (vary) or swept (grid), not both", ("grid", key))
    grid_keys = tuple(raw_grid)
    count = math.prod(len(v) for v in raw_grid.values())  # before planning any point
    if count > MAX_GRID_POINTS:
        raise fail(f"the grid has {count:,} points; at most {MAX_GRID_POINTS:,}", ("grid",))
    if count * patients > MAX_SIMULATED:
        raise fail(
            f"{patients:,} patients x {count:,} grid points is {count * patients:,} simulated "
            f"patients; at most {MAX_SIMULATED:,}",
            ("patients",),
        )
    vary = parse_vary(raw_vary, grid_keys, fail, located.line_of)

    points = []
    for index, combo in enumerate(itertools.product(*(raw_grid[k] for k in grid_keys))):
        values = tuple(zip(grid_keys, combo, strict=True))
        clinic_point = clinic_raw
        faults_point = faults_raw
        scenario_values = []
        for key, value in values:
            section, _, rest = key.partition(".")
            if section == "clinic":
                if clinic_point is None or not rest:
                    raise fail("a clinic grid key needs a clinic: section", ("grid", key))
                clinic_point = set_path(clinic_point, rest, value)
            elif section == "faults":
                if faults_point is None or not rest:
                    raise fail("a faults grid key needs faults switched on", ("grid", key))
                faults_point = set_path(faults_point, rest, value)
            else:
                scenario_values.append((key, value))
        if key_duration := dict(scenario_values).get("duration"):
            # as for the sweep's own duration: base events after the point's end are left out
            scenario_values += _events_within(base.get("events"), key_duration)
        try:
            checked = factory.checked(dict(scenario_values), ())
        except ScenarioError as exc:
            key = ".".join(str(p) for p in exc.path)
            where = ("grid", key) if key in raw_grid else ("grid",)
            raise fail(f"grid point {index}: {exc.message}", where) from None
        try:
            clinic = None if clinic_point is None else resolve_clinic(clinic_point, profile)
        except SettingsError as exc:
            raise fail(str(exc), _located_path("clinic", exc.path, raw_grid)) from None
        try:
            faults = (
                no_faults(profile)
                if faults_point is None
                else resolve_faults(faults_point, profile)
            )
        except SettingsError as exc:
            raise fail(str(exc), _located_path("faults", exc.path, raw_grid)) from None
        points.append(
            GridPoint(index, values, tuple(scenario_values), clinic, faults, checked.duration)
        )

    distinct: dict[str, int] = {}
    for point in points:
        distinct.setdefault(repr(point.scenario_values), point.index)
    spec = SweepSpec(
        name=name,
        file=file,
        base_file=base_file,
        patients=patients,
        seed=seed,
        duration_h=duration_h,
        vary=vary,
        grid_keys=grid_keys,
        grid=tuple(points),
        factory=factory,
        fingerprint=fingerprint_of(data, base_data, __version__),
        on_invalid=on_invalid,
        risk_matrix=risk_matrix,
        check_points=tuple(distinct.values()),
    )
    if vary:
        # A key path the scenario does not have is reported now rather than by the first
        # patient in a worker; so is a distribution centred on forbidden values (under stop).
        patient_draw(spec, spec.grid[0], 0, PatientStreams(seed, 0))
    return spec


def _events_within(events: Any, duration: Any) -> list[tuple[str, Any]]:
    """``[("events", kept)]`` when a grid duration leaves some base events out, else ``[]``."""
    try:
        end_h = parse_duration_h(duration)
    except DurationError:
        return []  # the scenario check reports it
    if not isinstance(events, list):
        return []
    kept = [e for e in events if not _after(e, end_h)]
    return [("events", kept)] if len(kept) != len(events) else []


def _after(event: Any, duration_h: float) -> bool:
    """Whether a base event falls after the sweep's duration (it is then left out)."""
    if not isinstance(event, dict):
        return False
    try:
        return parse_duration_h(event.get("at")) > duration_h
    except DurationError:
        return False  # a date, or invalid: the scenario check reports it


def _located_path(section: str, path: tuple[object, ...], grid: dict[str, Any]) -> tuple:
    """Point at the grid key when the bad value came from the grid, else into the section."""
    dotted = ".".join([section, *(str(p) for p in path)])
    for key in grid:
        if dotted.startswith(key) or key.startswith(dotted):
            return ("grid", key)
    return (section, *path)
