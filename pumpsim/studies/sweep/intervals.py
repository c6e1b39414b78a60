"""Exact intervals for counts and shares: Garwood (Poisson) and Wilson (binomial).

The bootstrap over patients (``bootstrap``) is the sweep's interval; these are its floor: a
rate's interval is never narrower than the exact Poisson interval of its count, a share's than
Wilson's (few events, where a percentile bootstrap is too narrow).
"""

from __future__ import annotations

import math
from functools import cache

Z95 = 1.959963984540054


def _gamma_p(a: float, x: float) -> float:
    """Regularized lower incomplete gamma P(a, x) (series or continued fraction)."""
    if x <= 0.0:
        return 0.0
    log_front = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0 / a
        ap = a
        for _ in range(100_000):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return total * math.exp(log_front)
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 100_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return 1.0 - math.exp(log_front) * h


def _gamma_quantile(a: float, p: float) -> float:
    """x with P(a, x) = p (bisection from a Wilson-Hilferty bracket; deterministic)."""
    z = Z95 if p > 0.5 else -Z95
    guess = a * (1.0 - 1.0 / (9.0 * a) + z / (3.0 * math.sqrt(a))) ** 3
    lo, hi = max(0.0, 0.9 * guess - 1.0), 1.1 * guess + 1.0
    if _gamma_p(a, lo) > p:
        lo = 0.0
    while _gamma_p(a, hi) < p:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if _gamma_p(a, mid) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * max(1.0, hi):
            break
    return (lo + hi) / 2.0


@cache
def poisson_interval(count: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Garwood) interval for a Poisson count."""
    lower = 0.0 if count == 0 else _gamma_quantile(count, alpha / 2)
    upper = _gamma_quantile(count + 1, 1 - alpha / 2)
    return lower, upper


def wilson_interval(k: int, n: int) -> tuple[float, float] | None:
    """Wilson score interval for a share k/n (None when n = 0)."""
    if n == 0:
        return None
    p = k / n
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)
