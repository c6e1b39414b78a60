"""Pump replacement: a new pump with a fresh battery, filled with the same drug."""

from __future__ import annotations

from pumpsim.model.ledger import Totals
from pumpsim.model.logbook import Logbook
from pumpsim.model.parts.battery import Battery
from pumpsim.model.parts.drive import Drive
from pumpsim.model.parts.firmware import Firmware
from pumpsim.model.parts.reservoir import Reservoir
from pumpsim.model.setup import PumpReplacement


def replace_pump(
    t_h: float,
    ev: PumpReplacement,
    reservoir: Reservoir,
    drive: Drive,
    firmware: Firmware,
    battery: Battery,
    totals: Totals,
    logs: Logbook,
) -> None:
    """The old pump's drug is withdrawn; the new one is filled, silent, its battery new (the
    caller re-arms the battery and re-projects the refill date)."""
    totals.withdrawn_ml += reservoir.true_ml
    totals.withdrawn_mcg += reservoir.true_ml * reservoir.conc_mcg_per_ml
    totals.injected_ml += ev.volume_ml
    totals.injected_mcg += ev.volume_ml * reservoir.conc_mcg_per_ml
    reservoir.replace(ev.reservoir_ml, ev.volume_ml)
    drive.replace(ev.accuracy)
    battery.replace(t_h)
    # A new pump starts silent: alarms of the old one end here (and re-raise if still due).
    firmware.replace(t_h)
    logs.device(t_h, "pump_replacement", reservoir_ml=reservoir.size_ml, volume_ml=ev.volume_ml)
