"""The per-patient columns every figure of the summary is a ratio of (for the bootstrap).

One patient at one grid point gives one vector of whole numbers: itself (1), its
abrupt-discontinuation flags, the silent ones, whether it has any, each alarm, each visit kind,
each fault, and per hazard its occurrences and the ones detected by an alarm at onset; then,
for each ``--by`` group, the same core columns again where the patient is in the group (else
zeros). A figure is (sum of one column) / (sum of another) x a scale, so the bootstrap needs
only the column sums, plain and per resample.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: The visits block (contract: visits in a block of their own, not among the alarms).
VISITS = ("refills", "missed_refills", "alarm_visits", "pump_replacements")
#: The faults block: what the fault streams did.
FAULTS = ("catheter_faults", "motor_stalls", "pump_faults", "pocket_fills")


@dataclass(frozen=True)
class Layout:
    """Which column holds what: ``index[name]``; group columns are ``by:<key>:<j>:<name>``."""

    alarms: tuple[str, ...]
    hazards: tuple[str, ...]
    groups: tuple[tuple[str, int], ...]  # (by key, number of groups)
    names: tuple[str, ...]

    @classmethod
    def make(
        cls, alarms: Sequence[str], hazards: Sequence[str], groups: Sequence[tuple[str, int]]
    ) -> Layout:
        """The layout for these alarms, hazards and breakdowns."""
        core = core_names(alarms)
        names = [*core]
        names += [f"hazard:{h}" for h in hazards] + [f"detected:{h}" for h in hazards]
        for key, count in groups:
            for j in range(count):
                names += [f"by:{key}:{j}:{c}" for c in core]
        return cls(tuple(alarms), tuple(hazards), tuple(groups), tuple(names))

    @property
    def index(self) -> dict[str, int]:
        """Column name -> position."""
        return {n: i for i, n in enumerate(self.names)}

    @property
    def width(self) -> int:
        """The number of columns."""
        return len(self.names)


def core_names(alarms: Sequence[str]) -> list[str]:
    """The columns each group repeats: patients, flags, silent, flagged, alarms, visits,
    faults."""
    return [
        "patients",
        "flags",
        "silent",
        "flagged",
        *(f"alarm:{a}" for a in alarms),
        *(f"visit:{v}" for v in VISITS),
        *(f"fault:{f}" for f in FAULTS),
    ]


@dataclass
class PatientFacts:
    """What one patient contributes: its core column values, hazards and group of each key."""

    core: list[int]
    hazards: dict[str, tuple[int, int]]  # hazard -> (occurrences, detected)
    groups: list[int | None]  # per --by key: the group, None when in none


def vector(layout: Layout, facts: PatientFacts) -> list[int]:
    """The patient's values in layout order."""
    out = list(facts.core)
    counts = [facts.hazards.get(h, (0, 0)) for h in layout.hazards]
    out += [c[0] for c in counts] + [c[1] for c in counts]
    n = len(facts.core)
    for (_, count), group in zip(layout.groups, facts.groups, strict=True):
        for j in range(count):
            out += facts.core if j == group else [0] * n
    return out


def core_values(
    row: Sequence[Any],
    columns: dict[str, int],
    alarms: Sequence[str],
    flags: Sequence[Sequence[Any]],
) -> list[int]:
    """The core columns of one patient from its table row and its abrupt flag records
    (``patient.FLAG_COLUMNS``: alarmed at position 5)."""
    silent = sum(1 for rec in flags if not rec[5])
    return [
        1,
        len(flags),
        silent,
        1 if flags else 0,
        *(int(row[columns[f"n_alarm_{a}"]]) for a in alarms),
        *(int(row[columns[f"n_{v}"]]) for v in VISITS),
        *(int(row[columns[f"n_{f}"]]) for f in FAULTS),
    ]
