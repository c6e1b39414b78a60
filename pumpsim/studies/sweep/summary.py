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

import numpy as np

from pumpsim.model.units import HOURS_PER_YEAR
from pumpsim.studies.sweep.bootstrap import Accumulator, paired_intervals, ratio_interval
from pumpsim.studies.sweep.intervals import poisson_interval, wilson_interval
from pumpsim.studies.sweep.metrics import FAULTS, VISITS
from pumpsim.studies.sweep.summary_text import summary_text

__all__ = ["build_points", "poisson_interval", "round6", "summary_text", "wilson_interval"]


def round6(value: Any) -> Any:
    """Every float in ``value`` (nested lists and mappings) to 6 significant digits."""
    if isinstance(value, float):
        return float(f"{value:.6g}") if math.isfinite(value) else value
    if isinstance(value, dict):
        return {k: round6(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [round6(v) for v in value]
    return value


def _hull(a: list[float] | None, b: tuple[float, float] | None) -> list[float] | None:
    """The smallest interval holding both (either may be missing)."""
    if a is None:
        return None if b is None else [b[0], b[1]]
    if b is None:
        return a
    return [min(a[0], b[0]), max(a[1], b[1])]


class Sums:
    """The column sums of one grid point (or of one breakdown group, with a column prefix)."""

    def __init__(self, acc: Accumulator, index: dict[str, int], years: float, prefix: str = ""):
        self.acc = acc
        self.index = index
        self.years = years
        self.prefix = prefix

    def col(self, name: str) -> int:
        """A column's position."""
        return self.index[self.prefix + name]

    def total(self, name: str) -> int:
        """A column's plain sum (a whole number)."""
        return int(self.acc.totals[self.col(name)])

    def resampled(self, name: str) -> np.ndarray:
        """A column's sum in every resample."""
        return self.acc.resampled[:, self.col(name)]

    @property
    def per_100_py(self) -> float:
        """The scale from (count per patient) to (count per 100 patient-years)."""
        return 100.0 / self.years if self.years > 0 else math.nan

    def rate(self, name: str) -> tuple[float | None, list[float] | None]:
        """Per 100 patient-years, with its interval (None when no patient)."""
        n = self.total("patients")
        if n == 0:
            return None, None
        scale = self.per_100_py / n
        count = self.total(name)
        boot = ratio_interval(self.resampled(name), self.resampled("patients"), self.per_100_py)
        lo, hi = poisson_interval(count)
        return count * scale, _hull(boot, (lo * scale, hi * scale))

    def share(self, num: str, den: str, scale: float = 1.0) -> tuple[Any, Any]:
        """num/den x scale, with its interval (None when den is 0)."""
        n = self.total(den)
        if n == 0:
            return None, None
        k = self.total(num)
        boot = ratio_interval(self.resampled(num), self.resampled(den), scale)
        w = wilson_interval(k, n)
        floor = None if w is None else (w[0] * scale, w[1] * scale)
        return k / n * scale, _hull(boot, floor)

    def versus(self, base: Sums, num: str, den: str = "patients", rate: bool = True) -> Any:
        """The paired difference and ratio of one figure against grid point 0's."""
        scale, scale0 = (self.per_100_py, base.per_100_py) if rate else (100.0, 100.0)
        a = _value(self.total(num), self.total(den), scale)
        b = _value(base.total(num), base.total(den), scale0)
        diff_ci, ratio_ci = paired_intervals(
            self.resampled(num) * scale,
            self.resampled(den),
            base.resampled(num) * scale0,
            base.resampled(den),
        )
        return {
            "difference": None if a is None or b is None else a - b,
            "difference_95ci": diff_ci,
            "ratio": None if a is None or not b else a / b,
            "ratio_95ci": ratio_ci,
        }


def _value(num: int, den: int, scale: float) -> float | None:
    return None if den == 0 else num / den * scale


def _rates(sums: Sums, names: tuple[str, ...], prefix: str) -> tuple[dict, dict]:
    values, cis = {}, {}
    for name in names:
        values[name], cis[name] = sums.rate(f"{prefix}:{name}")
    return values, cis


def blocks(sums: Sums, base: Sums | None, alarms: tuple[str, ...]) -> dict[str, Any]:
    """The blocks every grid point and every breakdown group has."""
    rate, rate_ci = sums.rate("flags")
    silent_rate, silent_ci = sums.rate("silent")
    share, share_ci = sums.share("silent", "flags")
    flagged, flagged_ci = sums.share("flagged", "patients", 100.0)
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
    out: dict[str, Any] = {"abrupt_discontinuation": abrupt}
    for block, names, prefix in (
        ("alarms", alarms, "alarm"),
        ("visits", VISITS, "visit"),
        ("faults", FAULTS, "fault"),
    ):
        values, cis = _rates(sums, names, prefix)
        out[f"{block}_per_100_patient_years"] = values
        out[f"{block}_per_100_patient_years_95ci"] = cis
    if base is not None:
        abrupt["versus_grid_point_0"] = {
            "per_100_patient_years": sums.versus(base, "flags"),
            "silent_per_100_patient_years": sums.versus(base, "silent"),
            "patients_with_a_flag_per_100": sums.versus(base, "flagged", rate=False),
        }
        for block, names, prefix in (
            ("alarms", alarms, "alarm"),
            ("visits", VISITS, "visit"),
            ("faults", FAULTS, "fault"),
        ):
            out[f"{block}_versus_grid_point_0"] = {
                n: sums.versus(base, f"{prefix}:{n}") for n in names
            }
    return out


def build_points(spec: Any, collector: Any) -> list[dict[str, Any]]:
    """Every grid point's entry of summary.json (rounded)."""
    layout = collector.layout
    index = layout.index
    points = []
    base: Sums | None = None
    group_base: dict[tuple[str, int], Sums] = {}
    for point, acc, tally in zip(spec.grid, collector.acc, collector.tally, strict=True):
        years = point.duration_h / HOURS_PER_YEAR
        sums = Sums(acc, index, years)
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
        found = blocks(sums, base, layout.alarms)
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
        if collector.by:
            entry["by"] = {}
            for by in collector.by:
                groups = []
                for j, label in enumerate(by.groups):
                    g = Sums(acc, index, years, prefix=f"by:{by.key}:{j}:")
                    g0 = group_base.get((by.key, j))
                    n = g.total("patients")
                    groups.append(
                        {
                            **label,
                            "patients": n,
                            "patient_years": n * years,
                            **blocks(g, g0, layout.alarms),
                        }
                    )
                    if base is None:
                        group_base[(by.key, j)] = g
                entry["by"][by.key] = groups
        points.append(entry)
        if base is None:
            base = sums
    _drop_empty_groups(points)
    return [round6(p) for p in points]


def _drop_empty_groups(points: list[dict[str, Any]]) -> None:
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
