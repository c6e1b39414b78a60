"""Flows between two events: each is ``alpha*f(t) + beta`` of the programme's dose rate ``f``.

The vocabulary every component speaks with the coordinator (``pumpsim.model.engine``): a component
reports the flow it causes as an ``Affine``; ``Flows`` holds them all for the state after the
last event, so any instant until the next event is known in closed form.
"""

from __future__ import annotations

from pumpsim.model.affine import Affine


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
