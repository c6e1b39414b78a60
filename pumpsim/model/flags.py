"""Safety flags (contract section 4): records, causes and patient severity."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

#: Causes a flag can carry. For abrupt_discontinuation: the contract's list, plus
#: ``under_infusion`` (a pump delivering far below its programme) and ``other``. For
#: overdose_risk: ``pocket_fill``, ``concentration_mismatch``, ``catheter_transit``,
#: ``over_infusion``, ``other``. For refill_discrepancy: ``more_than_expected`` (under-delivery)
#: or ``less_than_expected`` (over-infusion).
CAUSES = (
    "reservoir_empty",
    "minimum_rate",
    "catheter",
    "motor_stall",
    "end_of_service",
    "pump_fault",
    "catheter_transit",
    "concentration_mismatch",
    "reprogramming",
    "under_infusion",
    "pocket_fill",
    "over_infusion",
    "more_than_expected",
    "less_than_expected",
    "other",
)

_ORDER = {
    f"{region}{n}": i
    for i, (region, n) in enumerate(
        [("C", k) for k in range(1, 9)]
        + [("T", k) for k in range(1, 13)]
        + [("L", k) for k in range(1, 6)]
        + [("S", k) for k in range(1, 6)]
    )
}
#: Boxed warning: spinal cord injury at T-6 or above is a withdrawal risk factor.
_T6 = _ORDER["T6"]


def level_index(level: str) -> int:
    """Position of a vertebral level from the top (C1 = 0 ... S5 = 29)."""
    key = re.sub(r"[^A-Z0-9]", "", level.upper())
    return _ORDER[key]


def risk_factors(
    injury_level: str | None, communication_difficulty: bool, prior_withdrawal: bool
) -> list[str]:
    """The boxed-warning risk factors of a patient."""
    found = []
    if injury_level is not None and level_index(injury_level) <= _T6:
        found.append(f"spinal cord injury at {injury_level} (T6 or above)")
    if communication_difficulty:
        found.append("communication difficulty")
    if prior_withdrawal:
        found.append("prior withdrawal")
    return found


def severity(factors: list[str] | tuple[str, ...]) -> str:
    """``high`` where the patient has a boxed-warning risk factor, else ``moderate``."""
    return "high" if factors else "moderate"


@dataclass
class Flag:
    """One safety flag occurrence."""

    type: str
    start_h: float
    end_h: float | None
    cause: str | None = None
    alarmed: bool | None = None
    severity: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The result-document form."""
        out: dict[str, Any] = {
            "type": self.type,
            "start_h": self.start_h,
            "end_h": self.end_h,
            "cause": self.cause,
            "alarmed": self.alarmed,
            "severity": self.severity,
        }
        out.update(self.details)
        return out


class FlagBook:
    """Open and closed flags."""

    def __init__(self) -> None:
        self.history: list[Flag] = []
        self.open: dict[str, Flag] = {}
        # Flags whose ``alarmed`` waits for the pump's alarms to be updated after their event.
        self.unsettled: list[Flag] = []

    def raise_flag(self, flag: Flag, keep_open: bool = True, after_alarms: bool = False) -> Flag:
        """Record a flag; an instantaneous one (start = end) is not kept open.

        ``after_alarms``: the event that raises it also changes what the pump's alarms see (a
        refill clears the reservoir alarms it answers), so ``alarmed`` is decided by
        :meth:`settle` once the alarms are updated, not from the alarms before the event.
        """
        self.history.append(flag)
        if keep_open and flag.end_h is None:
            self.open[flag.type] = flag
        if after_alarms:
            self.unsettled.append(flag)
        return flag

    def settle(self, critical_alarm_active: bool) -> None:
        """Decide ``alarmed`` for the flags raised ``after_alarms``, the alarms now updated."""
        for flag in self.unsettled:
            flag.alarmed = critical_alarm_active
        self.unsettled.clear()

    def close(self, kind: str, t_h: float) -> Flag | None:
        """End the open flag of this type, if any."""
        flag = self.open.pop(kind, None)
        if flag is not None:
            flag.end_h = t_h
        return flag

    def is_open(self, kind: str) -> bool:
        """Whether a flag of this type is open."""
        return kind in self.open
