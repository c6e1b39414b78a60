"""Scenario events (contract section 2): refills, reprogramming, boluses, faults, scans, new pumps.

One model per event ``type``; ``Event`` is their union, told apart by ``type``. Every event has
``at``, an instant on the scenario clock.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from pumpsim.scenario.quantities import (
    Boolean,
    ConcentrationMcgPerMl,
    Duration,
    Fraction,
    InstantH,
    Number,
    PositiveDoseMcg,
    PositiveDuration,
    PositiveVolumeMl,
    Strict,
    VolumeMl,
)
from pumpsim.scenario.schema_rules import catheter_fault_rules, refill_rules
from pumpsim.scenario.therapy import Therapy

CATHETER_FAULT_KINDS = ("occlusion", "kink", "disconnection", "fracture", "leak", "migration")
#: Faults whose undelivered share stays in the reservoir (the rest leave the intrathecal space).
RETAINING_FAULTS = ("occlusion", "kink")
PUMP_FAULT_KINDS = ("low_battery_reset", "critical_memory_error")


class _Event(Strict):
    at: InstantH


class RefillEvent(_Event):
    """A refill visit (contract 3.5)."""

    model_config = ConfigDict(json_schema_extra=refill_rules)

    type: Literal["refill"]
    volume_ml: VolumeMl | None = None
    concentration_mcg_per_ml: ConcentrationMcgPerMl | None = None
    missed: Boolean = False
    pocket_fraction: Fraction = 0.0
    bridge_bolus: Boolean = False
    update_pump_concentration: Boolean = True
    therapy: Therapy | None = None
    #: the pump's accuracy from this visit on (a replacement of the mechanism's behaviour, e.g.
    #: fitted to a clinic log); default: unchanged
    accuracy: Number | None = Field(None, gt=-1.0, le=10.0)

    @model_validator(mode="after")
    def _volume(self) -> RefillEvent:
        if self.volume_ml is None and not self.missed:
            raise ValueError("a refill needs volume_ml (or missed: true)")
        return self


class ReprogramEvent(_Event):
    """A new programme from this instant."""

    type: Literal["reprogram"]
    therapy: Therapy


class BolusEvent(_Event):
    """A clinician bolus on top of the programme."""

    type: Literal["bolus"]
    dose_mcg: PositiveDoseMcg
    duration: PositiveDuration


class PtmBolusEvent(_Event):
    """A patient request through the patient therapy manager."""

    type: Literal["ptm_bolus"]


class CatheterFaultEvent(_Event):
    """A silent catheter fault (contract 3.3)."""

    model_config = ConfigDict(json_schema_extra=catheter_fault_rules)

    type: Literal["catheter_fault"]
    kind: Literal["occlusion", "kink", "disconnection", "fracture", "leak", "migration"]
    delivered_fraction: Fraction | None = None
    duration: PositiveDuration | None = None

    @model_validator(mode="after")
    def _fraction(self) -> CatheterFaultEvent:
        if self.delivered_fraction is None and self.kind in ("kink", "leak"):
            raise ValueError(f"a {self.kind} needs delivered_fraction (0..1)")
        return self

    @property
    def fraction(self) -> float:
        """The share of pump output reaching the intrathecal space."""
        return 0.0 if self.delivered_fraction is None else self.delivered_fraction


class CatheterRepairEvent(_Event):
    """Ends every catheter fault."""

    type: Literal["catheter_repair"]


class MriEvent(_Event):
    """An MRI scan: the motor stalls for the scan and the recovery delay."""

    type: Literal["mri"]
    duration: PositiveDuration
    recovery_delay: Duration = 0.0


class MotorStallEvent(_Event):
    """The motor stops, for a while or for good."""

    type: Literal["motor_stall"]
    duration: PositiveDuration | None = None


class PumpFaultEvent(_Event):
    """An internal pump fault (contract 3.4)."""

    type: Literal["pump_fault"]
    kind: Literal["low_battery_reset", "critical_memory_error"]


class PumpReplacementEvent(_Event):
    """A new pump with a new battery, filled with the current drug."""

    type: Literal["pump_replacement"]
    reservoir_ml: PositiveVolumeMl | None = None  # default: same size as before
    volume_ml: VolumeMl
    accuracy: Number = Field(0.0, gt=-1.0, le=10.0)


Event = Annotated[
    RefillEvent
    | ReprogramEvent
    | BolusEvent
    | PtmBolusEvent
    | CatheterFaultEvent
    | CatheterRepairEvent
    | MriEvent
    | MotorStallEvent
    | PumpFaultEvent
    | PumpReplacementEvent,
    Field(discriminator="type"),
]
