"""The replay's visit table (contract section 7): a patient's refill history, visit by visit.

For every visit (a refill, missed or not, a reprogramming, a pump replacement, or a row that only
records a measurement): the date; the expected residual recorded and simulated; the withdrawn
residual recorded and simulated; the discrepancy; the fitted accuracy; the printed alarm date
against the projected one; and the alarms, flags and true-reservoir events since the previous
visit.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any

from pumpsim.model.clock import Clock
from pumpsim.outputs.outcome import summary_lines
from pumpsim.studies.fit import accuracy_text


@dataclass
class Visit:
    """One row of the visit table."""

    t_h: float
    what: list[str]
    expected_recorded_ml: float | None = None
    expected_simulated_ml: float | None = None
    withdrawn_recorded_ml: float | None = None
    withdrawn_simulated_ml: float | None = None
    discrepancy_ml: float | None = None
    #: the clinic's own discrepancy: recorded withdrawn - recorded expected (section 11)
    discrepancy_recorded_ml: float | None = None
    fitted_accuracy: float | None = None
    accuracy_basis: str | None = None
    accuracy_bound: float | None = None
    accuracy_out_of_spec: bool = False
    alarm_date_printed: str | None = None
    alarm_date_projected: str | None = None
    since: list[tuple[float, str]] = field(default_factory=list)


def _visit_kind(ev: Any) -> str | None:
    if ev.type == "refill":
        return "missed refill" if ev.missed else "refill"
    if ev.type == "reprogram":
        return "reprogram"
    if ev.type == "pump_replacement":
        return "pump replacement"
    return None


def visits(result: Any) -> list[Visit]:
    """The visits of a run, in time order, with what happened since the previous one."""
    run = result.run
    sc = result.scenario
    clock = Clock.of(run.setup.start)
    rows: dict[float, Visit] = {}

    def row(t: float) -> Visit:
        if t not in rows:
            rows[t] = Visit(t, [])
        return rows[t]

    for ev in run.setup.events:
        kind = _visit_kind(ev)
        if kind is not None:
            row(ev.at_h).what.append(kind)
    for exp in sc.expect:
        if exp.at is None or exp.after_events:
            continue  # a note after a visit's events is checked, not the visit's own record
        if exp.residual_expected_ml is not None:
            row(exp.at).expected_recorded_ml = exp.residual_expected_ml
        elif exp.residual_withdrawn_ml is not None:
            row(exp.at).withdrawn_recorded_ml = exp.residual_withdrawn_ml
        elif exp.alarm_date is not None:
            row(exp.at).alarm_date_printed = exp.alarm_date.isoformat()
    out = sorted(rows.values(), key=lambda v: v.t_h)
    ending = {f.end_event_index: f for f in result.fits if f.ends_with_refill}
    for visit in out:
        if visit.withdrawn_recorded_ml is not None and visit.expected_recorded_ml is not None:
            visit.discrepancy_recorded_ml = visit.withdrawn_recorded_ml - visit.expected_recorded_ml
        rec = run.refill_at(visit.t_h)
        if rec is not None:
            visit.expected_simulated_ml = rec.expected_residual_ml
            visit.withdrawn_simulated_ml = rec.actual_residual_ml
            visit.discrepancy_ml = rec.discrepancy_ml
            fit = ending.get(rec.event_index)
            if fit is not None:
                visit.fitted_accuracy = fit.accuracy
                visit.accuracy_basis = fit.basis
                visit.accuracy_bound = fit.bound
                visit.accuracy_out_of_spec = fit.out_of_spec
        elif visit.expected_recorded_ml is not None:
            visit.expected_simulated_ml = run.at(visit.t_h).estimated_ml
        if not visit.what:
            visit.what.append("visit")
        if rec is not None or "reprogram" in visit.what or visit.alarm_date_printed:
            projected = run.projected_alarm_h(visit.t_h)
            visit.alarm_date_projected = clock.day(projected) if math.isfinite(projected) else "-"
    happenings = _happenings(result, clock)
    bounds = [v.t_h for v in out]
    for t, text in happenings:
        i = bisect_left(bounds, t)
        if i < len(bounds):
            out[i].since.append((t, text))
    return out


def _happenings(result: Any, clock: Clock) -> list[tuple[float, str]]:
    """Alarms raised, flags raised and the true reservoir running dry, in time order."""
    found: list[tuple[float, int, str]] = []
    for a in result.alarms:
        found.append((a.start_h, 0, f"ALARM {a.type} ({a.priority.replace('_', '-')})"))
    for f in result.flags:
        bits = [f.cause] if f.cause else []
        if f.alarmed is not None:
            bits.append("alarmed" if f.alarmed else "SILENT")
        found.append((f.start_h, 1, f"FLAG {f.type}" + (f" ({', '.join(bits)})" if bits else "")))
    for e in result.run.physical_log:
        if e.event == "reservoir_empty":
            found.append((e.t_h, 2, "TRUE RESERVOIR EMPTY (the pump cannot sense it)"))
    found.sort(key=lambda x: (x[0], x[1]))
    return [(t, f"{clock.label(t)}  {text}") for t, _, text in found]


def after_last_visit(result: Any, table: list[Visit]) -> list[str]:
    """What happened after the last visit, until the end of the scenario."""
    clock = Clock.of(result.run.setup.start)
    last = table[-1].t_h if table else -math.inf
    return [text for t, text in _happenings(result, clock) if t > last]


def _ml(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _pair(recorded: Any, simulated: Any) -> str:
    rec = recorded if isinstance(recorded, str) else _ml(recorded)
    sim = simulated if isinstance(simulated, str) else _ml(simulated)
    if recorded is None and simulated is None:
        return "-"
    return f"{rec} / {sim}"


def _signed_pair(recorded: float | None, simulated: float | None) -> str:
    if recorded is None and simulated is None:
        return "-"
    rec = "-" if recorded is None else f"{recorded:+.2f}"
    sim = "-" if simulated is None else f"{simulated:+.2f}"
    return f"{rec} / {sim}"


def visit_table_text(
    result: Any, slack: dict[float, str] | None = None, *, verdicts: bool = True
) -> str:
    """The visit table as text, with the expectation verdicts after it (unless ``verdicts`` is
    false: a what-if history has none of its own).

    ``slack``: a SLACK column, the text for each visit by its instant (``outputs.replay_text``).
    """
    sc = result.scenario
    clock = Clock.of(sc.start)
    table = visits(result)
    head: tuple[str, ...] = (
        "VISIT",
        "WHAT",
        "EXPECTED mL rec/sim",
        "WITHDRAWN mL rec/sim",
        "DISCREP mL rec/sim",
        "ACCURACY",
        "ALARM DATE printed/projected",
    )
    if slack is not None:
        head = (*head, "SLACK")
    body: list[tuple[str, ...]] = []
    for v in table:
        acc = accuracy_text(v.fitted_accuracy)
        if v.fitted_accuracy is not None:
            if v.accuracy_out_of_spec:
                acc += " OUT OF SPEC"
            if v.accuracy_basis == "lower_bound":
                acc += f" (residual 0: at least {accuracy_text(v.accuracy_bound)})"
            elif v.accuracy_basis == "not_measured":
                acc += " (carried)"
        body.append(
            (
                clock.label(v.t_h),
                ", ".join(v.what),
                _pair(v.expected_recorded_ml, v.expected_simulated_ml),
                _pair(v.withdrawn_recorded_ml, v.withdrawn_simulated_ml),
                _signed_pair(v.discrepancy_recorded_ml, v.discrepancy_ml),
                acc,
                _pair(v.alarm_date_printed, v.alarm_date_projected)
                if v.alarm_date_projected
                else "-",
            )
        )
        if slack is not None:
            cell = next((text for t, text in slack.items() if abs(t - v.t_h) <= 1e-6), "-")
            body[-1] = (*body[-1], cell)
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    lines = [
        f"{sc.name}: replay from {clock.date_time(0.0)} ({clock.offset_text()}); indented under "
        "each visit: the alarms, flags and true-reservoir events since the previous one",
        *(f"NOTE: {note}" for note in result.notes),  # e.g. the pump's clock and local time
        "",
    ]
    lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip())
    for v, cells in zip(table, body, strict=True):
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
        for _, text in v.since:
            lines.append(f"    {text}")
    tail = after_last_visit(result, table)
    if tail:
        lines.append(f"after the last visit, until {clock.label(sc.duration)}:")
        lines.extend(f"    {text}" for text in tail)
    if not table:
        lines.append("(no visits)")
    if verdicts:
        lines.append("")
        lines.extend(summary_lines(result.outcomes))
    return "\n".join(lines) + "\n"
