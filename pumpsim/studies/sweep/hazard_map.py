"""Which hazard of the catalogue a flag is (contract section 10, the risk table).

Each entry of ``pumpsim/profiles/hazards.yaml`` may carry ``maps:``, a list of
``{flag, cause, kinds}``: a flag of that type and cause (and, for catheter and pump faults,
of one of those fault kinds) is an occurrence of that hazard. ``hazard_records`` reads a
finished run into one plain tuple per safety flag (withdrawal and overdose), with the kind of
the fault behind it; ``HazardMap`` assigns the hazard when the sweep is assembled.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

#: The flag types the risk table counts: the two that stand for harm (a refill discrepancy or
#: a refill booked after the empty date is a finding on the way, not a hazardous situation).
RISK_FLAGS = ("abrupt_discontinuation", "overdose_risk")
#: Columns of a hazard record (kept in the batch files, not written as a table).
RECORD_COLUMNS = ("grid", "patient", "flag", "cause", "kind", "alarmed", "severity")


def cause_kind(run: Any, cause: str | None, start_h: float) -> str | None:
    """The kind of the catheter or pump fault behind a flag (a ``RunRecord``'s): the last one
    started at or before the flag (None for other causes)."""
    if cause == "catheter":
        kinds = [f.kind for f in run.catheter_faults if f.start_h <= start_h]
        return kinds[-1] if kinds else None
    if cause != "pump_fault":
        return None
    kind = None
    for entry in run.physical_log:
        if entry.t_h > start_h:
            break
        if entry.event == "pump_fault":
            kind = entry.details.get("kind")
    return kind


def hazard_records(run: Any, grid: int, patient: int) -> list[tuple[Any, ...]]:
    """One record (``RECORD_COLUMNS``) per withdrawal or overdose flag of a finished run (a
    ``RunRecord``)."""
    out = []
    for flag in run.flags:
        if flag.type in RISK_FLAGS:
            out.append(
                (
                    grid,
                    patient,
                    flag.type,
                    flag.cause,
                    cause_kind(run, flag.cause, flag.start_h),
                    bool(flag.alarmed),
                    flag.severity,
                )
            )
    return out


@dataclass(frozen=True)
class Hazard:
    """A hazard of the catalogue as the risk table shows it."""

    id: str
    title: str
    hazard_class: str


@dataclass(frozen=True)
class HazardMap:
    """(flag, cause, kind) -> hazard, from the catalogue's ``maps:`` entries."""

    hazards: tuple[Hazard, ...]
    rules: tuple[tuple[str, str, tuple[str, ...] | None, str], ...]  # flag, cause, kinds, id

    def hazard_of(self, flag: str, cause: str | None, kind: str | None) -> str | None:
        """The hazard ID of one flag (None: the catalogue maps no hazard to it)."""
        for rule_flag, rule_cause, kinds, hazard in self.rules:
            if rule_flag == flag and rule_cause == cause and (kinds is None or kind in kinds):
                return hazard
        return None

    def hazard(self, hazard_id: str) -> Hazard:
        """The catalogue entry of one ID."""
        return next(h for h in self.hazards if h.id == hazard_id)


@cache
def hazard_map() -> HazardMap:
    """The shipped catalogue's map (package data)."""
    text = resources.files("pumpsim.profiles").joinpath("hazards.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)
    hazards, rules = [], []
    for cls in raw["classes"]:
        for h in cls["hazards"]:
            hazards.append(Hazard(h["id"], h["title"], cls["name"]))
            for rule in h.get("maps") or ():
                kinds = rule.get("kinds")
                rules.append(
                    (rule["flag"], rule["cause"], tuple(kinds) if kinds else None, h["id"])
                )
    return HazardMap(tuple(hazards), tuple(rules))
