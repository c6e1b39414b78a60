"""Slack (contract section 11): for each visit, how much later it could have come.

The slack of a visit is the longest delay of that visit alone, in whole hours rounded down, that
raises no abrupt-discontinuation flag before the delayed visit; ``None`` when the visit could
have waited until the next one (``>= next visit``). It is computed on the reconstruction (fitted
accuracies in place of ``accuracy: fit``, ``whatif.reconstruction``).

No time is stepped and no delay is tried: the run up to a delayed visit is the run without that
visit (nothing that happens before an instant depends on what comes after it), so one run with
the visit removed gives, in closed form, the first instant ``F`` at which a flag is raised that
only the visit could have prevented: one whose cause is the reservoir (``reservoir_empty``, or
``minimum_rate`` after the empty-reservoir alarm). The slack is ``F`` less the visit's time,
rounded down to the hour; a flag at the very instant of the delayed visit is not before it.

A visit before which such a flag was already raised (since the previous visit) has no slack: 0,
and ``late`` says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pumpsim.model.engine import Engine
from pumpsim.scenario import schema
from pumpsim.studies.whatif import SAME_INSTANT_H

#: Flag causes a refill delay can bring about (the others do not depend on the visit's date).
DELAY_CAUSES = ("reservoir_empty", "minimum_rate")
_VISIT_EVENTS = (schema.RefillEvent, schema.ReprogramEvent, schema.PumpReplacementEvent)


@dataclass(frozen=True)
class Slack:
    """The slack of one visit (a refill that happened)."""

    t_h: float
    slack_h: int | None  # None: the visit could have waited until the next one
    late: bool = False  # a flag was raised before the visit as it happened (slack 0)
    flag_at_h: float | None = None  # when the first flag comes without this visit


def _refill_times(scenario: schema.Scenario) -> list[float]:
    return sorted(
        {ev.at for ev in scenario.events if isinstance(ev, schema.RefillEvent) and not ev.missed}
    )


def _boundaries(scenario: schema.Scenario) -> list[float]:
    """Instants after which the reservoir is full again: refills done and new pumps."""
    return sorted(
        {
            ev.at
            for ev in scenario.events
            if (isinstance(ev, schema.RefillEvent) and not ev.missed)
            or isinstance(ev, schema.PumpReplacementEvent)
        }
    )


def _first_flag(run: object, after_h: float, before_h: float) -> float | None:
    starts = [
        f.start_h
        for f in run.flags.history  # type: ignore[attr-defined]
        if f.type == "abrupt_discontinuation"
        and f.cause in DELAY_CAUSES
        and after_h - SAME_INSTANT_H <= f.start_h < before_h - SAME_INSTANT_H
    ]
    return min(starts) if starts else None


def visit_slack(scenario: schema.Scenario, t_h: float, recorded: object | None = None) -> Slack:
    """The slack of the visit at ``t_h`` in ``scenario`` (a reconstruction: numeric accuracies).

    ``recorded``: the scenario's own run, when already made (to check the visit as it happened).
    """
    bounds = _boundaries(scenario)
    previous = max((b for b in bounds if b < t_h - SAME_INSTANT_H), default=0.0)
    following = [r for r in _refill_times(scenario) if r > t_h + SAME_INSTANT_H]
    next_h = following[0] if following else scenario.duration
    run = recorded if recorded is not None else Engine(scenario).run()
    if _first_flag(run, previous, t_h) is not None:
        return Slack(t_h, 0, late=True)
    kept = [
        ev
        for ev in scenario.events
        if not (isinstance(ev, _VISIT_EVENTS) and abs(ev.at - t_h) <= SAME_INSTANT_H)
    ]
    without = Engine(scenario.model_copy(update={"events": kept})).run()
    flag_h = _first_flag(without, t_h, next_h)
    if flag_h is None:
        return Slack(t_h, None)
    return Slack(t_h, max(0, math.floor(flag_h - t_h + 1e-6)), flag_at_h=flag_h)


def slacks(scenario: schema.Scenario) -> list[Slack]:
    """The slack of every visit (a refill that happened) of a reconstruction, in time order."""
    recorded = Engine(scenario).run()
    return [visit_slack(scenario, t, recorded) for t in _refill_times(scenario)]
