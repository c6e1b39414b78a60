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

from pumpsim.studies.sweep.summary import round6
from pumpsim.studies.sweep.sums import Sums

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


def hazard_rows(sums: Sums, hazards: tuple[str, ...]) -> list[dict[str, Any]]:
    """One grid point's figures for every mapped hazard (categories come in ``risk_block``)."""
    shares = sums.shares([(f"detected:{h}", f"hazard:{h}") for h in hazards])
    rows = []
    for h, (share, share_ci) in zip(hazards, shares, strict=True):
        rate, ci = sums.rate(f"hazard:{h}")
        rows.append(
            {
                "hazard": h,
                "occurrences": sums.total(f"hazard:{h}"),
                "per_patient_year": None if rate is None else rate / 100.0,
                "per_patient_year_95ci": None if ci is None else [ci[0] / 100, ci[1] / 100],
                "detected": sums.total(f"detected:{h}"),
                "detected_share": share,
                "detected_share_95ci": share_ci,
            }
        )
    return rows


def risk_block(spec: Any, collector: Any, rows: list[list[dict[str, Any]]]) -> dict[str, Any]:
    """The ``risk`` block of summary.json from every grid point's ``hazard_rows``: the hazards
    that occurred at some grid point, each with its categories and level."""
    matrix = collector.matrix
    hazards = collector.hazards
    seen = {r["hazard"] for point in rows for r in point if r["occurrences"]}
    worst: dict[str, str] = {}
    flags: dict[str, set[str]] = {}
    for tally in collector.tally:
        for hazard, spread in tally.severity.items():
            for category in spread:
                if category == "ungraded":
                    continue
                now = worst.get(hazard)
                if now is None or matrix.s_rank(category) > matrix.s_rank(now):
                    worst[hazard] = category
        for hazard, kinds in tally.hazard_flags.items():
            flags.setdefault(hazard, set()).update(kinds)
    points = []
    unmapped: dict[str, int] = {}
    for point, tally, found in zip(spec.grid, collector.tally, rows, strict=True):
        out = []
        for row in found:
            h = row["hazard"]
            if h not in seen:
                continue
            p2 = max((matrix.harm_given(f) for f in flags.get(h, ())), default=1.0)
            ci = row["per_patient_year_95ci"]
            rate = row["per_patient_year"]
            basis = (ci[1] if ci else None) if matrix.estimate == "upper_95ci" else rate
            p_cat = matrix.p_category((basis or 0.0) * p2)
            s_cat = worst.get(h)
            entry = hazards.hazard(h)
            out.append(
                {
                    "hazard": h,
                    "title": entry.title,
                    "hazard_class": entry.hazard_class,
                    **{k: v for k, v in row.items() if k != "hazard"},
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
        points.append({"grid_point": point.index, "hazards": out})
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
