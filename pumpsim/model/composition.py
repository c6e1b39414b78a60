"""The flows between two events, composed from the parts' state right now."""

from __future__ import annotations

from pumpsim.model.affine import Affine
from pumpsim.model.flows import Flows
from pumpsim.model.parts.battery import Battery
from pumpsim.model.parts.catheter import Catheter
from pumpsim.model.parts.drive import Drive
from pumpsim.model.parts.firmware import Firmware
from pumpsim.model.parts.reservoir import Reservoir


def compose(
    mode: str,
    firmware: Firmware,
    reservoir: Reservoir,
    catheter: Catheter,
    drive: Drive,
    battery: Battery,
    cache: dict[tuple, Flows],
) -> Flows:
    """Every flow as alpha*f + beta, from the components' state right now.

    The programme and requested boluses are expected; the motor moves them at the pump's
    concentration (the catheter's during a bridge bolus) in normal mode; the mechanism moves
    the motor's volume scaled by its accuracy and what the catheter lets through; the tip
    passes on the catheter's front concentration, a leaking share of it elsewhere.

    ``cache`` (one per run) maps the inputs to the flows already built from them: a run
    returns to the same few states again and again, and the recorded pieces then share them.
    """
    bolus = firmware.bolus_mcg_per_h()
    tip_conc = catheter.tip_concentration(reservoir.conc_mcg_per_ml)
    conc = tip_conc if firmware.bridge_active else reservoir.pump_conc_mcg_per_ml
    retained = catheter.retained_fraction()
    leak = catheter.leak_fraction()
    key = (
        mode,
        bolus,
        conc,
        retained,
        leak,
        tip_conc,
        drive.accuracy,
        reservoir.true_ml <= 0.0,
        reservoir.est_ml > 0.0,
    )
    flows = cache.get(key)
    if flows is not None:
        return flows
    motor = drive.motor(mode, conc, bolus)
    mech = drive.mechanism(motor, retained, reservoir.true_ml)
    flows = Flows(
        mode=mode,
        expected=Affine(1.0, bolus),
        motor=motor,
        est_debit=motor if reservoir.est_ml > 0.0 else Affine(),
        mech=mech,
        delivered=mech.scaled(tip_conc * leak),
        battery=battery.drain(motor),
        tip_conc=tip_conc,
        leak=leak,
    )
    cache[key] = flows
    return flows
