"""Flows between two events: each is ``alpha*f(t) + beta`` of the programme's dose rate ``f``.

The vocabulary every component speaks with the coordinator (``pumpsim.model.engine``): a component
reports the flow it causes as an ``Affine``; ``Flows`` holds them all for the state after the
last event, so any instant until the next event is known in closed form.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pumpsim.model.affine import Affine

if TYPE_CHECKING:
    from pumpsim.model.parts.battery import Battery
    from pumpsim.model.parts.catheter import Catheter
    from pumpsim.model.parts.drive import Drive
    from pumpsim.model.parts.firmware import Firmware
    from pumpsim.model.parts.reservoir import Reservoir


class Flows:
    """Every flow between two events, for the state after the last one."""

    __slots__ = (
        "battery",
        "delivered",
        "est_debit",
        "expected",
        "leak",
        "mech",
        "mode",
        "motor",
        "tip_conc",
    )

    def __init__(
        self,
        mode: str,
        expected: Affine,
        motor: Affine,
        est_debit: Affine,
        mech: Affine,
        delivered: Affine,
        battery: Affine,
        tip_conc: float,
        leak: float,
    ) -> None:
        self.mode = mode  # normal | minimum_rate | stalled | stopped
        self.expected = expected  # mcg/h the programme asks for (with requested boluses)
        self.motor = motor  # mL/h the pump is programmed to move
        self.est_debit = est_debit  # mL/h taken off the estimate
        self.mech = mech  # mL/h that truly leave the reservoir (and enter the catheter)
        self.delivered = delivered  # mcg/h reaching the intrathecal space
        self.battery = battery  # battery fraction per hour
        self.tip_conc = tip_conc  # mcg/mL leaving the catheter tip
        self.leak = leak  # share of the catheter flow reaching the intrathecal space

    def __repr__(self) -> str:
        return f"Flows(mode={self.mode!r}, motor={self.motor!r}, mech={self.mech!r})"


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
