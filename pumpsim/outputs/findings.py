"""Strict mode (contract section 11): findings of a run that fail it like expectations.

``fail_on: [out_of_spec, silent_flag, discrepancy, any_flag]`` in a scenario, or ``--fail-on`` on
``run``, ``check`` and ``replay``: each finding of a named kind is a failed expectation (exit 1)
with its own result line and JUnit case. A kind with no finding is one passing line, so a CI report
shows what was checked.

- ``out_of_spec``: a fitted accuracy (``pump: {accuracy: fit}``) outside the profile's
  specification;
- ``silent_flag``: an abrupt-discontinuation flag without a critical alarm at its start;
- ``discrepancy``: a ``refill_discrepancy`` flag;
- ``any_flag``: any flag.

Findings are read from the run's record (its flags) and the fit's intervals, never worked out
again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pumpsim.model.clock import Clock
from pumpsim.outputs.outcome import Outcome
from pumpsim.scenario.expect import FAIL_ON_KINDS

__all__ = ["FAIL_ON_KINDS", "apply_fail_on", "findings", "parse_fail_on"]


def parse_fail_on(text: str) -> list[str]:
    """``--fail-on silent_flag,discrepancy`` → the kinds, in order. Raises ValueError."""
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    if not kinds:
        raise ValueError("give at least one of " + ", ".join(FAIL_ON_KINDS))
    for kind in kinds:
        if kind not in FAIL_ON_KINDS:
            raise ValueError(f"unknown finding {kind!r}: expected " + ", ".join(FAIL_ON_KINDS))
    return list(dict.fromkeys(kinds))


def _flag_bits(flag: Any) -> str:
    bits = [b for b in (flag.cause, flag.severity) if b]
    if flag.alarmed is not None:
        bits.append("alarmed" if flag.alarmed else "silent")
    return f" ({', '.join(bits)})" if bits else ""


def _out_of_spec(result: Any, clock: Clock) -> list[Outcome]:
    found = []
    fitted = [f for f in result.fits if f.basis != "not_measured"]
    for fit in fitted:
        if not fit.out_of_spec:
            continue
        span = f"{clock.label(fit.start_h)} to {clock.label(fit.end_h)}"
        found.append(
            Outcome(
                f"fail_on out_of_spec: fitted accuracy from {span}",
                False,
                f"within ±{fit.spec_fraction:.1%} (the {result.run.setup.profile.name} "
                "specification)",
                f"{fit.accuracy:+.1%}: out of specification",
            )
        )
    if found:
        return found
    what = f"{len(fitted)} fitted interval(s)" if fitted else "no fitted accuracy"
    return [Outcome("fail_on out_of_spec: every fitted accuracy within specification", True,
                    "none out of specification", what)]  # fmt: skip


def _flags(result: Any, clock: Clock, kind: str) -> list[Outcome]:
    if kind == "silent_flag":
        chosen = [
            f for f in result.flags if f.type == "abrupt_discontinuation" and f.alarmed is False
        ]
        want, none = "no abrupt-discontinuation flag without a critical alarm", "no silent flag"
    elif kind == "discrepancy":
        chosen = [f for f in result.flags if f.type == "refill_discrepancy"]
        want, none = "no refill discrepancy beyond the limit", "no discrepancy flag"
    else:
        chosen = list(result.flags)
        want, none = "no flag", "no flag"
    if not chosen:
        return [Outcome(f"fail_on {kind}: {none}", True, want, "none")]
    out = []
    for flag in chosen:
        at = clock.label(flag.start_h)
        actual = f"{flag.type}{_flag_bits(flag)} at {at}"
        if flag.type == "refill_discrepancy" and "discrepancy_ml" in flag.details:
            actual += (
                f": {flag.details['discrepancy_ml']:+.2f} mL against a "
                f"±{flag.details['limit_ml']:g} mL limit"
            )
        out.append(Outcome(f"fail_on {kind}: {flag.type} at {at}", False, want, actual))
    return out


def findings(result: Any, kinds: Iterable[str]) -> list[Outcome]:
    """One outcome per finding of each kind (a passing one for a kind with none)."""
    kinds = list(kinds)
    if not kinds:
        return []
    clock = Clock.of(result.run.setup.start)
    out: list[Outcome] = []
    for kind in kinds:
        if kind == "out_of_spec":
            out.extend(_out_of_spec(result, clock))
        else:
            out.extend(_flags(result, clock, kind))
    return out


def apply_fail_on(result: Any, kinds: Iterable[str]) -> Any:
    """Add the findings of ``kinds`` to the result's outcomes (in place; returns the result).

    A kind the scenario's own ``fail_on:`` already checked is not added twice.
    """
    done = set(getattr(result.scenario, "fail_on", ()) or ())
    extra = [k for k in dict.fromkeys(kinds) if k not in done]
    result.outcomes.extend(findings(result, extra))
    return result
