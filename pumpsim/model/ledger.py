"""Running totals of a run: every mL and every mcg is somewhere."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Totals:
    """Running totals: what went in, where it went, what is left is held by the components."""

    programmed_mcg: float = 0.0  # expected input: programme + requested boluses
    pumped_programmed_ml: float = 0.0  # what the motor was told to move
    estimate_debited_ml: float = 0.0
    left_reservoir_ml: float = 0.0
    delivered_intrathecal_ml: float = 0.0
    delivered_intrathecal_mcg: float = 0.0
    delivered_elsewhere_ml: float = 0.0
    delivered_elsewhere_mcg: float = 0.0
    injected_ml: float = 0.0
    injected_mcg: float = 0.0
    pocket_ml: float = 0.0
    pocket_mcg: float = 0.0
    withdrawn_ml: float = 0.0
    withdrawn_mcg: float = 0.0

    def deliver(self, left_ml: float, tip_conc_mcg_per_ml: float, leak: float) -> None:
        """``left_ml`` left the reservoir; the catheter passes on as much at the tip
        concentration, a ``leak`` share of it into the intrathecal space."""
        self.left_reservoir_ml += left_ml
        self.delivered_intrathecal_ml += left_ml * leak
        self.delivered_elsewhere_ml += left_ml * (1.0 - leak)
        self.delivered_intrathecal_mcg += left_ml * tip_conc_mcg_per_ml * leak
        self.delivered_elsewhere_mcg += left_ml * tip_conc_mcg_per_ml * (1.0 - leak)
