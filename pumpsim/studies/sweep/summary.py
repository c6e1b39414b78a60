"""The sweep summary per grid point (contract section 8): rates, silent share, timing, causes.

Counting: every patient counts the full duration in patient-years; rates count every
abrupt-discontinuation flag (not patients with one); the silent share is over those same
flags (silent: no critical alarm sounding when the flag was raised). Intervals: the exact
(Garwood) Poisson interval for the rate, Wilson's for the share. No timing or worker fields.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from pumpsim.model.units import HOURS_PER_YEAR, format_duration_h

Z95 = 1.959963984540054


def _gamma_p(a: float, x: float) -> float:
    """Regularized lower incomplete gamma P(a, x) (series or continued fraction)."""
    if x <= 0.0:
        return 0.0
    log_front = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0 / a
        ap = a
        for _ in range(100_000):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return total * math.exp(log_front)
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 100_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return 1.0 - math.exp(log_front) * h


def _gamma_quantile(a: float, p: float) -> float:
    """x with P(a, x) = p (bisection; deterministic)."""
    lo, hi = 0.0, max(1.0, a)
    while _gamma_p(a, hi) < p:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if _gamma_p(a, mid) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * max(1.0, hi):
            break
    return (lo + hi) / 2.0


def poisson_interval(count: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Garwood) interval for a Poisson count."""
    lower = 0.0 if count == 0 else _gamma_quantile(count, alpha / 2)
    upper = _gamma_quantile(count + 1, 1 - alpha / 2)
    return lower, upper


def wilson_interval(k: int, n: int) -> tuple[float, float] | None:
    """Wilson score interval for a share k/n (None when n = 0)."""
    if n == 0:
        return None
    p = k / n
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class PointTally:
    """Running counts of one grid point, fed batch by batch."""

    index: int
    label: str
    values: dict[str, Any]
    duration_h: float
    patients: int = 0
    patients_flagged: int = 0
    flags: int = 0
    silent: int = 0
    high_severity: int = 0
    cause_alarm: dict[str, dict[str, int]] = field(default_factory=dict)
    cause_to_flag_h: list[float] = field(default_factory=list)
    first_flag_h: list[float] = field(default_factory=list)
    alarms: dict[str, int] = field(default_factory=dict)

    def add_row(self, first_flag_h: float | None, alarms: list[tuple[str, int]]) -> None:
        """One patient: its first flag's time (None: no flag) and its alarm counts."""
        self.patients += 1
        if first_flag_h is not None:
            self.patients_flagged += 1
            self.first_flag_h.append(first_flag_h)
        for name, count in alarms:
            self.alarms[name] = self.alarms.get(name, 0) + count

    def add_flag(
        self,
        alarmed: bool,
        severity: str | None,
        cause: str,
        first_alarm: str,
        cause_to_flag_h: float | None,
    ) -> None:
        """One abrupt-discontinuation flag."""
        self.flags += 1
        if not alarmed:
            self.silent += 1
        if severity == "high":
            self.high_severity += 1
        row = self.cause_alarm.setdefault(cause, {})
        row[first_alarm] = row.get(first_alarm, 0) + 1
        if cause_to_flag_h is not None:
            self.cause_to_flag_h.append(cause_to_flag_h)

    @property
    def patient_years(self) -> float:
        """Every patient counts the full duration."""
        return self.patients * self.duration_h / HOURS_PER_YEAR

    def to_dict(self) -> dict[str, Any]:
        """The grid point's entry in summary.json."""
        py = self.patient_years
        lo, hi = poisson_interval(self.flags)
        share = wilson_interval(self.silent, self.flags)
        per100 = 100.0 / py if py > 0 else math.nan
        median = statistics.median(self.cause_to_flag_h) if self.cause_to_flag_h else None
        return {
            "grid_point": self.index,
            "values": self.values,
            "patients": self.patients,
            "patient_years": py,
            "abrupt_discontinuation": {
                "flags": self.flags,
                "per_100_patient_years": self.flags * per100,
                "per_100_patient_years_95ci": [lo * per100, hi * per100],
                "patients_with_a_flag": self.patients_flagged,
                "silent": self.silent,
                "silent_share": None if not self.flags else self.silent / self.flags,
                "silent_share_95ci": None if share is None else list(share),
                "high_severity": self.high_severity,
                "median_cause_to_flag_h": median,
                "cause_by_first_alarm": {
                    cause: dict(sorted(row.items()))
                    for cause, row in sorted(self.cause_alarm.items())
                },
            },
            "alarms_per_100_patient_years": {
                name: count * per100 for name, count in sorted(self.alarms.items())
            },
        }


def _show(value: Any) -> str:
    """A grid value as written (JSON for anything but a string)."""
    import json

    return value if isinstance(value, str) else json.dumps(value)


def summary_text(doc: dict[str, Any]) -> str:
    """The printed summary: one block per grid point."""
    lines = [
        f"{doc['sweep']}: {doc['patients_per_grid_point']} patients x "
        f"{format_duration_h(doc['duration_h'])} per grid point, seed {doc['seed']}"
    ]
    for point in doc["grid_points"]:
        ad = point["abrupt_discontinuation"]
        label = ", ".join(f"{k}={_show(v)}" for k, v in point["values"].items()) or "all patients"
        lines.append("")
        lines.append(
            f"grid point {point['grid_point']} ({label}): "
            f"{point['patient_years']:.1f} patient-years"
        )
        lo, hi = ad["per_100_patient_years_95ci"]
        lines.append(
            f"  abrupt-discontinuation flags: {ad['flags']} = {ad['per_100_patient_years']:.3g} "
            f"per 100 patient-years (95 % CI {lo:.3g}-{hi:.3g}); "
            f"{ad['patients_with_a_flag']} patients flagged"
        )
        if ad["flags"]:
            slo, shi = ad["silent_share_95ci"]
            lines.append(
                f"  silent (no critical alarm): {ad['silent']} of {ad['flags']} = "
                f"{100 * ad['silent_share']:.1f} % (95 % CI {100 * slo:.1f}-{100 * shi:.1f} %)"
            )
            median = ad["median_cause_to_flag_h"]
            lines.append(
                "  median time from cause to flag: "
                + ("-" if median is None else format_duration_h(median))
            )
            table = ad["cause_by_first_alarm"]
            alarms = sorted({a for row in table.values() for a in row})
            width = max(len(c) for c in table) + 2
            lines.append("  cause x first alarm:")
            lines.append(
                "    " + "cause".ljust(width) + "  ".join(a.rjust(max(5, len(a))) for a in alarms)
            )
            for cause, row in table.items():
                cells = "  ".join(str(row.get(a, 0)).rjust(max(5, len(a))) for a in alarms)
                lines.append("    " + cause.ljust(width) + cells)
    return "\n".join(lines) + "\n"
