"""From a checked scenario to the model's ``Setup``: the one place defaults are looked up.

Every setting is the scenario's value when it gives one, else the device or drug profile's; the
programme becomes step lists, the events become the model's plain events in time order (ties in
file order). The Setup is made once per scenario object and kept on it (scenarios do not change
once checked; a variant is a new object).
"""

from __future__ import annotations

from typing import Any

from pumpsim.model import setup as model
from pumpsim.model.clock import Clock, pump_clock_note
from pumpsim.model.flags import risk_factors, severity
from pumpsim.model.profile import DeviceProfile
from pumpsim.model.units import HOURS_PER_DAY
from pumpsim.scenario import schema
from pumpsim.scenario.profiles import load_device_profile, load_drug_profile
from pumpsim.scenario.therapy import WEEKDAYS


def _setting(value: float | None, default: float) -> float:
    """A scenario override, or the profile's value when the scenario leaves it out."""
    return default if value is None else value


def programme(therapy: schema.Therapy, profile: DeviceProfile) -> model.Programme:
    """The model's programme for a therapy (flex steps per weekday, PTM limits in hours)."""
    ptm = None
    if therapy.ptm is not None:
        p = therapy.ptm
        duration = _setting(p.duration, profile.ptm_bolus_duration_h)
        ptm = model.PtmLimits(p.dose_mcg, p.lockout, p.max_per_day, duration)
    if therapy.mode == "continuous":
        assert therapy.dose_mcg_per_day is not None
        return model.Programme.continuous(therapy.dose_mcg_per_day, ptm)
    parsed: dict[int, tuple[tuple[float, ...], tuple[float, ...]]] = {}
    week = []
    for weekday in WEEKDAYS:
        steps = therapy.day_steps(weekday)
        day = parsed.get(id(steps))
        if day is None:
            day = parsed[id(steps)] = (
                tuple(s.at_h for s in steps),
                tuple(s.dose_mcg_per_hour for s in steps),
            )
        week.append(day)
    return model.Programme("flex", tuple(week), therapy.daily_dose_mcg, ptm)


def event(ev: Any, profile: DeviceProfile) -> model.Event:
    """The model's event for a scenario event (durations in hours, programmes resolved)."""
    kind = ev.type
    if kind == "refill":
        return model.Refill(
            at_h=ev.at,
            volume_ml=0.0 if ev.volume_ml is None else ev.volume_ml,
            concentration_mcg_per_ml=ev.concentration_mcg_per_ml or None,
            missed=ev.missed,
            pocket_fraction=ev.pocket_fraction,
            bridge_bolus=ev.bridge_bolus,
            update_pump_concentration=ev.update_pump_concentration,
            programme=None if ev.therapy is None else programme(ev.therapy, profile),
            accuracy=ev.accuracy,
        )
    if kind == "reprogram":
        return model.Reprogram(ev.at, programme(ev.therapy, profile))
    if kind == "bolus":
        return model.Bolus(ev.at, ev.dose_mcg, ev.duration)
    if kind == "ptm_bolus":
        return model.PtmBolus(ev.at)
    if kind == "catheter_fault":
        return model.CatheterFault(ev.at, ev.kind, ev.fraction, ev.duration)
    if kind == "catheter_repair":
        return model.CatheterRepair(ev.at)
    if kind == "mri":
        return model.Mri(ev.at, ev.duration, ev.recovery_delay)
    if kind == "motor_stall":
        return model.MotorStall(ev.at, ev.duration)
    if kind == "pump_fault":
        return model.PumpFault(ev.at, ev.kind)
    if kind == "pump_replacement":
        return model.PumpReplacement(ev.at, ev.volume_ml, ev.reservoir_ml, ev.accuracy)
    raise ValueError(f"unknown event type {kind!r}")  # pragma: no cover - the schema's union


def setup_of(sc: schema.ScenarioFile) -> model.Setup:
    """The resolved settings of a checked scenario (made once per scenario object).

    ``pump.accuracy: fit`` resolves to 0: the fitted replay (``pumpsim.studies.fit``) sets the
    accuracy of every interval on the Setup itself.
    """
    private = sc.__pydantic_private__  # the private attributes' own dict: a quick look-up
    made = private.get("_setup")
    if made is None:
        made = private["_setup"] = _resolve(sc)
    return made


def _resolve(sc: schema.ScenarioFile) -> model.Setup:
    prof = load_device_profile(sc.pump.profile)
    drug = load_drug_profile(sc.drug.name)
    pump, patient = sc.pump, sc.patient
    volume = pump.initial_volume_ml if pump.initial_volume_ml is not None else pump.reservoir_ml
    factors = risk_factors(
        patient.injury_level, patient.communication_difficulty, patient.prior_withdrawal
    )
    return model.Setup(
        duration_h=sc.duration,
        start=sc.start,
        profile=prof,
        drug=drug,
        reservoir_ml=pump.reservoir_ml,
        initial_volume_ml=volume,
        age_h=pump.age,
        accuracy=0.0 if pump.accuracy == "fit" else pump.accuracy,
        low_reservoir_alarm_ml=_setting(pump.low_reservoir_alarm_ml, prof.low_reservoir_alarm_ml),
        empty_reservoir_alarm_ml=_setting(
            pump.empty_reservoir_alarm_ml, prof.empty_reservoir_alarm_ml
        ),
        min_rate_ml_per_h=_setting(pump.min_rate_ml_per_day, prof.min_rate_ml_per_day)
        / HOURS_PER_DAY,
        critical_tone_interval_h=_setting(
            pump.critical_tone_interval, prof.critical_tone_interval_h
        ),
        eri_at_h=pump.battery.eri_at,
        eos_after_eri_h=_setting(pump.battery.eos_after_eri, prof.eos_after_eri_h),
        concentration_mcg_per_ml=sc.drug.concentration_mcg_per_ml,
        catheter_volume_ml=sc.catheter.volume_ml,
        established=patient.established,
        risk_factors=tuple(factors),
        severity=severity(factors),
        csf_half_life_h=_setting(sc.risk.csf_half_life, drug.csf_half_life_h),
        threshold=sc.risk.threshold,
        max_daily_reduction=sc.risk.max_daily_reduction,
        programme=programme(sc.therapy, prof),
        events=tuple(event(ev, prof) for _, ev in sc.sorted_events()),
        notes=tuple(faulty_pump_notes(sc) + clock_notes(sc)),
    )


def clock_notes(sc: schema.ScenarioFile) -> list[str]:
    """Notes for the result: local time and the pump's clock part during the run (a start in a
    time zone with daylight-saving time; contract section 11)."""
    note = pump_clock_note(Clock.of(sc.start), sc.duration)
    return [] if note is None else [note]


def faulty_pump_notes(sc: schema.ScenarioFile) -> list[str]:
    """Notes for the result: pumps whose accuracy is beyond the device's specification."""
    profile = load_device_profile(sc.pump.profile)
    spec = profile.accuracy_spec_fraction
    notes: list[str] = []

    def note(accuracy: Any, what: str) -> None:
        if isinstance(accuracy, int | float) and abs(accuracy) > spec:
            notes.append(
                f"{what} {accuracy:+.1%} is beyond the {profile.name} specification "
                f"(±{spec:.1%}): this scenario models a faulty pump"
            )

    note(sc.pump.accuracy, "pump.accuracy")
    for index, event in enumerate(sc.events):
        if isinstance(event, schema.PumpReplacementEvent):
            note(event.accuracy, f"events[{index}].accuracy (a replacement pump)")
        elif isinstance(event, schema.RefillEvent):
            note(event.accuracy, f"events[{index}].accuracy (from this refill on)")
    return notes
