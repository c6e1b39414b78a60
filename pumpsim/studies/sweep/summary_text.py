"""The printed sweep summary: one block per grid point, the breakdowns, the risk table."""

from __future__ import annotations

import json
import math
from typing import Any

from pumpsim.model.units import format_duration_h


def _show(value: Any) -> str:
    """A grid value as written (JSON for anything but a string)."""
    return value if isinstance(value, str) else json.dumps(value)


def _num(value: Any) -> str:
    """Three significant figures in plain notation, never scientific: ``2,260``, ``0.000097``
    (trailing zeros dropped, as ``:.3g`` drops them)."""
    if value is None:
        return "-"
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    digits = 2 - math.floor(math.log10(abs(value)))
    if digits <= 0:
        return f"{round(value, digits):,.0f}"
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _ci(ci: Any, scale: float = 1.0, unit: str = "") -> str:
    if not ci:
        return "95 % CI -"
    return f"95 % CI {_num(ci[0] * scale)} to {_num(ci[1] * scale)}{unit}"


def _range(ci: Any) -> str:
    """``1.2 to 3.4`` (or ``-`` when there is none): a negative bound stays readable."""
    return f"{_num(ci[0])} to {_num(ci[1])}" if ci else "-"


def _versus(v: dict[str, Any] | None, unit: str = "") -> str:
    if not v:
        return ""
    diff = v["difference"]
    sign = "+" if diff is not None and diff >= 0 else ""
    ratio = "" if v["ratio"] is None else f", x{_num(v['ratio'])} ({_ci(v['ratio_95ci'])})"
    return f"    vs grid point 0: {sign}{_num(diff)}{unit} ({_ci(v['difference_95ci'])}){ratio}"


def _label(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_show(v)}" for k, v in values.items()) or "all patients"


def _group(g: dict[str, Any]) -> str:
    if "value" in g:
        return _show(g["value"])
    lo, hi = g["range"]
    if lo is None:
        return f"< {_num(hi)}"
    if hi is None:
        return f">= {_num(lo)}"
    return f"{_num(lo)} to {_num(hi)}"


def _point_lines(point: dict[str, Any]) -> list[str]:
    ad = point["abrupt_discontinuation"]
    head = f"{point['patient_years']:.1f} patient-years, {point['patients']} patients"
    if point.get("skipped_patients"):
        head += f" ({point['skipped_patients']} skipped: invalid draws)"
    if point.get("redraws"):
        head += f" ({point['redrawn_patients']} drawn again, {point['redraws']} redraws)"
    lines = [f"grid point {point['grid_point']} ({_label(point['values'])}): {head}"]
    versus = ad.get("versus_grid_point_0", {})
    share = (
        f"; {100 * ad['silent_share']:.1f} % of flags ({_ci(ad['silent_share_95ci'], 100, ' %')})"
        if ad["silent_share"] is not None
        else ""
    )
    for title, count, key, per, extra in (
        ("abrupt-discontinuation flags", "flags", "per_100_patient_years", "patient-years", ""),
        ("silent (no critical alarm)", "silent", "silent_per_100_patient_years", "patient-years",
         share),
        ("patients with a flag", "patients_with_a_flag", "patients_with_a_flag_per_100",
         "patients", ""),
    ):  # fmt: skip
        lines.append(
            f"  {title}: {ad[count]} = {_num(ad[key])} per 100 {per} "
            f"({_ci(ad[key + '_95ci'])}){extra}"
        )
        if versus:
            lines.append(_versus(versus[key]))
    median = ad["median_cause_to_flag_h"]
    if ad["flags"]:
        lines.append(
            "  median time from cause to flag: "
            + ("-" if median is None else format_duration_h(median))
        )
    for block, title in (("alarms", "alarms"), ("visits", "visits")):
        rates = point[f"{block}_per_100_patient_years"]
        cis = point[f"{block}_per_100_patient_years_95ci"]
        shown = [
            f"{name.replace('_', ' ')} {_num(v)} ({_range(cis[name])})"
            for name, v in rates.items()
            if v
        ]
        lines.append(f"  {title} per 100 patient-years: " + (", ".join(shown) or "none"))
    table = ad["cause_by_first_alarm"]
    if table:
        alarms = sorted({a for row in table.values() for a in row})
        width = max(len(c) for c in table) + 2
        lines.append("  cause x first alarm:")
        lines.append(
            "    " + "cause".ljust(width) + "  ".join(a.rjust(max(5, len(a))) for a in alarms)
        )
        for cause, row in table.items():
            cells = "  ".join(str(row.get(a, 0)).rjust(max(5, len(a))) for a in alarms)
            lines.append("    " + cause.ljust(width) + cells)
    for key, groups in point.get("by", {}).items():
        lines.extend(_by_lines(key, groups))
    return lines


_RATE_W = 32  # a rate and its interval, "12.3 (10.1 to 14.5)", with room to spare


def _by_lines(key: str, groups: list[dict[str, Any]]) -> list[str]:
    labels = [_group(g) for g in groups]
    width = max([len(key) + 2, *(len(lab) for lab in labels)]) + 2
    lines = [
        f"  by {key}:",
        "    "
        + "group".ljust(width)
        + "patients  "
        + "flags/100 py (95 % CI)".ljust(_RATE_W)
        + "silent/100 py (95 % CI)".ljust(_RATE_W)
        + "flagged/100",
    ]
    for label, g in zip(labels, groups, strict=True):
        ad = g["abrupt_discontinuation"]
        if not g["patients"]:
            continue  # a grid key's other values: no patient of this grid point
        rate = f"{_num(ad['per_100_patient_years'])} ({_range(ad['per_100_patient_years_95ci'])})"
        silent = (
            f"{_num(ad['silent_per_100_patient_years'])} "
            f"({_range(ad['silent_per_100_patient_years_95ci'])})"
        )
        flagged = _num(ad["patients_with_a_flag_per_100"])
        cells = f"{g['patients']:>8}  {rate:<{_RATE_W}}{silent:<{_RATE_W}}{flagged}"
        lines.append("    " + label.ljust(width) + cells)
    return lines


def _risk_lines(risk: dict[str, Any], points: list[dict[str, Any]]) -> list[str]:
    lines = [
        "",
        f"risk table ({risk['matrix']}; probability from the "
        f"{'rate' if risk['probability_from'] == 'rate' else 'upper 95 % bound'}, "
        "per patient-year):",
    ]
    for entry, point in zip(risk["grid_points"], points, strict=True):
        if len(points) > 1:
            lines.append(f"  grid point {entry['grid_point']} ({_label(point['values'])}):")
        if not entry["hazards"]:
            lines.append("    no flag mapped to a hazard")
        for h in entry["hazards"]:
            detected = "-" if h["detected_share"] is None else f"{100 * h['detected_share']:.0f} %"
            lines.append(
                f"    {h['hazard']:<8} {_num(h['per_patient_year'])}/py "
                f"({_range(h['per_patient_year_95ci'])}), detected {detected}, "
                f"{h['probability']} x {h['severity']}: {h['level']}  {h['title']}"
            )
    return lines


def summary_text(doc: dict[str, Any]) -> str:
    """The printed summary: one block per grid point, then the risk table."""
    lines = [
        f"{doc['sweep']}: {doc['patients_per_grid_point']} patients x "
        f"{format_duration_h(doc['duration_h'])} per grid point, seed {doc['seed']}",
        f"intervals: {doc.get('interval_method', 'exact Poisson')}",
    ]
    for point in doc["grid_points"]:
        lines.append("")
        lines.extend(_point_lines(point))
    if doc.get("risk"):
        lines.extend(_risk_lines(doc["risk"], doc["grid_points"]))
    return "\n".join(lines) + "\n"
