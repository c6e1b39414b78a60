"""Expectations (contract section 5): evaluate them against a run, side by side."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pumpsim.model.clock import Clock
from pumpsim.model.units import format_duration_h
from pumpsim.scenario.expect import VISIT_TARGETS, Expectation

if TYPE_CHECKING:
    from pumpsim.model.record import RunOutput


@dataclass(frozen=True)
class Outcome:
    """One expectation's verdict."""

    text: str
    passed: bool
    expected: str
    actual: str

    def to_dict(self) -> dict[str, Any]:
        """The result-document form."""
        return {
            "text": self.text,
            "passed": self.passed,
            "expected": self.expected,
            "actual": self.actual,
        }

    def failure_lines(self, indent: str = "  ") -> list[str]:
        """For people: ``FAIL text`` with expected and actual aligned beneath it."""
        pad = indent + " " * len("FAIL ")
        return [
            f"{indent}FAIL {self.text}",
            f"{pad}expected: {self.expected}",
            f"{pad}actual:   {self.actual}",
        ]


def summary_lines(outcomes: list[Outcome]) -> list[str]:
    """``expectations: 4/5 passed``, then every failed one, expected against actual."""
    n_ok = sum(1 for o in outcomes if o.passed)
    lines = [f"expectations: {n_ok}/{len(outcomes)} passed"]
    for o in outcomes:
        if not o.passed:
            lines.extend(o.failure_lines())
    return lines


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


def _occurrences(exp: Expectation, run: RunOutput) -> list[tuple[float, float | None]]:
    if exp.alarm is not None:
        return [(a.start_h, a.end_h) for a in run.alarms.history if a.type == exp.alarm]
    out = []
    for f in run.flags.history:
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


def evaluate_one(exp: Expectation, run: RunOutput) -> Outcome:
    """Check one expectation against a finished run (instants shown as calendar dates)."""
    clock = Clock.of(run.scenario.start)
    target = exp.target
    if target in VISIT_TARGETS:
        from pumpsim.outputs.visits import evaluate_visit

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
        span = (run.scenario.duration if end is None else end) - start
        ok = abs(span - exp.duration) <= tol
        return Outcome(
            f"{sel} lasts {_d(exp.duration)}",
            ok,
            f"lasts {_d(exp.duration)} ± {_d(tol)}",
            f"lasts {_d(span)}" + (" (still active at the end)" if end is None else ""),
        )
    assert exp.at is not None
    want = getattr(exp, target)
    snap = run.snapshots.get(exp.at)
    got = None if snap is None else getattr(snap, target)
    tol = exp.tolerance_value
    ok = got is not None and abs(got - want) <= tol
    return Outcome(
        f"{target} = {want:g} at {_t(exp.at)}",
        ok,
        f"{want:g} ± {tol:g}",
        "not available" if got is None else f"{got:.6g}",
    )


def evaluate(expectations: list[Expectation], run: RunOutput) -> list[Outcome]:
    """Check every expectation of a scenario against its run."""
    return [evaluate_one(e, run) for e in expectations]
