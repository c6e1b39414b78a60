"""The next threshold crossing: every component is asked, the earliest wins.

A crossing is ``(instant in hours, kind)``; ties go to the smaller kind name, so the choice is
deterministic. Kinds: ``estimate_low``, ``estimate_empty``, ``estimate_zero`` (the reservoir's
belief reaching an alarm level or zero), ``true_empty`` (the truth running out),
``catheter_front`` (a concentration boundary reaching the catheter tip), ``battery_eri`` (the
battery used up), ``abrupt`` and ``overdose`` (the CSF ratio crossing a detector threshold).
"""

from __future__ import annotations

import math

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


def next_crossing(
    t_h: float,
    end_h: float,
    flows: Flows,
    schedule: Schedule,
    active_alarms: dict,
    reservoir: Reservoir,
    catheter: Catheter,
    battery: Battery,
    detectors: Detectors,
    csf: CsfLevels,
) -> Crossing | None:
    """The earliest crossing in [t, end] for the state right now (None: nothing until the end).

    Asking arms the catheter's front (the slug whose end the crossing belongs to).
    """
    cands: list[Crossing] = []
    horizon = end_h + _HORIZON_SLACK * (abs(end_h) + 1.0)
    fastest_rate = schedule.rate_max

    def when(flow: Affine, amount: float) -> float:
        # At the fastest step rate the amount takes at least this long: past the end, the
        # crossing is of no interest (it would be dropped below), so skip the search.
        fastest = flow.alpha * fastest_rate + flow.beta
        if fastest > 0.0 and t_h + amount / fastest > horizon:
            return math.inf
        return schedule.time_to_amount(t_h, flow.alpha, flow.beta, amount)

    reservoir.estimate_crossings(flows.est_debit, active_alarms, when, cands)
    mech = flows.mech
    if mech.moves() and reservoir.true_ml > 0:
        cands.append((when(mech, reservoir.true_ml), "true_empty"))
        front = catheter.front_volume_ml(reservoir.conc_mcg_per_ml)
        if front is not None:
            catheter.arm_front()
            cands.append((when(mech, front), "catheter_front"))
    eri = battery.crossing(flows.battery, when)
    if eri is not None:
        cands.append((eri, "battery_eri"))
    detectors.crossings(t_h, end_h, csf, schedule, flows, cands)
    cands = [c for c in cands if c[0] <= end_h]
    return min(cands) if cands else None
