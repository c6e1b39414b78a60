"""The sweep summary per grid point (contract sections 8 and 10): rates with intervals that
treat the patient as the unit, paired comparisons, breakdowns.

Counting: every patient simulated counts its grid point's full duration in patient-years
(skipped patients count nothing); rates count every flag (not patients with one); the silent
share is over those same flags (silent: no critical alarm sounding when the flag was raised).
Intervals: ``bootstrap.METHOD``. Numbers are rounded to 6 significant digits (``round6``).
No timing or worker fields.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from pumpsim.studies.sweep.intervals import poisson_interval, wilson_interval
from pumpsim.studies.sweep.metrics import FAULTS, VISITS
from pumpsim.studies.sweep.summary_text import summary_text
from pumpsim.studies.sweep.sums import Sums

__all__ = [
    "blocks",
    "build_point",
    "drop_empty_groups",
    "poisson_interval",
    "round6",
    "summary_text",
    "wilson_interval",
]

_BLOCKS = (("alarms", "alarm"), ("visits", "visit"), ("faults", "fault"))


def round6(value: Any) -> Any:
    """Every float in ``value`` (nested lists and mappings) to 6 significant digits."""
    if isinstance(value, float):
        return float(f"{value:.6g}") if math.isfinite(value) else value
    if isinstance(value, dict):
        return {k: round6(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [round6(v) for v in value]
    return value


def blocks(sums: Sums, base: Sums | None, alarms: tuple[str, ...]) -> dict[str, Any]:
    """The blocks every grid point and every breakdown group has."""
    rate, rate_ci = sums.rate("flags")
    silent_rate, silent_ci = sums.rate("silent")
    ((share, share_ci),) = sums.shares([("silent", "flags")])
    flagged, flagged_ci = sums.per_100_patients("flagged")
    abrupt: dict[str, Any] = {
        "flags": sums.total("flags"),
        "per_100_patient_years": rate,
        "per_100_patient_years_95ci": rate_ci,
        "patients_with_a_flag": sums.total("flagged"),
        "patients_with_a_flag_per_100": flagged,
        "patients_with_a_flag_per_100_95ci": flagged_ci,
        "silent": sums.total("silent"),
        "silent_per_100_patient_years": silent_rate,
        "silent_per_100_patient_years_95ci": silent_ci,
        "silent_share": share,
        "silent_share_95ci": share_ci,
    }
    if base is not None:
        abrupt["versus_grid_point_0"] = {
            "per_100_patient_years": sums.versus(base, "flags"),
            "silent_per_100_patient_years": sums.versus(base, "silent"),
            "patients_with_a_flag_per_100": sums.versus(base, "flagged", rate=False),
        }
    out: dict[str, Any] = {"abrupt_discontinuation": abrupt}
    names = {"alarm": alarms, "visit": VISITS, "fault": FAULTS}
    for block, prefix in _BLOCKS:
        values, cis = {}, {}
        for name in names[prefix]:
            values[name], cis[name] = sums.rate(f"{prefix}:{name}")
        out[f"{block}_per_100_patient_years"] = values
        out[f"{block}_per_100_patient_years_95ci"] = cis
    if base is not None:
        for block, prefix in _BLOCKS:
            out[f"{block}_versus_grid_point_0"] = {
                n: sums.versus(base, f"{prefix}:{n}") for n in names[prefix]
            }
    return out


def build_point(
    spec: Any,
    point: Any,
    sums: Sums,
    base: Sums | None,
    tally: Any,
    by: list[Any],
    group_base: dict[tuple[str, int], Sums],
    alarms: tuple[str, ...],
) -> dict[str, Any]:
    """One grid point's entry of summary.json (rounded). ``group_base`` holds grid point 0's
    breakdown groups (filled while building grid point 0)."""
    years = sums.years
    patients = sums.total("patients")
    entry: dict[str, Any] = {
        "grid_point": point.index,
        "values": {k: v for k, v in point.values},
        "patients": patients,
        "patient_years": patients * years,
    }
    if spec.on_invalid == "skip":
        entry["skipped_patients"] = spec.patients - patients
    if spec.on_invalid == "redraw":
        entry["redrawn_patients"] = tally.redrawn_patients
        entry["redraws"] = tally.redraws
    found = blocks(sums, base, alarms)
    abrupt = found["abrupt_discontinuation"]
    versus = abrupt.pop("versus_grid_point_0", None)
    abrupt["high_severity"] = tally.high_severity
    abrupt["median_cause_to_flag_h"] = (
        statistics.median(tally.cause_to_flag_h) if tally.cause_to_flag_h else None
    )
    abrupt["cause_by_first_alarm"] = {
        cause: dict(sorted(row.items())) for cause, row in sorted(tally.cause_alarm.items())
    }
    if versus is not None:
        abrupt["versus_grid_point_0"] = versus
    entry.update(found)
    if by:
        entry["by"] = {}
        for key in by:
            groups = []
            for j, label in enumerate(key.groups):
                g = Sums(sums.acc, sums.index, years, prefix=f"by:{key.key}:{j}:")
                n = g.total("patients")
                found = blocks(g, group_base.get((key.key, j)), alarms)
                groups.append({**label, "patients": n, "patient_years": n * years, **found})
                if base is None:
                    group_base[(key.key, j)] = g
            entry["by"][key.key] = groups
    return round6(entry)


def drop_empty_groups(points: list[dict[str, Any]]) -> None:
    """Leave out breakdown groups no patient fell in at any grid point (open-ended bins)."""
    if not points or "by" not in points[0]:
        return
    for key in points[0]["by"]:
        keep = [
            j
            for j in range(len(points[0]["by"][key]))
            if any(p["by"][key][j]["patients"] for p in points)
        ]
        for p in points:
            p["by"][key] = [p["by"][key][j] for j in keep]
