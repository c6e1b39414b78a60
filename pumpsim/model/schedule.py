"""The therapy programme as a periodic step function of time, handled in closed form.

``f(t)`` is the programmed dose rate in mcg/h. Continuous therapy is one step; flex therapy is up
to 13 steps a day, repeating daily (period 24 h) or weekly when weekdays differ (period 168 h).
Between engine events every quantity in the model is driven by an affine input ``alpha*f(t) +
beta``, so three questions cover the whole model:

* how much flowed between two instants (``integral``): prefix sums, whole periods skipped;
* when a cumulative amount is reached (``time_to_amount``): whole periods skipped, then a
  binary search over the period's prefix sums;
* how a one-compartment level ``A' = input - k*A`` evolves and when a combination of two such
  levels first crosses zero (``level_at``, ``first_zero_down``): the periodic steady state in
  closed form plus a decaying transient, so a gap of months costs the same as a gap of minutes.

None of this steps time.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from datetime import datetime
from typing import Any, Protocol

from pumpsim.model.units import HOURS_PER_DAY, HOURS_PER_WEEK, hour_of_day


class ProgrammeSteps(Protocol):
    """What a schedule is built from (``pumpsim.model.setup.Programme``)."""

    mode: str  # "continuous" | "flex"
    week: tuple[tuple[tuple[float, ...], tuple[float, ...]], ...]  # Monday first
    daily_dose_mcg: float


#: Beyond this many periods (a million years of days) a crossing is treated as never.
_FOREVER_PERIODS = 1e9
#: Relative slack of the prefix-sum search: it only narrows the exact scan that follows.
_SEARCH_SLACK = 1e-9


class Schedule:
    """A periodic step function: ``rates[j]`` from ``starts[j]`` to the next start, per period."""

    __slots__ = (
        "_cum_end",
        "_pss",
        "constant",
        "cum",
        "daily_dose_mcg",
        "ends",
        "period_h",
        "phase_h",
        "rate_max",
        "rate_min",
        "rates",
        "starts",
        "total",
    )

    def __init__(
        self, period_h: float, starts: list[float], rates: list[float], phase_h: float = 0.0
    ) -> None:
        merged_s: list[float] = []
        merged_r: list[float] = []
        for s, r in zip(starts, rates, strict=True):
            if merged_r and merged_r[-1] == r:
                continue
            merged_s.append(float(s))
            merged_r.append(float(r))
        self.period_h = float(period_h)
        self.starts = tuple(merged_s)
        self.rates = tuple(merged_r)
        self.ends = (*self.starts[1:], self.period_h)
        cum = [0.0]
        for s, e, r in zip(self.starts, self.ends, self.rates, strict=True):
            cum.append(cum[-1] + r * (e - s))
        self.cum = tuple(cum)
        self.total = cum[-1]
        self.phase_h = float(phase_h) % self.period_h
        self.constant = len(self.rates) == 1
        self.rate_min = min(self.rates)
        self.rate_max = max(self.rates)
        self._cum_end = self.cum[1:]  # amount of f from the period start to each step's end
        self._pss: dict[float, tuple[float, ...]] = {}
        #: mcg per day on average (``from_programme`` sets the programme's own figure).
        self.daily_dose_mcg = self.total * HOURS_PER_DAY / self.period_h

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_programme(cls, programme: ProgrammeSteps, start: datetime) -> Schedule:
        """Build ``f(t)`` for a programme; ``start`` is the wall-clock time of t = 0."""
        since_midnight_h = hour_of_day(start)
        week = programme.week
        if programme.mode == "continuous":
            sched = cls(HOURS_PER_DAY, [0.0], list(week[0][1]))
        elif all(day == week[0] for day in week):
            at_h, doses = week[0]
            sched = cls(HOURS_PER_DAY, list(at_h), list(doses), since_midnight_h)
        else:
            starts: list[float] = []
            rates: list[float] = []
            for day, (at_h, doses) in enumerate(week):
                for a, d in zip(at_h, doses, strict=True):
                    starts.append(day * HOURS_PER_DAY + a)
                    rates.append(d)
            phase = start.weekday() * HOURS_PER_DAY + since_midnight_h
            sched = cls(HOURS_PER_WEEK, starts, rates, phase)
        sched.daily_dose_mcg = programme.daily_dose_mcg  # the programme's own figure, bit for bit
        return sched

    # -- evaluation ---------------------------------------------------------------------------
    def _locate(self, x: float) -> tuple[float, int, float]:
        """Absolute position x → (period index, segment index, offset within period)."""
        q = math.floor(x / self.period_h)
        p = x - q * self.period_h
        if p >= self.period_h:  # float edge
            q += 1
            p = 0.0
        j = bisect_right(self.starts, p) - 1
        return q, max(j, 0), p

    def rate_at(self, t_h: float) -> float:
        """f(t) in mcg/h (the step in force at t, right-continuous)."""
        if self.constant:
            return self.rates[0]
        _, j, _ = self._locate(t_h + self.phase_h)
        return self.rates[j]

    def _F(self, x: float) -> float:
        q, j, p = self._locate(x)
        return q * self.total + self.cum[j] + self.rates[j] * (p - self.starts[j])

    def integral(self, t0_h: float, t1_h: float) -> float:
        """∫ f dt from t0 to t1, in mcg."""
        if self.constant:
            return self.rates[0] * (t1_h - t0_h)
        return self._F(t1_h + self.phase_h) - self._F(t0_h + self.phase_h)

    def time_to_amount(self, t0_h: float, alpha: float, beta: float, amount: float) -> float:
        """First t ≥ t0 with ∫_{t0}^{t} (alpha*f + beta) = amount (alpha, beta ≥ 0); inf: never."""
        if amount <= 0.0:
            return t0_h
        if self.constant:
            slope = alpha * self.rates[0] + beta
            return t0_h + amount / slope if slope > 0.0 else math.inf
        per_period = alpha * self.total + beta * self.period_h
        if per_period <= 0.0 or amount / per_period > _FOREVER_PERIODS:
            return math.inf
        x0 = t0_h + self.phase_h
        goal = alpha * self._F(x0) + beta * x0 + amount
        P = self.period_h
        q = max(math.floor(goal / per_period), math.floor(x0 / P))
        starts, ends, rates, cum = self.starts, self.ends, self.rates, self.cum
        n = len(starts)
        slack = _SEARCH_SLACK * (abs(goal) + per_period)
        for qq in range(q - 1, q + 3):
            base = qq * P
            g_base = qq * per_period
            # Binary search on the prefix sums for the first step that can hold the goal (and
            # ends after x0); the exact test below starts one step earlier (rounding).
            target = goal - g_base - slack
            if beta == 0.0:
                lo = bisect_left(self._cum_end, target / alpha)
            elif alpha == 0.0:
                lo = bisect_left(ends, target / beta)
            else:
                lo = bisect_left(
                    range(n), target, key=lambda j: alpha * cum[j + 1] + beta * ends[j]
                )
            if base < x0:
                lo = max(lo, bisect_right(ends, x0 - base))
            for j in range(max(lo - 1, 0), n):
                s, e = starts[j], ends[j]
                slope = alpha * rates[j] + beta
                g_start = g_base + alpha * cum[j] + beta * s
                g_end = g_start + slope * (e - s)
                if slope > 0.0 and g_end >= goal and base + e > x0:
                    x = base + s + (goal - g_start) / slope
                    return max(x, x0) - self.phase_h
        raise AssertionError("time_to_amount: no segment reached the goal")  # pragma: no cover

    # -- the same, for arrays of instants (numpy, imported only here) -------------------------
    def _locate_array(self, x: Any) -> tuple[Any, Any, Any]:
        """``_locate`` for an array of positions."""
        import numpy as np

        period = self.period_h
        q = np.floor(x / period)
        p = x - q * period
        edge = p >= period  # float edge, as in the scalar version
        q = np.where(edge, q + 1, q)
        p = np.where(edge, 0.0, p)
        j = np.maximum(np.searchsorted(np.asarray(self.starts), p, side="right") - 1, 0)
        return q, j, p

    def _F_array(self, x: Any) -> Any:
        import numpy as np

        q, j, p = self._locate_array(x)
        starts, cum, rates = (np.asarray(a) for a in (self.starts, self.cum, self.rates))
        return q * self.total + cum[j] + rates[j] * (p - starts[j])

    def integral_array(self, t0_h: float, t1_h: Any) -> Any:
        """``integral(t0, t1)`` for an array of ends ``t1_h`` (mcg)."""
        import numpy as np

        if self.constant:
            return self.rates[0] * (t1_h - t0_h)
        start = self._F_array(np.array([t0_h + self.phase_h]))[0]
        return self._F_array(t1_h + self.phase_h) - start

    def rate_array(self, t_h: Any) -> Any:
        """``rate_at`` for an array of instants (mcg/h, right-continuous)."""
        import numpy as np

        if self.constant:
            return np.full_like(t_h, self.rates[0])
        _, j, _ = self._locate_array(t_h + self.phase_h)
        return np.asarray(self.rates)[j]

    def steady_level_array(self, t_h: Any, k: float) -> Any:
        """``steady_level`` for an array of instants."""
        import numpy as np

        if self.constant:
            return np.full_like(t_h, self.rates[0] / k)
        pss = np.asarray(self._pss_starts(k))
        _, j, p = self._locate_array(t_h + self.phase_h)
        r = np.asarray(self.rates)[j]
        return r / k + (pss[j] - r / k) * np.exp(-k * (p - np.asarray(self.starts)[j]))

    def levels_array(
        self,
        a0: tuple[float, float],
        t0_h: float,
        t1_h: Any,
        inputs: tuple[tuple[float, float], tuple[float, float]],
        k: float,
    ) -> tuple[Any, Any]:
        """``levels_at`` for an array of ends ``t1_h``: the same closed form, element by element
        (an end equal to ``t0_h`` gives the start level exactly, as the scalar does)."""
        import numpy as np

        s0 = self.steady_level(t0_h, k)
        s1 = self.steady_level_array(t1_h, k)
        decay = np.exp(-k * (t1_h - t0_h))
        (a, b), (c, d) = inputs
        first = (a * s1 + b / k) + (a0[0] - (a * s0 + b / k)) * decay
        second = (c * s1 + d / k) + (a0[1] - (c * s0 + d / k)) * decay
        same = t1_h == t0_h
        return np.where(same, a0[0], first), np.where(same, a0[1], second)

    # -- one-compartment levels ---------------------------------------------------------------
    def _pss_starts(self, k: float) -> tuple[float, ...]:
        """Periodic steady state of A' = f - kA at each step start (A from f alone)."""
        cached = self._pss.get(k)
        if cached is not None:
            return cached
        a = 0.0
        for s, e, r in zip(self.starts, self.ends, self.rates, strict=True):
            a = r / k + (a - r / k) * math.exp(-k * (e - s))
        a0 = a / (1.0 - math.exp(-k * self.period_h))
        values = [a0]
        a = a0
        for s, e, r in zip(self.starts[:-1], self.ends[:-1], self.rates[:-1], strict=True):
            a = r / k + (a - r / k) * math.exp(-k * (e - s))
            values.append(a)
        out = tuple(values)
        self._pss[k] = out
        return out

    def steady_level(self, t_h: float, k: float) -> float:
        """The periodic steady-state level of A' = f - kA at t (mcg, in units of f/k)."""
        if self.constant:
            return self.rates[0] / k
        pss = self._pss_starts(k)
        _, j, p = self._locate(t_h + self.phase_h)
        r = self.rates[j]
        return r / k + (pss[j] - r / k) * math.exp(-k * (p - self.starts[j]))

    def level_at(
        self, a0: float, t0_h: float, t1_h: float, alpha: float, beta: float, k: float
    ) -> float:
        """A(t1) for A' = alpha*f + beta - kA with A(t0) = a0 (exact)."""
        if t1_h == t0_h:
            return a0
        p0 = alpha * self.steady_level(t0_h, k) + beta / k
        p1 = alpha * self.steady_level(t1_h, k) + beta / k
        return p1 + (a0 - p0) * math.exp(-k * (t1_h - t0_h))

    def levels_at(
        self,
        a0: tuple[float, float],
        t0_h: float,
        t1_h: float,
        inputs: tuple[tuple[float, float], tuple[float, float]],
        k: float,
    ) -> tuple[float, float]:
        """Two levels at once (``level_at`` for each (alpha, beta) input): the steady states
        and the decay are shared, the results are the same bit for bit."""
        if t1_h == t0_h:
            return a0
        s0 = self.steady_level(t0_h, k)
        s1 = self.steady_level(t1_h, k)
        decay = math.exp(-k * (t1_h - t0_h))
        (a, b), (c, d) = inputs
        first = (a * s1 + b / k) + (a0[0] - (a * s0 + b / k)) * decay
        second = (c * s1 + d / k) + (a0[1] - (c * s0 + d / k)) * decay
        return first, second

    def first_zero_down(
        self, t0_h: float, t_end_h: float, g0: float, alpha: float, beta: float, k: float
    ) -> float | None:
        """First t in [t0, t_end] where g falls below zero; g' = alpha*f + beta - k*g, g(t0) ≥ 0.

        Returns None if g stays ≥ 0 until t_end. Exact: a crossing lies inside one step, where g
        is a single exponential; whole periods are skipped using the periodic steady state.
        """
        g0 = max(g0, 0.0)
        if alpha * self.rate_min + beta >= 0.0 and alpha * self.rate_max + beta >= 0.0:
            return None  # the input never pulls g down (it is monotone in the rate)
        x0 = t0_h + self.phase_h
        x_end = t_end_h + self.phase_h
        P = self.period_h

        def scan(xa: float, xb: float, g: float) -> tuple[float | None, float]:
            q, j, _p = self._locate(xa)
            base = q * P
            x = xa
            while x < xb:
                seg_end = min(base + self.ends[j], xb)
                u = alpha * self.rates[j] + beta
                if u < 0.0:
                    if g <= 0.0:
                        return x, g
                    ginf = u / k
                    dt = math.log((g - ginf) / (-ginf)) / k
                    if x + dt <= seg_end:
                        return x + dt, 0.0
                g = u / k + (g - u / k) * math.exp(-k * (seg_end - x))
                x = seg_end
                j += 1
                if j == len(self.starts):
                    j = 0
                    base += P
            return None, g

        b1 = (math.floor(x0 / P) + 1) * P
        hit, g_b1 = scan(x0, min(b1, x_end), g0)
        if hit is not None:
            return hit - self.phase_h
        if x_end <= b1:
            return None
        hit, _ = scan(b1, min(b1 + P, x_end), g_b1)
        if hit is not None:
            return hit - self.phase_h
        if x_end <= b1 + P:
            return None
        # g = G_p + delta*exp(-k(x-b1)); the first full period [b1, b1+P] stayed ≥ 0.
        pss = self._pss_starts(k)
        gp = [alpha * v + beta / k for v in pss]
        delta = g_b1 - gp[0]
        if delta <= 0.0:
            return None  # later periods lie above the one just scanned
        best: int | None = None
        for s, gp_s in zip((*self.starts, P), (*gp, gp[0]), strict=True):
            if gp_s < 0.0:
                periods = math.log(delta * math.exp(-k * s) / -gp_s) / (k * P)
                if not math.isfinite(periods) or periods > _FOREVER_PERIODS:
                    continue  # vanishing input: the dip never comes within any horizon
                n = max(math.ceil(periods), 1)
                best = n if best is None else min(best, n)
        if best is None:
            return None  # the steady state itself never dips below zero
        start = b1 + (best - 1) * P
        for _ in range(4):  # the crossing is in period `best`; a little slack for rounding
            if start >= x_end:
                return None
            g_start = gp[0] + delta * math.exp(-k * (start - b1))
            hit, _ = scan(start, min(start + P, x_end), g_start)
            if hit is not None:
                return hit - self.phase_h
            start += P
        return None  # pragma: no cover - numerical corner
