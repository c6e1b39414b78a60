"""Baclofen in the spinal fluid: two one-compartment levels (contract section 4).

``expected`` is driven by the programme (therapy and requested boluses), whatever the pump
does; ``actual`` by the drug that really reaches the intrathecal space. Both are amounts (mcg)
obeying ``A' = input - k*A``; between events the input is affine in the programme's rate, so
``Schedule.level_at`` gives them exactly.
"""

from __future__ import annotations

import math

from pumpsim.model.affine import Affine
from pumpsim.model.schedule import Schedule


class CsfLevels:
    """Expected and actual CSF drug amounts (mcg) and their elimination rate."""

    __slots__ = ("actual", "expected", "k_per_h")

    def __init__(self, half_life_h: float, schedule: Schedule, established: bool) -> None:
        self.k_per_h = math.log(2.0) / half_life_h
        if established:  # both at the programme's (periodic) steady state
            level = schedule.steady_level(0.0, self.k_per_h)
            self.expected = level
            self.actual = level
        else:
            self.expected = 0.0
            self.actual = 0.0

    def crossing(
        self,
        schedule: Schedule,
        t_h: float,
        end_h: float,
        expected: Affine,
        delivered: Affine,
        weight: float,
        downward: bool,
    ) -> float | None:
        """First instant in [t, end] at which actual - weight*expected crosses zero, going down
        (``downward``) or up; None if it does not."""
        g0 = self.actual - weight * self.expected
        a = delivered.alpha - weight * expected.alpha
        b = delivered.beta - weight * expected.beta
        sign = 1.0 if downward else -1.0
        return schedule.first_zero_down(t_h, end_h, sign * g0, sign * a, sign * b, self.k_per_h)
