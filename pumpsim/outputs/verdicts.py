"""Expectations (contract section 5): evaluate them against a run, side by side."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pumpsim.model.clock import Clock
from pumpsim.model.units import format_duration_h
from pumpsim.outputs.outcome import Outcome
from pumpsim.outputs.visits import evaluate_visit
from pumpsim.scenario.expect import VISIT_TARGETS, Expectation

if TYPE_CHECKING:
    from pumpsim.model.record import RunRecord

#: The value an expectation names, and the field of the state that holds it.
_STATE_FIELDS = {
    "reservoir_estimated_ml": "estimated_ml",
    "reservoir_true_ml": "true_ml",
    "csf_ratio": "csf_ratio",
    "delivered_intrathecal_mcg": "delivered_intrathecal_mcg",
    "programmed_mcg": "programmed_mcg",
}


def _d(hours: float | None) -> str:
    """A span (durations, tolerances)."""
    return "never" if hours is None else format_duration_h(hours)


def _selector(exp: Expectation) -> str:
    kind = "alarm" if exp.alarm is not None else "flag"
    name = exp.alarm or exp.flag
    filters = [
        f"{k}={getattr(exp, k)}"
        for k in ("cause", "alarmed", "severity")
        if getattr(exp, k) is not None
    ]
    return f"{kind} {name}" + (f" ({', '.join(filters)})" if filters else "")


def _occurrences(exp: Expectation, run: RunRecord) -> list[tuple[float, float | None]]:
    if exp.alarm is not None:
        return [(a.start_h, a.end_h) for a in run.alarms if a.type == exp.alarm]
    out = []
    for f in run.flags:
        if f.type != exp.flag:
            continue
        if exp.cause is not None and f.cause != exp.cause:
            continue
        if exp.alarmed is not None and f.alarmed != exp.alarmed:
            continue
        if exp.severity is not None and f.severity != exp.severity:
            continue
        out.append((f.start_h, f.end_h))
    return out


def evaluate_one(exp: Expectation, run: RunRecord) -> Outcome:
    """Check one expectation against a finished run (instants shown as calendar dates)."""
    clock = Clock.of(run.setup.start)
    target = exp.target
    if target in VISIT_TARGETS:
        return evaluate_visit(exp, run, clock)
    _t = clock.label
    if target in ("alarm", "flag"):
        sel = _selector(exp)
        occ = _occurrences(exp, run)
        first = occ[0][0] if occ else None
        if exp.first_at is not None:
            tol = exp.tolerance_h
            ok = first is not None and abs(first - exp.first_at) <= tol
            return Outcome(
                f"{sel} first at {_t(exp.first_at)}",
                ok,
                f"first at {_t(exp.first_at)} ± {_d(tol)}",
                f"first at {_t(first)}",
            )
        if exp.first_within is not None:
            lo, hi = exp.first_within
            ok = first is not None and lo <= first <= hi
            return Outcome(
                f"{sel} first within [{_t(lo)}, {_t(hi)}]",
                ok,
                f"first in [{_t(lo)}, {_t(hi)}]",
                f"first at {_t(first)}",
            )
        if exp.never is not None:
            ok = (not occ) if exp.never else bool(occ)
            return Outcome(
                f"{sel} never" if exp.never else f"{sel} at least once",
                ok,
                "never" if exp.never else "at least once",
                f"{len(occ)} time(s), first at {_t(first)}" if occ else "never",
            )
        if exp.count is not None:
            return Outcome(
                f"{sel} count {exp.count}",
                len(occ) == exp.count,
                f"{exp.count} time(s)",
                f"{len(occ)} time(s)",
            )
        assert exp.duration is not None
        tol = exp.tolerance_h
        if not occ:
            return Outcome(
                f"{sel} lasts {_d(exp.duration)}",
                False,
                f"lasts {_d(exp.duration)}",
                "never raised",
            )
        start, end = occ[0]
        span = (run.setup.duration_h if end is None else end) - start
        ok = abs(span - exp.duration) <= tol
        return Outcome(
            f"{sel} lasts {_d(exp.duration)}",
            ok,
            f"lasts {_d(exp.duration)} ± {_d(tol)}",
            f"lasts {_d(span)}" + (" (still active at the end)" if end is None else ""),
        )
    assert exp.at is not None
    want = getattr(exp, target)
    got = None
    if 0.0 <= exp.at <= run.setup.duration_h:
        got = getattr(run.at(exp.at), _STATE_FIELDS[target])
    tol = exp.tolerance_value
    ok = got is not None and abs(got - want) <= tol
    return Outcome(
        f"{target} = {want:g} at {_t(exp.at)}",
        ok,
        f"{want:g} ± {tol:g}",
        "not available" if got is None else f"{got:.6g}",
    )


def evaluate(expectations: list[Expectation], run: RunRecord) -> list[Outcome]:
    """Check every expectation of a scenario against its run."""
    return [evaluate_one(e, run) for e in expectations]
