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
rounded down to the hour; a flag at the very instant of the delayed visit is not before it. The
runs are the model's own (``Engine`` on the Setup, its events changed), read through their
records' flags.

A visit before which such a flag was already raised (since the previous visit) has no slack: 0,
and ``late`` says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from pumpsim.model.engine import Engine
from pumpsim.model.setup import Refill, Setup
from pumpsim.studies.whatif import SAME_INSTANT_H, VISIT_EVENTS, fills_accuracy

#: Flag causes a refill delay can bring about (the others do not depend on the visit's date).
DELAY_CAUSES = ("reservoir_empty", "minimum_rate")


@dataclass(frozen=True)
class Slack:
    """The slack of one visit (a refill that happened)."""

    t_h: float
    slack_h: int | None  # None: the visit could have waited until the next one
    late: bool = False  # a flag was raised before the visit as it happened (slack 0)
    flag_at_h: float | None = None  # when the first flag comes without this visit


def _refill_times(setup: Setup) -> list[float]:
    return sorted({ev.at_h for ev in setup.events if isinstance(ev, Refill) and not ev.missed})


def _first_flag(run: Any, after_h: float, before_h: float) -> float | None:
    starts = [
        f.start_h
        for f in run.flags
        if f.type == "abrupt_discontinuation"
        and f.cause in DELAY_CAUSES
        and after_h - SAME_INSTANT_H <= f.start_h < before_h - SAME_INSTANT_H
    ]
    return min(starts) if starts else None


def visit_slack(setup: Setup, t_h: float, recorded: Any | None = None) -> Slack:
    """The slack of the visit at ``t_h`` in ``setup`` (a reconstruction: numeric accuracies).

    ``recorded``: the Setup's own run, when already made (to check the visit as it happened).
    """
    fills = sorted({ev.at_h for ev in setup.events if fills_accuracy(ev)})
    previous = max((b for b in fills if b < t_h - SAME_INSTANT_H), default=0.0)
    following = [r for r in _refill_times(setup) if r > t_h + SAME_INSTANT_H]
    next_h = following[0] if following else setup.duration_h
    run = recorded if recorded is not None else Engine(setup).run()
    if _first_flag(run, previous, t_h) is not None:
        return Slack(t_h, 0, late=True)
    kept = tuple(
        ev
        for ev in setup.events
        if not (isinstance(ev, VISIT_EVENTS) and abs(ev.at_h - t_h) <= SAME_INSTANT_H)
    )
    without = Engine(replace(setup, events=kept)).run()
    flag_h = _first_flag(without, t_h, next_h)
    if flag_h is None:
        return Slack(t_h, None)
    return Slack(t_h, max(0, math.floor(flag_h - t_h + 1e-6)), flag_at_h=flag_h)


def slacks(setup: Setup) -> list[Slack]:
    """The slack of every visit (a refill that happened) of a reconstruction, in time order."""
    recorded = Engine(setup).run()
    return [visit_slack(setup, t, recorded) for t in _refill_times(setup)]
