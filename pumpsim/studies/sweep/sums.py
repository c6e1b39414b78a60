"""One grid point's (or one breakdown group's) column sums, and every figure's interval.

Each figure is a ratio of two column sums; its 95 % interval is the percentile interval of
that ratio over the bootstrap resamples (``bootstrap``), widened where needed to the exact
interval (Garwood for a count, Wilson for a share). The intervals of all the columns are
worked out at once (one quantile call per table), so a grid of 10,000 points stays quick.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from pumpsim.studies.sweep.bootstrap import Accumulator
from pumpsim.studies.sweep.intervals import poisson_interval, wilson_interval

_Q = (0.025, 0.975)


def hull(a: Any, b: Any) -> list[float] | None:
    """The smallest interval holding both (either may be missing)."""
    if a is None:
        return None if b is None else [float(b[0]), float(b[1])]
    if b is None:
        return [float(a[0]), float(a[1])]
    return [min(float(a[0]), float(b[0])), max(float(a[1]), float(b[1]))]


def _quantiles(values: np.ndarray, used: np.ndarray | None = None) -> np.ndarray:
    """The 2.5 and 97.5 percentiles of each column, ignoring NaN (2 x columns; NaN where a
    column has no value at all). numpy's default (linear) method, all columns at once:
    ``nanquantile`` goes column by column, a hundred times slower on a wide table. Only the
    ``used`` columns are worked out; the others are 0 (columns of zeros, known in advance)."""
    if used is not None and not used.all():
        out = np.zeros((2, values.shape[1]))
        if used.any():
            out[:, used] = _quantiles(values[:, used])
        return out
    if values.shape[1] == 0:
        return np.zeros((2, 0))
    ordered = np.sort(values, axis=0)  # NaN sort last
    valid = values.shape[0] - np.isnan(values).sum(axis=0)
    out = np.full((2, values.shape[1]), np.nan)
    has = valid > 0
    if not has.any():
        return out
    cols = np.flatnonzero(has)
    for i, q in enumerate(_Q):
        pos = q * (valid[cols] - 1)
        low = np.floor(pos).astype(np.intp)
        high = np.minimum(low + 1, valid[cols] - 1)
        frac = pos - low
        a = ordered[low, cols]
        b = ordered[high, cols]
        out[i, cols] = a + (b - a) * frac
    return out


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den element-wise, NaN where den is 0 (num and den broadcast)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _pair(q: np.ndarray, j: int) -> list[float] | None:
    low, high = float(q[0, j]), float(q[1, j])
    return None if math.isnan(low) else [low, high]


class Sums:
    """Column sums of one grid point (``prefix`` ""), or of one ``--by`` group (``prefix``
    ``by:<key>:<j>:``), over patients who each count ``years`` patient-years."""

    def __init__(self, acc: Accumulator, index: dict[str, int], years: float, prefix: str = ""):
        self.acc = acc
        self.index = index
        self.years = years
        self.prefix = prefix
        own = [n for n in index if n.startswith(prefix) and (prefix or not n.startswith("by:"))]
        self.names = [n[len(prefix) :] for n in own]
        self._cols = [index[n] for n in own]
        self._where = {name: j for j, name in enumerate(self.names)}
        self._rate_q: np.ndarray | None = None
        self._ratios: np.ndarray | None = None
        self._used = acc.totals[self._cols] != 0  # columns with something in them
        # the figures compared with grid point 0 (not the hazards: the risk table has none)
        self._compared = np.array([not n.startswith(("hazard:", "detected:")) for n in self.names])
        self._versus: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def total(self, name: str) -> int:
        """A column's plain sum (a whole number)."""
        return int(self.acc.totals[self.index[self.prefix + name]])

    def resampled(self, name: str) -> np.ndarray:
        """A column's sum in every resample."""
        return self.acc.resampled[:, self.index[self.prefix + name]]

    @property
    def per_100_py(self) -> float:
        """The scale from (count per patient) to (count per 100 patient-years)."""
        return 100.0 / self.years if self.years > 0 else math.nan

    def _per_patient(self) -> np.ndarray:
        """Every column over the patients column, resample by resample (columns that are zero
        in every patient are left zero without dividing)."""
        if self._ratios is None:
            r = self.acc.resampled
            used = self._used
            out = np.zeros((r.shape[0], len(self._cols)))
            den = r[:, [self.index[self.prefix + "patients"]]]
            out[:, used] = _ratio(r[:, np.asarray(self._cols)[used]], den)
            out[np.broadcast_to(den <= 0, out.shape)] = np.nan
            self._ratios = out
        return self._ratios

    def rate(self, name: str) -> tuple[float | None, list[float] | None]:
        """Per 100 patient-years, with its interval (None when no patient)."""
        n = self.total("patients")
        if n == 0:
            return None, None
        if self._rate_q is None:
            self._rate_q = _quantiles(self._per_patient(), self._used)
        scale = self.per_100_py
        count = self.total(name)
        boot = _pair(self._rate_q, self._where[name])
        boot = None if boot is None else [boot[0] * scale, boot[1] * scale]
        lo, hi = poisson_interval(count)
        return count / n * scale, hull(boot, (lo / n * scale, hi / n * scale))

    def per_100_patients(self, name: str) -> tuple[float | None, list[float] | None]:
        """Patients with something per 100 patients (a 0/1 column), with its interval."""
        n = self.total("patients")
        if n == 0:
            return None, None
        if self._rate_q is None:
            self._rate_q = _quantiles(self._per_patient(), self._used)
        k = self.total(name)
        boot = _pair(self._rate_q, self._where[name])
        boot = None if boot is None else [boot[0] * 100.0, boot[1] * 100.0]
        w = wilson_interval(k, n)
        return k / n * 100.0, hull(boot, None if w is None else (w[0] * 100, w[1] * 100))

    def shares(self, pairs: list[tuple[str, str]]) -> list[tuple[Any, Any]]:
        """num/den with its interval, for several (num, den) pairs at once (None: den 0)."""
        r = self.acc.resampled
        num = r[:, [self.index[self.prefix + a] for a, _ in pairs]]
        den = r[:, [self.index[self.prefix + b] for _, b in pairs]]
        q = _quantiles(_ratio(num, den))
        out: list[tuple[Any, Any]] = []
        for j, (a, b) in enumerate(pairs):
            k, n = self.total(a), self.total(b)
            if n == 0:
                out.append((None, None))
                continue
            out.append((k / n, hull(_pair(q, j), wilson_interval(k, n))))
        return out

    def versus(self, base: Sums, name: str, rate: bool = True) -> dict[str, Any]:
        """The paired difference and ratio of one figure against grid point 0's (the same
        patients with the same weights in every resample)."""
        scale, scale0 = (self.per_100_py, base.per_100_py) if rate else (100.0, 100.0)
        key = 0 if rate else 1
        if key not in self._versus:
            # The figures compared (not the hazards: the risk table has no comparison).
            used = (self._used | base._used) & self._compared
            a = self._per_patient()[:, used] * scale
            b = base._per_patient()[:, used] * scale0
            diff = np.zeros((2, len(self.names)))
            ratio = np.full_like(diff, np.nan)
            diff[:, used] = _quantiles(a - b)
            ratio[:, used] = _quantiles(_ratio(a, b))
            self._versus[key] = (diff, ratio)
        diff_q, ratio_q = self._versus[key]
        n, n0 = self.total("patients"), base.total("patients")
        a_value = None if n == 0 else self.total(name) / n * scale
        b_value = None if n0 == 0 else base.total(name) / n0 * scale0
        j = self._where[name]
        return {
            "difference": None if a_value is None or b_value is None else a_value - b_value,
            "difference_95ci": _pair(diff_q, j),
            "ratio": None if a_value is None or not b_value else a_value / b_value,
            "ratio_95ci": _pair(ratio_q, j),
        }
