"""The next threshold crossing: every part is asked, the earliest wins.

A crossing is ``(instant in hours, kind)``; ties go to the smaller kind name, so the choice is
deterministic, and the instant is placed on a grid of a nanohour (``GRID_H``). Kinds:
``estimate_low``, ``estimate_empty``, ``estimate_zero`` (the reservoir's belief reaching an alarm
level or zero), ``true_empty`` (the truth running out), ``catheter_front`` (a concentration
boundary reaching the catheter tip), ``battery_eri`` (the battery used up), ``abrupt`` and
``overdose`` (the CSF ratio crossing a detector threshold).

Between events the state only flows, and a crossing found earlier stays where it was: each
part's answer is kept with what it was worked out from (the flows, the programme, and a count
of the part's jumps: a refill, a new pump, a crossing that fired), and is asked again only
when one of those changed. An event that changes nothing a crossing depends on costs no search.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from pumpsim.model.affine import Affine
from pumpsim.model.flows import Flows
from pumpsim.model.parts.battery import Battery
from pumpsim.model.parts.catheter import Catheter
from pumpsim.model.parts.csf import CsfLevels
from pumpsim.model.parts.detectors import Detectors
from pumpsim.model.parts.reservoir import Crossing, Reservoir
from pumpsim.model.schedule import Schedule

#: Relative margin of the "certainly after the end" test (far above rounding).
_HORIZON_SLACK = 1e-9
#: Crossings happen on a grid of this many hours (3.6 microseconds), the grid instant nearest
#: the exact one: far below any time scale of the pump or the body, and it keeps instants that
#: are round in people's units round in the results (90 days is 2160.0 h, not 2160.0000000000005,
#: whichever earlier instant the closed form was worked out from).
GRID_PER_H = 1_000_000_000
GRID_H = 1.0 / GRID_PER_H


def on_grid(t_h: float, now_h: float, end_h: float) -> float:
    """The grid instant nearest ``t_h``, never before ``now_h`` nor after ``end_h``."""
    return min(max(round(t_h * GRID_PER_H) / GRID_PER_H, now_h), end_h)


class Crossings:
    """The parts' next crossings for one run, each kept until what it depends on changes."""

    __slots__ = ("_battery", "_csf", "_estimate", "_front", "_true", "battery", "catheter",
                 "csf", "detectors", "end_h", "reservoir")  # fmt: skip

    def __init__(
        self,
        end_h: float,
        reservoir: Reservoir,
        catheter: Catheter,
        battery: Battery,
        detectors: Detectors,
        csf: CsfLevels,
    ) -> None:
        self.end_h = end_h
        self.reservoir = reservoir
        self.catheter = catheter
        self.battery = battery
        self.detectors = detectors
        self.csf = csf
        # (what the answer was worked out from, the answer)
        self._estimate: tuple[Any, list[Crossing]] = (None, [])
        self._true: tuple[Any, list[Crossing]] = (None, [])
        self._front: tuple[Any, list[Crossing]] = (None, [])
        self._battery: tuple[Any, list[Crossing]] = (None, [])
        self._csf: tuple[Any, list[Crossing]] = (None, [])

    def next(
        self, t_h: float, flows: Flows, schedule: Schedule, active_alarms: dict
    ) -> Crossing | None:
        """The earliest crossing in [t, end] for the state right now (None: nothing until
        the end). Asking again arms the catheter's front (the slug whose end it belongs to)."""
        end_h = self.end_h
        res, cath, bat = self.reservoir, self.catheter, self.battery
        when = _searcher(t_h, end_h, schedule)
        sched = id(schedule)
        debit, mech, drain = flows.est_debit, flows.mech, flows.battery
        cands: list[Crossing] = []

        low, empty = "low_reservoir" in active_alarms, "empty_reservoir" in active_alarms
        key: Any = (res.est_jumps, debit.alpha, debit.beta, sched, low, empty)
        if key != self._estimate[0]:
            found: list[Crossing] = []
            res.estimate_crossings(debit, active_alarms, when, found)
            self._estimate = (key, found)
        cands += self._estimate[1]

        moving = mech.moves() and res.true_ml > 0
        key = (res.true_jumps, mech.alpha, mech.beta, sched, moving)
        if key != self._true[0]:
            self._true = (key, [(when(mech, res.true_ml), "true_empty")] if moving else [])
        cands += self._true[1]

        key = (cath.jumps, res.conc_mcg_per_ml, mech.alpha, mech.beta, sched, moving)
        if key != self._front[0]:
            found = []
            front = cath.front_volume_ml(res.conc_mcg_per_ml) if moving else None
            if front is not None:
                cath.arm_front()
                found.append((when(mech, front), "catheter_front"))
            self._front = (key, found)
        cands += self._front[1]

        key = (bat.jumps, bat.eri, bat.explicit_eri_h, drain.alpha, drain.beta, sched)
        if key != self._battery[0]:
            eri = bat.crossing(drain, when)
            self._battery = (key, [] if eri is None else [(eri, "battery_eri")])
        cands += self._battery[1]

        exp_, dlv = flows.expected, flows.delivered
        open_ = self.detectors.flags.open
        key = (exp_.alpha, exp_.beta, dlv.alpha, dlv.beta, sched,
               "abrupt_discontinuation" in open_, "overdose_risk" in open_)  # fmt: skip
        if key != self._csf[0]:
            found = []
            self.detectors.crossings(t_h, end_h, self.csf, schedule, flows, found)
            self._csf = (key, found)
        cands += self._csf[1]

        due = [c for c in cands if c[0] <= end_h]
        if not due:
            return None
        t, kind = min(due)
        return on_grid(t, t_h, end_h), kind


def _searcher(t_h: float, end_h: float, schedule: Schedule) -> Callable[[Affine, float], float]:
    """When an affine flow from ``t_h`` has moved an amount (inf: never, or past the end)."""
    horizon = end_h + _HORIZON_SLACK * (abs(end_h) + 1.0)
    fastest_rate = schedule.rate_max

    def when(flow: Affine, amount: float) -> float:
        # At the fastest step rate the amount takes at least this long: past the end, the
        # crossing is of no interest (it would be dropped), so skip the search.
        fastest = flow.alpha * fastest_rate + flow.beta
        if fastest > 0.0 and t_h + amount / fastest > horizon:
            return math.inf
        return schedule.time_to_amount(t_h, flow.alpha, flow.beta, amount)

    return when
