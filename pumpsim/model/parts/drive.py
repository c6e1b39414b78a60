"""The drive: what the motor is told to move, what the mechanism really moves, and stalls.

Delivery modes: ``normal`` (the programme), ``minimum_rate`` (the empty-reservoir alarm's
keep-vein-open rate), ``stalled`` (the rotor does not turn: an MRI, a motor stall) and
``stopped`` (an alarm whose response stops the pump). The mechanism's accuracy scales the
motor's output; occlusions and kinks hold part of it back in the reservoir.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pumpsim.model.affine import Affine
from pumpsim.model.logbook import Logbook

Scheduler = Callable[..., Any]
"""``at(t_h, fn, *args) -> token``: run ``fn(t_h, *args)`` at t_h unless the token is cancelled."""


class Drive:
    """Accuracy, the minimum rate and the stall state of the pump's motor."""

    __slots__ = (
        "_at",
        "_logs",
        "accuracy",
        "min_rate_ml_per_h",
        "stall_token",
        "stall_until_h",
        "stalled",
    )

    def __init__(
        self, accuracy: float, min_rate_ml_per_h: float, at: Scheduler, logs: Logbook
    ) -> None:
        self.accuracy = accuracy
        self.min_rate_ml_per_h = min_rate_ml_per_h
        self.stalled = False
        self.stall_until_h: float | None = None
        self.stall_token: Any = None
        self._at = at
        self._logs = logs

    @staticmethod
    def mode(responses: set[str] | frozenset[str], stalled: bool) -> str:
        """The delivery mode for the alarm responses in force."""
        if "stop" in responses:
            return "stopped"
        if stalled or "no_flow" in responses:
            return "stalled"
        if "minimum_rate" in responses:
            return "minimum_rate"
        return "normal"

    def motor(self, mode: str, conc_mcg_per_ml: float, bolus_mcg_per_h: float) -> Affine:
        """mL/h the motor is told to move (the programme at ``conc_mcg_per_ml`` when normal)."""
        if mode == "normal":
            return Affine(1.0 / conc_mcg_per_ml, bolus_mcg_per_h / conc_mcg_per_ml)
        if mode == "minimum_rate":
            return Affine(0.0, self.min_rate_ml_per_h)
        return Affine()

    def mechanism(self, motor: Affine, retained_fraction: float, true_ml: float) -> Affine:
        """mL/h that truly leave the reservoir: nothing once it is empty."""
        if true_ml <= 0.0:
            return Affine()
        return motor.scaled((1.0 + self.accuracy) * retained_fraction)

    # -- stalls -------------------------------------------------------------------------------
    def stall(self, t_h: float, until_h: float | None, reason: str) -> None:
        """Stop the rotor until ``until_h`` (None: for good); overlapping stalls extend."""
        if self.stalled and self.stall_until_h is None:
            return  # already stalled for good
        if self.stalled and until_h is not None and self.stall_until_h is not None:
            until_h = max(until_h, self.stall_until_h)
        if self.stall_token is not None:
            self.stall_token.cancelled = True
            self.stall_token = None
        self.stalled = True
        self.stall_until_h = until_h
        self._logs.world(t_h, "motor_stopped", reason=reason, until_h=until_h)
        if until_h is not None:
            self.stall_token = self._at(until_h, self._unstall)

    def _unstall(self, t_h: float) -> None:
        self.stalled = False
        self.stall_until_h = None
        self.stall_token = None
        self._logs.world(t_h, "motor_turning")

    def replace(self, accuracy: float) -> None:
        """A new pump: a turning rotor with its own accuracy."""
        if self.stall_token is not None:
            self.stall_token.cancelled = True
        self.stalled = False
        self.stall_until_h = None
        self.stall_token = None
        self.accuracy = accuracy
