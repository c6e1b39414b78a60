"""Checks that need the device profile or several keys at once (after the pydantic schema).

Each check names the key paths it reads, so a variant (``Scenario.with_values``) re-runs only
the checks that read what changed. Every failure is a ScenarioError with the key path.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Callable, Iterable
from typing import Any

from pumpsim.errors import ScenarioError, format_path
from pumpsim.model.clock import Clock
from pumpsim.model.flags import CAUSES
from pumpsim.model.setup import fills
from pumpsim.scenario import schema
from pumpsim.scenario.profiles import (
    DeviceProfile,
    ProfileError,
    ProfileNotFound,
    available_profiles,
    load_device_profile,
)
from pumpsim.scenario.resolve import setup_of

Check = Callable[[schema.ScenarioFile, DeviceProfile], None]


def device_profile(scenario: schema.ScenarioFile) -> DeviceProfile:
    """The scenario's device profile; an unknown name is a ScenarioError at ``pump.profile``
    (a profile file that is not valid data is a ScenarioError naming that file)."""
    try:
        return load_device_profile(scenario.pump.profile)
    except ProfileNotFound:
        raise ScenarioError(
            f"unknown device profile {scenario.pump.profile!r}; known: "
            + ", ".join(available_profiles()),
            path=("pump", "profile"),
        ) from None


def accuracy_plausible_range(profile: DeviceProfile) -> tuple[float, float]:
    """(lower bound, exclusive; upper bound, inclusive) of a plausible ``accuracy``."""
    try:
        low = float(profile.parameters["accuracy_plausible_above"].value)
        high = float(profile.parameters["accuracy_plausible_max"].value)
    except KeyError as exc:
        raise ProfileError(f"{profile.name}: missing parameter {exc.args[0]}") from None
    return low, high


def _rate_check(
    profile: DeviceProfile, concentration: float, why: str = ""
) -> Callable[[float, tuple[object, ...]], None]:
    lo, hi = profile.flow_rate_min_ml_per_day, profile.flow_rate_max_ml_per_day

    def rate_ok(dose_per_day: float, where: tuple[object, ...]) -> None:
        rate = dose_per_day / concentration
        if rate > hi or 0 < rate < lo:
            raise ScenarioError(
                f"{dose_per_day:g} mcg/day at {concentration:g} mcg/mL is {rate:.4g} mL/day, "
                f"outside the {profile.name} programmable range {lo:g}-{hi:g} mL/day{why}",
                path=where,
            )

    return rate_ok


def check_therapy(
    therapy: schema.Therapy,
    profile: DeviceProfile,
    concentration: float,
    path: tuple[object, ...],
    *,
    report_at: tuple[object, ...] | None = None,
    why: str = "",
) -> None:
    """Every rate of a programme at the pump's concentration, and the flex step count.

    ``report_at`` reports a rate outside the range at that key (e.g. the concentration that
    changed) instead of at the dose.
    """
    rate_ok = _rate_check(profile, concentration, why)
    if therapy.mode == "continuous":
        assert therapy.dose_mcg_per_day is not None
        rate_ok(therapy.dose_mcg_per_day, report_at or (*path, "dose_mcg_per_day"))
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
            rate_ok(step.dose_mcg_per_hour * 24.0, report_at or (*where, i, "dose_mcg_per_hour"))


def _size_ok(profile: DeviceProfile, size: float, where: tuple[object, ...]) -> None:
    if size not in profile.reservoir_sizes_ml:
        sizes = " or ".join(f"{s:g}" for s in profile.reservoir_sizes_ml)
        raise ScenarioError(
            f"{size:g} mL is not a {profile.name} reservoir ({sizes} mL)", path=where
        )


def check_reservoir(sc: schema.ScenarioFile, profile: DeviceProfile) -> None:
    """The reservoir is one of the profile's sizes and holds the initial volume."""
    pump = sc.pump
    _size_ok(profile, pump.reservoir_ml, ("pump", "reservoir_ml"))
    if pump.initial_volume_ml is not None and pump.initial_volume_ml > pump.reservoir_ml:
        raise ScenarioError(
            f"{pump.initial_volume_ml:g} mL exceeds the {pump.reservoir_ml:g} mL reservoir",
            path=("pump", "initial_volume_ml"),
        )


def check_alarm_levels(sc: schema.ScenarioFile, profile: DeviceProfile) -> None:
    """Empty-reservoir level < low-reservoir level < reservoir size."""
    pump = sc.pump
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


def check_battery(sc: schema.ScenarioFile, profile: DeviceProfile) -> None:
    """An explicit ERI instant is not negative."""
    if sc.pump.battery.eri_at is not None and sc.pump.battery.eri_at < 0:
        raise ScenarioError("eri_at must not be negative", path=("pump", "battery", "eri_at"))


def _accuracy_ok(profile: DeviceProfile, accuracy: Any, where: tuple[object, ...]) -> None:
    if not isinstance(accuracy, int | float):
        return  # a non-numeric accuracy (e.g. a fitted one) is checked where it is defined
    low, high = accuracy_plausible_range(profile)
    if not low < accuracy <= high:
        raise ScenarioError(
            f"{accuracy:g} is outside the {profile.name} plausible accuracy range "
            f"({low:g}, {high:g}] (actual/programmed - 1)",
            path=where,
        )


def check_accuracy(sc: schema.ScenarioFile, profile: DeviceProfile) -> None:
    """Every accuracy (the first pump's, a replacement's, one measured at a refill) lies in the
    plausible range."""
    _accuracy_ok(profile, sc.pump.accuracy, ("pump", "accuracy"))
    for index, event in enumerate(sc.events):
        if isinstance(event, schema.PumpReplacementEvent | schema.RefillEvent):
            _accuracy_ok(profile, event.accuracy, ("events", index, "accuracy"))


def refill_overfills(volume_ml: float, size_ml: float) -> str | None:
    """Why a refill of ``volume_ml`` cannot go into a ``size_ml`` reservoir (None: it fits);
    the one rule, for the scenario's events and a clinic log's rows alike."""
    if volume_ml > size_ml:
        return f"refill of {volume_ml:g} mL exceeds the {size_ml:g} mL reservoir"
    return None


#: The last instant a scenario may reach: the calendar (and matplotlib's date axis) ends with
#: the year 9999; a day's margin keeps every time zone's local time on it.
_LAST_INSTANT = datetime.datetime(9999, 12, 30)


def _check_end_on_the_calendar(sc: schema.ScenarioFile) -> None:
    start = sc.start.replace(tzinfo=None)
    try:
        end = start + datetime.timedelta(hours=sc.duration)
    except OverflowError:
        end = datetime.datetime.max
    if end > _LAST_INSTANT:
        raise ScenarioError(
            f"the scenario would end after {_LAST_INSTANT:%Y-%m-%d} (start "
            f"{start:%Y-%m-%d %H:%M} plus the duration): no calendar date can show it",
            path=("duration",),
        )


def check_timeline(sc: schema.ScenarioFile, profile: DeviceProfile) -> None:
    """Walk the events in time order: instants within the scenario, volumes within the
    reservoir, and the pump's rate within the programmable range at every change of programme
    or of the pump's concentration."""
    _check_end_on_the_calendar(sc)
    pump_conc = reservoir_conc = sc.drug.concentration_mcg_per_ml
    therapy, therapy_path = sc.therapy, ("therapy",)
    check_therapy(therapy, profile, pump_conc, therapy_path)
    size = sc.pump.reservoir_ml
    for index, event in sc.sorted_events():
        where: tuple[object, ...] = ("events", index)
        if event.at > sc.duration:
            clock = Clock.of(sc.start)
            raise ScenarioError(
                f"{clock.label(event.at)} is after the end of the scenario, "
                f"{clock.label(sc.duration)}",
                path=(*where, "at"),
            )
        if isinstance(event, schema.RefillEvent) and not event.missed:
            assert event.volume_ml is not None
            overfill = refill_overfills(event.volume_ml, size)
            if overfill is not None:
                raise ScenarioError(overfill, path=(*where, "volume_ml"))
            if event.concentration_mcg_per_ml is not None:
                reservoir_conc = event.concentration_mcg_per_ml
            new_conc = reservoir_conc if event.update_pump_concentration else pump_conc
            if event.therapy is not None:
                therapy, therapy_path = event.therapy, (*where, "therapy")
                check_therapy(therapy, profile, new_conc, therapy_path)
            elif new_conc != pump_conc:
                key = "concentration_mcg_per_ml" if event.concentration_mcg_per_ml else "at"
                check_therapy(
                    therapy,
                    profile,
                    new_conc,
                    therapy_path,
                    report_at=(*where, key),
                    why=f" (the programme set at {format_path(therapy_path)} kept after "
                    "the concentration change)",
                )
            pump_conc = new_conc
        elif isinstance(event, schema.ReprogramEvent):
            therapy, therapy_path = event.therapy, (*where, "therapy")
            check_therapy(therapy, profile, pump_conc, therapy_path)
        elif isinstance(event, schema.PumpReplacementEvent):
            new_size = event.reservoir_ml if event.reservoir_ml is not None else size
            _size_ok(profile, new_size, (*where, "reservoir_ml"))
            if event.volume_ml > new_size:
                raise ScenarioError(
                    f"{event.volume_ml:g} mL exceeds the {new_size:g} mL reservoir",
                    path=(*where, "volume_ml"),
                )
            size = new_size
            if reservoir_conc != pump_conc:
                check_therapy(
                    therapy,
                    profile,
                    reservoir_conc,
                    therapy_path,
                    report_at=(*where, "at"),
                    why=" (the new pump runs the programme at the reservoir's concentration)",
                )
            pump_conc = reservoir_conc


def check_expectations(sc: schema.ScenarioFile, profile: DeviceProfile) -> None:
    """Flag causes named in expectations exist; every instant lies within the scenario (a
    duration as much as a calendar date: contract section 1)."""
    clock = None
    for i, exp in enumerate(sc.expect):
        if exp.cause is not None and exp.flag is not None and exp.cause not in CAUSES:
            raise ScenarioError(
                f"unknown cause {exp.cause!r}; known: {', '.join(CAUSES)}",
                path=("expect", i, "cause"),
            )
        within = [("first_within", h) for h in exp.first_within or ()]
        instants = [("at", exp.at), ("first_at", exp.first_at), *within]
        for key, hours in instants:
            if hours is not None and float(hours) > sc.duration:
                clock = clock or Clock.of(sc.start)
                raise ScenarioError(
                    f"{clock.label(float(hours))} is after the end of the scenario, "
                    f"{clock.label(sc.duration)}",
                    path=("expect", i, key),
                )


#: Every check with the key paths it reads (dotted, list indices dropped). A check re-runs for a
#: variant when a changed key is one of these, inside one, or contains one.
CHECKS: tuple[tuple[Check, tuple[str, ...]], ...] = (
    (check_reservoir, ("pump.reservoir_ml", "pump.initial_volume_ml")),
    (
        check_alarm_levels,
        ("pump.reservoir_ml", "pump.low_reservoir_alarm_ml", "pump.empty_reservoir_alarm_ml"),
    ),
    (check_battery, ("pump.battery",)),
    (check_accuracy, ("pump.accuracy", "events")),
    (check_timeline, ("duration", "pump.reservoir_ml", "drug", "therapy", "events")),
    (check_expectations, ("expect", "duration")),
)


def _touches(changed: str, reads: str) -> bool:
    return changed == reads or changed.startswith(reads + ".") or reads.startswith(changed + ".")


def check_against_profile(sc: schema.ScenarioFile, changed: Iterable[str] | None = None) -> None:
    """Run the checks (all of them, or those that read a key in ``changed``).

    Raises ScenarioError with the key path of the first failure.
    """
    profile = device_profile(sc)
    keys = None if changed is None else list(changed)
    if keys is not None and any(_touches(k, "pump.profile") for k in keys):
        keys = None  # another device: every check depends on it
    for check, reads in CHECKS:
        if keys is None or any(_touches(k, r) for k in keys for r in reads):
            check(sc, profile)


#: A withdrawn residual may exceed what was put in by no more than rounding (mL).
_RESIDUAL_MATCH_ML = 1e-6


def check_fit_inputs(sc: schema.ScenarioFile) -> None:
    """For ``pump.accuracy: fit``: refuse residuals no accuracy can explain (more withdrawn than
    was put into the reservoir at the previous fill). Raises ScenarioError with the key path of
    the offending ``expect`` entry."""
    if sc.pump.accuracy != "fit":
        return
    bounds = fills(setup_of(sc))
    for before, visit in itertools.pairwise(bounds):
        if not visit.is_refill:
            continue
        for i, exp in enumerate(sc.expect):
            withdrawn = exp.residual_withdrawn_ml
            if withdrawn is None or exp.at != visit.at_h:
                continue
            if withdrawn > before.into_ml + _RESIDUAL_MATCH_ML:
                raise ScenarioError(
                    f"{withdrawn:g} mL withdrawn is more than the {before.into_ml:g} mL put "
                    "into the reservoir at the previous visit: no pump accuracy explains it",
                    path=("expect", i, "residual_withdrawn_ml"),
                )
            break
