"""The reservoir, twice: what the pump believes is in it and what is physically there.

The pump only ever debits its estimate by what it was told to move; the true volume falls by
what the mechanism really moved. Silent failures live in the gap between the two.
"""

from __future__ import annotations

from collections.abc import Callable

from pumpsim.model.affine import Affine

Crossing = tuple[float, str]
"""(instant in hours, what is crossed)."""


class Reservoir:
    """Estimated and true volume, the drug's concentration as held and as the pump believes it,
    and the volume thresholds of the reservoir alarms."""

    __slots__ = (
        "conc_mcg_per_ml",
        "empty_alarm_ml",
        "est_jumps",
        "est_ml",
        "low_alarm_ml",
        "pump_conc_mcg_per_ml",
        "size_ml",
        "true_jumps",
        "true_ml",
    )

    def __init__(
        self,
        size_ml: float,
        volume_ml: float,
        conc_mcg_per_ml: float,
        low_alarm_ml: float,
        empty_alarm_ml: float,
    ) -> None:
        self.size_ml = size_ml
        self.true_ml = volume_ml
        self.est_ml = volume_ml
        self.conc_mcg_per_ml = conc_mcg_per_ml
        self.pump_conc_mcg_per_ml = conc_mcg_per_ml
        self.low_alarm_ml = low_alarm_ml
        self.empty_alarm_ml = empty_alarm_ml
        #: how many times the estimate, and the true volume, changed other than by flowing (a
        #: refill, a new pump, a crossing snapped): crossings worked out before are stale
        self.est_jumps = 0
        self.true_jumps = 0

    # -- flows --------------------------------------------------------------------------------
    def debit_estimate(self, programmed_ml: float) -> float:
        """Take what the pump was told to move off the estimate (floored at zero)."""
        debit = min(programmed_ml, self.est_ml)
        self.est_ml -= debit
        return debit

    def draw(self, moved_ml: float) -> float:
        """Take what the mechanism truly moved out of the reservoir (no more than is there)."""
        left = min(moved_ml, self.true_ml)
        self.true_ml -= left
        return left

    def estimate_crossings(
        self,
        debit: Affine,
        active_alarms: dict,
        when: Callable[[Affine, float], float],
        out: list[Crossing],
    ) -> None:
        """Append when the estimate next reaches the low and empty alarm levels and zero."""
        if not debit.moves():
            return
        est = self.est_ml
        # Only the nearest level matters: the next event re-asks (ties: the same snap).
        nearest: tuple[float, str] | None = None
        if "low_reservoir" not in active_alarms and est > self.low_alarm_ml:
            nearest = (est - self.low_alarm_ml, "estimate_low")
        if "empty_reservoir" not in active_alarms and est > self.empty_alarm_ml:
            cand = (est - self.empty_alarm_ml, "estimate_empty")
            nearest = cand if nearest is None else min(nearest, cand)
        if nearest is None and est > 0:
            nearest = (est, "estimate_zero")
        if nearest is not None:
            out.append((when(debit, nearest[0]), nearest[1]))

    def snap(self, kind: str) -> None:
        """A crossing fired: put the crossed quantity exactly on its threshold (rounding must
        not re-fire it)."""
        if kind == "true_empty":
            self.true_jumps += 1
        else:
            self.est_jumps += 1
        if kind == "estimate_low":
            self.est_ml = min(self.est_ml, self.low_alarm_ml)
        elif kind == "estimate_empty":
            self.est_ml = min(self.est_ml, self.empty_alarm_ml)
        elif kind == "estimate_zero":
            self.est_ml = 0.0
        elif kind == "true_empty":
            self.true_ml = 0.0

    # -- procedures ---------------------------------------------------------------------------
    def fill(
        self, volume_ml: float, into_ml: float, conc_mcg_per_ml: float, tell_pump: bool
    ) -> None:
        """After emptying: ``into_ml`` truly enters; the pump is told ``volume_ml``."""
        self.est_jumps += 1
        self.true_jumps += 1
        self.true_ml = into_ml
        self.est_ml = volume_ml
        self.conc_mcg_per_ml = conc_mcg_per_ml
        if tell_pump:
            self.pump_conc_mcg_per_ml = conc_mcg_per_ml

    def replace(self, size_ml: float | None, volume_ml: float) -> None:
        """A new pump filled with the same drug (same size unless ``size_ml`` is given)."""
        self.est_jumps += 1
        self.true_jumps += 1
        if size_ml is not None:
            self.size_ml = size_ml
        self.true_ml = volume_ml
        self.est_ml = volume_ml
        self.pump_conc_mcg_per_ml = self.conc_mcg_per_ml
