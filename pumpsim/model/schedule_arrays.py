"""The programme's closed forms for arrays of instants: ``Schedule``'s integral, rate and
one-compartment levels, element by element, for the notebook and the report's samples.

The same expressions as the scalar methods of ``pumpsim.model.schedule.Schedule`` (numpy is
imported only here, so a run never pays for it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pumpsim.model.schedule import Schedule


def _locate_array(s: Schedule, x: Any) -> tuple[Any, Any, Any]:
    """``_locate`` for an array of positions."""
    period = s.period_h
    q = np.floor(x / period)
    p = x - q * period
    edge = p >= period  # float edge, as in the scalar version
    q = np.where(edge, q + 1, q)
    p = np.where(edge, 0.0, p)
    j = np.maximum(np.searchsorted(np.asarray(s.starts), p, side="right") - 1, 0)
    return q, j, p


def _F_array(s: Schedule, x: Any) -> Any:
    q, j, p = _locate_array(s, x)
    starts, cum, rates = (np.asarray(a) for a in (s.starts, s.cum, s.rates))
    return q * s.total + cum[j] + rates[j] * (p - starts[j])


def integral_array(s: Schedule, t0_h: float, t1_h: Any) -> Any:
    """``integral(t0, t1)`` for an array of ends ``t1_h`` (mcg)."""
    if s.constant:
        return s.rates[0] * (t1_h - t0_h)
    start = _F_array(s, np.array([t0_h + s.phase_h]))[0]
    return _F_array(s, t1_h + s.phase_h) - start


def rate_array(s: Schedule, t_h: Any) -> Any:
    """``rate_at`` for an array of instants (mcg/h, right-continuous)."""
    if s.constant:
        return np.full_like(t_h, s.rates[0])
    _, j, _ = _locate_array(s, t_h + s.phase_h)
    return np.asarray(s.rates)[j]


def steady_level_array(s: Schedule, t_h: Any, k: float) -> Any:
    """``steady_level`` for an array of instants."""
    if s.constant:
        return np.full_like(t_h, s.rates[0] / k)
    pss = np.asarray(s.pss_starts(k))
    _, j, p = _locate_array(s, t_h + s.phase_h)
    r = np.asarray(s.rates)[j]
    return r / k + (pss[j] - r / k) * np.exp(-k * (p - np.asarray(s.starts)[j]))


def levels_array(
    s: Schedule,
    a0: tuple[float, float],
    t0_h: float,
    t1_h: Any,
    inputs: tuple[tuple[float, float], tuple[float, float]],
    k: float,
) -> tuple[Any, Any]:
    """``levels_at`` for an array of ends ``t1_h``: the same closed form, element by element
    (an end equal to ``t0_h`` gives the start level exactly, as the scalar does)."""
    s0 = s.steady_level(t0_h, k)
    s1 = steady_level_array(s, t1_h, k)
    decay = np.exp(-k * (t1_h - t0_h))
    (a, b), (c, d) = inputs
    first = (a * s1 + b / k) + (a0[0] - (a * s0 + b / k)) * decay
    second = (c * s1 + d / k) + (a0[1] - (c * s0 + d / k)) * decay
    same = t1_h == t0_h
    return np.where(same, a0[0], first), np.where(same, a0[1], second)
