"""The ISO 14971-style risk table (contract section 10): ``risk.csv`` and ``summary.json``'s
``risk`` block.

Per grid point and hazard: occurrences (flags mapped to the hazard by ``hazard_map``), the rate
per patient-year with its interval (the patient as the unit, as every rate of the summary), the
share detected by an alarm at onset (reported beside the level, never folded into it: FMEA's
detectability is not part of ISO 14971's estimate), the severity spread (occurrences per
severity category of the matrix), the probability category (of the rate x the matrix's
``harm_given_flag``, or of its upper bound), the severity category (the worst one the hazard's
occurrences reach, across the grid), and the level of that cell.
"""

from __future__ import annotations

from typing import Any

from pumpsim.model.units import HOURS_PER_YEAR
from pumpsim.studies.sweep.summary import Sums, round6

#: risk.csv's columns.
CSV_COLUMNS = (
    "grid_point",
    "hazard",
    "title",
    "hazard_class",
    "occurrences",
    "per_patient_year",
    "per_patient_year_95ci_low",
    "per_patient_year_95ci_high",
    "detected",
    "detected_share",
    "severity_spread",
    "probability",
    "severity",
    "level",
)


def risk_block(spec: Any, collector: Any) -> dict[str, Any]:
    """The ``risk`` block of summary.json."""
    matrix = collector.matrix
    hazards = collector.hazards
    index = collector.layout.index
    seen = [
        h
        for h in collector.layout.hazards
        if any(int(acc.totals[index[f"hazard:{h}"]]) for acc in collector.acc)
    ]
    worst: dict[str, str] = {}
    for tally in collector.tally:
        for hazard, spread in tally.severity.items():
            for category in spread:
                if category == "ungraded":
                    continue
                now = worst.get(hazard)
                if now is None or matrix.s_rank(category) > matrix.s_rank(now):
                    worst[hazard] = category
    points = []
    unmapped: dict[str, int] = {}
    for point, acc, tally in zip(spec.grid, collector.acc, collector.tally, strict=True):
        sums = Sums(acc, index, point.duration_h / HOURS_PER_YEAR)
        rows = []
        for h in seen:
            rate, ci = sums.rate(f"hazard:{h}")
            rate = None if rate is None else rate / 100.0
            ci = None if ci is None else [ci[0] / 100.0, ci[1] / 100.0]
            share, share_ci = sums.share(f"detected:{h}", f"hazard:{h}")
            p2 = max(
                (matrix.harm_given(f) for t in collector.tally for f in t.hazard_flags.get(h, ())),
                default=1.0,
            )
            basis = (ci[1] if ci else None) if matrix.estimate == "upper_95ci" else rate
            p_cat = matrix.p_category((basis or 0.0) * p2)
            s_cat = worst.get(h)
            entry = hazards.hazard(h)
            rows.append(
                {
                    "hazard": h,
                    "title": entry.title,
                    "hazard_class": entry.hazard_class,
                    "occurrences": sums.total(f"hazard:{h}"),
                    "per_patient_year": rate,
                    "per_patient_year_95ci": ci,
                    "detected": sums.total(f"detected:{h}"),
                    "detected_share": share,
                    "detected_share_95ci": share_ci,
                    "severity_spread": dict(sorted(tally.severity.get(h, {}).items())),
                    "probability": p_cat.id,
                    "probability_name": p_cat.name,
                    "severity": s_cat,
                    "severity_name": _name(matrix.severity, s_cat),
                    "level": None if s_cat is None else matrix.level(p_cat.id, s_cat),
                }
            )
        for label, n in tally.unmapped.items():
            unmapped[label] = unmapped.get(label, 0) + n
        points.append({"grid_point": point.index, "hazards": rows})
    return round6(
        {
            "matrix": matrix.name,
            "matrix_file": matrix.file,
            "probability_from": matrix.estimate,
            "harm_given_flag": dict(matrix.harm),
            "grid_points": points,
            "unmapped_flags": dict(sorted(unmapped.items())),
        }
    )


def _name(categories: Any, category: str | None) -> str | None:
    return next((c.name for c in categories if c.id == category), None)


def risk_rows(risk: dict[str, Any]) -> list[list[Any]]:
    """risk.csv's rows (``CSV_COLUMNS``)."""
    out = []
    for point in risk["grid_points"]:
        for h in point["hazards"]:
            ci = h["per_patient_year_95ci"] or [None, None]
            spread = "; ".join(f"{k}: {v}" for k, v in h["severity_spread"].items())
            out.append(
                [
                    point["grid_point"],
                    h["hazard"],
                    h["title"],
                    h["hazard_class"],
                    h["occurrences"],
                    h["per_patient_year"],
                    ci[0],
                    ci[1],
                    h["detected"],
                    h["detected_share"],
                    spread,
                    h["probability"],
                    h["severity"],
                    h["level"],
                ]
            )
    return out
