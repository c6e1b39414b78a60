"""The device and the drug as data: the typed profiles the model reads.

A profile is a YAML file (``pumpsim.scenario.profiles`` reads and checks it); every number the
model uses comes from one of these dataclasses, never from a literal in code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ALARM_RESPONSES = ("none", "minimum_rate", "no_flow", "stop")
#: The alarms the firmware raises (``parts/firmware.py``): every device profile describes each.
ALARM_NAMES = (
    "low_reservoir",
    "empty_reservoir",
    "motor_stall",
    "eri",
    "eos",
    "low_battery_reset",
    "critical_memory_error",
)


@dataclass(frozen=True)
class AlarmSpec:
    """One row of the device's alarm table."""

    name: str
    priority: str  # "critical" | "non_critical"
    response: str  # one of ALARM_RESPONSES
    meaning: str


@dataclass(frozen=True)
class Parameter:
    """A profile value with its provenance."""

    value: Any
    source: str | None
    assumed: str | None


@dataclass(frozen=True)
class DeviceProfile:
    """Numbers and behaviours of one pump model. Durations are in hours."""

    name: str
    description: str
    reservoir_sizes_ml: tuple[float, ...]
    flow_rate_min_ml_per_day: float
    flow_rate_max_ml_per_day: float
    flex_max_steps_per_day: int
    accuracy_spec_fraction: float
    low_reservoir_alarm_ml: float
    empty_reservoir_alarm_ml: float
    min_rate_ml_per_day: float
    noncritical_tone_interval_h: float
    noncritical_tone: str
    critical_tone_interval_h: float
    critical_tone: str
    eos_after_eri_h: float
    hard_stop_life_h: float
    battery_idle_longevity_h: float
    battery_volume_capacity_ml: float
    refill_discrepancy_ml: dict[float, float]
    ptm_bolus_duration_h: float
    pocket_fill_watch_h: float
    alarms: dict[str, AlarmSpec]
    parameters: dict[str, Parameter]
    fault_parameters: dict[str, Parameter] = field(default_factory=dict)

    def fault_default(self, key: str) -> Any:
        """A default of the fault streams or the synthetic clinic (``fault_parameters:``)."""
        if key not in self.fault_parameters:
            raise ProfileError(f"{self.name}: missing fault parameter {key}")
        return self.fault_parameters[key].value

    def discrepancy_threshold_ml(self, reservoir_ml: float) -> float:
        """The refill-discrepancy limit for a reservoir size (nearest listed size)."""
        size = min(self.refill_discrepancy_ml, key=lambda s: abs(s - reservoir_ml))
        return self.refill_discrepancy_ml[size]

    def is_critical(self, alarm: str) -> bool:
        """Whether the named alarm is critical on this device."""
        return self.alarms[alarm].priority == "critical"


@dataclass(frozen=True)
class DrugProfile:
    """Drug data used by the safety model."""

    name: str
    csf_half_life_h: float
    concentrations_mcg_per_ml: tuple[float, ...]
    withdrawal_course: tuple[dict[str, Any], ...]
    parameters: dict[str, Parameter]


class ProfileError(ValueError):
    """A shipped profile is malformed (a packaging bug, not user input)."""
