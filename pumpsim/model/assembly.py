"""Assemble one patient's components from a scenario and the device and drug profiles.

Scenario overrides win over profile values (``_setting``); every device number comes from the
profile. The coordinator (``pumpsim.model.engine``) then only drives what is assembled here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pumpsim.model.flags import FlagBook, risk_factors, severity
from pumpsim.model.ledger import Totals
from pumpsim.model.logbook import Logbook
from pumpsim.model.parts.alarms import AlarmBook
from pumpsim.model.parts.battery import Battery
from pumpsim.model.parts.catheter import Catheter
from pumpsim.model.parts.csf import CsfLevels
from pumpsim.model.parts.detectors import Detectors
from pumpsim.model.parts.drive import Drive
from pumpsim.model.parts.firmware import Firmware
from pumpsim.model.parts.reservoir import Reservoir
from pumpsim.model.procedures.refill import RefillProcedure
from pumpsim.model.units import HOURS_PER_DAY
from pumpsim.scenario import schema
from pumpsim.scenario.profiles import DeviceProfile, load_device_profile, load_drug_profile


def _setting(value: float | None, default: float) -> float:
    """A scenario override, or the profile's value when the scenario leaves it out."""
    return default if value is None else value


@dataclass(slots=True)
class Parts:
    """Every component of one simulated patient and pump."""

    profile: DeviceProfile
    alarms: AlarmBook
    flags: FlagBook
    totals: Totals
    reservoir: Reservoir
    drive: Drive
    battery: Battery
    catheter: Catheter
    firmware: Firmware
    csf: CsfLevels
    detectors: Detectors
    refill: RefillProcedure
    risk_factors: list[str]


def assemble(sc: schema.Scenario, at: Callable[..., Any], logs: Logbook) -> Parts:
    """The components for scenario ``sc`` at t = 0; ``at`` schedules, ``logs`` records."""
    prof = load_device_profile(sc.pump.profile)
    drug = load_drug_profile(sc.drug.name)
    pump = sc.pump
    totals = Totals()
    alarms = AlarmBook(prof, _setting(pump.critical_tone_interval, prof.critical_tone_interval_h))
    flags = FlagBook()
    volume = pump.initial_volume_ml if pump.initial_volume_ml is not None else pump.reservoir_ml
    conc = sc.drug.concentration_mcg_per_ml
    reservoir = Reservoir(
        pump.reservoir_ml,
        volume,
        conc,
        _setting(pump.low_reservoir_alarm_ml, prof.low_reservoir_alarm_ml),
        _setting(pump.empty_reservoir_alarm_ml, prof.empty_reservoir_alarm_ml),
    )
    min_rate = _setting(pump.min_rate_ml_per_day, prof.min_rate_ml_per_day) / HOURS_PER_DAY
    drive = Drive(pump.accuracy, min_rate, at, logs)
    eos_after = _setting(pump.battery.eos_after_eri, prof.eos_after_eri_h)
    battery = Battery(prof, pump.age, pump.battery.eri_at, eos_after, at, logs)
    catheter = Catheter(sc.catheter.volume_ml, conc)
    firmware = Firmware(prof, sc.therapy, sc.start, alarms, at, logs)
    half_life = _setting(sc.risk.csf_half_life, drug.csf_half_life_h)
    csf = CsfLevels(half_life, firmware.schedule, sc.patient.established)
    refills = [ev.at for ev in sc.events if isinstance(ev, schema.RefillEvent)]
    detectors = Detectors(
        flags, sc.risk.threshold, sc.risk.max_daily_reduction, severity(sc.patient), sc.start,
        refills, alarms, reservoir, drive, catheter,
    )  # fmt: skip
    refill = RefillProcedure(
        prof, reservoir, catheter, firmware, drive, alarms, flags, totals, logs, sc.duration
    )
    totals.injected_ml = volume + catheter.content_ml()
    totals.injected_mcg = volume * conc + catheter.content_mcg()
    return Parts(
        prof, alarms, flags, totals, reservoir, drive, battery, catheter, firmware, csf,
        detectors, refill, risk_factors(sc.patient),
    )  # fmt: skip
