"""Assemble one patient's parts from a run's resolved settings (``Setup``).

Every number comes from the Setup, which took it from the scenario or the device and drug
profiles; the engine (``pumpsim.model.engine``) then only drives what is assembled here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pumpsim.model.flags import FlagBook
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
from pumpsim.model.setup import Setup


@dataclass(slots=True)
class Parts:
    """Every part of one simulated patient and pump."""

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


def assemble(s: Setup, at: Callable[..., Any], logs: Logbook) -> Parts:
    """The parts at t = 0; ``at`` schedules, ``logs`` records."""
    prof = s.profile
    totals = Totals()
    alarms = AlarmBook(prof, s.critical_tone_interval_h)
    flags = FlagBook()
    volume = s.initial_volume_ml
    conc = s.concentration_mcg_per_ml
    reservoir = Reservoir(
        s.reservoir_ml, volume, conc, s.low_reservoir_alarm_ml, s.empty_reservoir_alarm_ml
    )
    drive = Drive(s.accuracy, s.min_rate_ml_per_h, at, logs)
    battery = Battery(prof, s.age_h, s.eri_at_h, s.eos_after_eri_h, at, logs)
    catheter = Catheter(s.catheter_volume_ml, conc)
    firmware = Firmware(prof, s.programme, s.start, alarms, at, logs)
    csf = CsfLevels(s.csf_half_life_h, firmware.schedule, s.established)
    detectors = Detectors(
        flags, s.threshold, s.max_daily_reduction, s.severity, s.start, s.refill_times_h(),
        alarms, reservoir, drive, catheter,
    )  # fmt: skip
    refill = RefillProcedure(
        prof, reservoir, catheter, firmware, drive, flags, totals, logs, s.duration_h
    )
    totals.injected_ml = volume + catheter.content_ml()
    totals.injected_mcg = volume * conc + catheter.content_mcg()
    return Parts(
        alarms, flags, totals, reservoir, drive, battery, catheter, firmware, csf, detectors,
        refill,
    )  # fmt: skip
