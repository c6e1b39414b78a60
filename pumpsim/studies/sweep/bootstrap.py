"""Intervals with the patient as the unit: a seeded percentile bootstrap over patients.

Flags cluster within patients (the patient who ran dry once runs dry again), so the patient,
not the flag, is the independent unit. Each of ``RESAMPLES`` resamples gives every patient a
multiplicity drawn from Poisson(1) (the Poisson bootstrap: resampling patients with
replacement, with the resample's size left free); every figure of the summary is a ratio of
two sums over patients (flags over patient-years, silent flags over flags, flagged patients
over patients), recomputed in every resample, and the 2.5 and 97.5 percentiles of the
resampled ratios make the 95 % interval.

Why Poisson weights rather than drawing ``n`` patient indices: patient *i*'s weight in resample
*b* is then a function of (seed, *i*, *b*) alone, so the summary is streamed batch by batch
(memory flat in the number of patients), the same patient carries the same weight at every
grid point (paired differences: common random numbers) and in every breakdown group, and the
bytes do not depend on the workers, the batch size or resumes. Its coverage matches the
classic bootstrap's (tested on over-dispersed fleets in ``tests/test_sweep_intervals.py``).

The weights come from spawn key ``(BOOTSTRAP_KEY, chunk)`` of the sweep's ``SeedSequence``,
one block of ``CHUNK`` patients each. ``BOOTSTRAP_KEY`` is above the largest patient index
(contract section 13: at most 10^7 patients), so it never meets a patient's own streams.
Sums are of whole numbers in float64 (exact below 2**53), so no summation order changes a bit.
"""

from __future__ import annotations

from decimal import Decimal, getcontext
from functools import cache
from typing import Any

import numpy as np

from pumpsim.studies.sweep.streams import stream_key

#: Resamples per interval (the contract asks for at least 2,000).
RESAMPLES = 2000
#: Patients per block of weights (one random stream each).
CHUNK = 1024
#: The first spawn-key entry of the bootstrap streams (a stable hash, > 10^7).
BOOTSTRAP_KEY = stream_key("bootstrap")
#: Weights kept in memory for reuse across grid points, at most this many bytes (making them
#: again costs about 1 % of simulating the block's patients, so memory stays flat instead).
CACHE_BYTES = 16 * 2**20
#: The interval's name in summary.json.
METHOD = (
    f"percentile bootstrap over patients ({RESAMPLES} resamples, Poisson(1) weights from the "
    "sweep's SeedSequence); rates never narrower than the exact Poisson (Garwood) interval "
    "of their count, shares than the Wilson interval"
)


@cache
def _poisson_thresholds() -> np.ndarray:
    """2**64 x the Poisson(1) distribution function at 0, 1, 2, ... (exact decimal maths, so
    the same integers on every machine)."""
    getcontext().prec = 50
    e_inv = Decimal(-1).exp()
    out, total, term = [], Decimal(0), e_inv
    for k in range(1, 40):
        total += term
        value = int(total * (Decimal(2) ** 64))
        if value >= 2**64 - 1:
            break
        out.append(value)
        term /= k
    return np.array(out, dtype=np.uint64)


@cache
def _lookup() -> tuple[np.ndarray, np.ndarray]:
    """The Poisson(1) value of each of the 65,536 slices of the raw 64-bit range (by its top
    16 bits), and which slices hold a threshold (those few are looked up exactly)."""
    thresholds = _poisson_thresholds()
    starts = np.arange(2**16, dtype=np.uint64) << np.uint64(48)
    ends = starts + np.uint64(2**48 - 1)
    low = np.searchsorted(thresholds, starts, side="right")
    high = np.searchsorted(thresholds, ends, side="right")
    return low.astype(np.uint8), low != high


def weights_of_chunk(seed: int, chunk: int, count: int = CHUNK) -> np.ndarray:
    """Poisson(1) multiplicities of the first ``count`` patients of block ``chunk`` (patients
    ``chunk * CHUNK ...``) in every resample, as a (count, RESAMPLES) uint8 array.

    Patient by patient in the stream, so a shorter ``count`` gives the same first rows. Each
    64-bit raw draw u gives the k with CDF(k - 1) <= u / 2**64 < CDF(k), exactly.
    """
    seq = np.random.SeedSequence(seed, spawn_key=(BOOTSTRAP_KEY, chunk))
    raw = np.random.PCG64(seq).random_raw(RESAMPLES * count)
    values, ambiguous = _lookup()
    top = (raw >> np.uint64(48)).astype(np.intp)
    counts = values[top]
    exact = ambiguous[top]
    if exact.any():
        counts[exact] = np.searchsorted(_poisson_thresholds(), raw[exact], side="right")
    return counts.reshape(count, RESAMPLES)


class Weights:
    """The weights of one sweep, made on demand and kept while they fit ``CACHE_BYTES``."""

    def __init__(self, seed: int, patients: int, grid_points: int = 2) -> None:
        self.seed = seed
        self._keep = grid_points > 1 and patients * RESAMPLES <= CACHE_BYTES  # a byte each
        self._made: dict[int, np.ndarray] = {}

    def chunk(self, index: int, count: int) -> np.ndarray:
        """The weights of the first ``count`` patients of one block: (count, RESAMPLES)."""
        found = self._made.get(index)
        if found is None or len(found) < count:
            found = weights_of_chunk(self.seed, index, count)
            if self._keep:
                self._made[index] = found
        return found[:count]


class Accumulator:
    """Sums of per-patient columns, plain and in every resample, for one grid point.

    Patients arrive in increasing index order (``add``); ``finish`` returns the plain sums
    (``totals``, length k) and the resampled ones (``resampled``, RESAMPLES x k).
    """

    def __init__(self, weights: Weights, width: int) -> None:
        self.weights = weights
        self.width = width
        self.totals = np.zeros(width, dtype=np.float64)
        self.resampled = np.zeros((RESAMPLES, width), dtype=np.float64)
        self._chunk = -1
        self._rows: list[int] = []
        self._values: list[Any] = []

    def add(self, patient: int, values: Any) -> None:
        """One patient's column values (whole numbers)."""
        chunk = patient // CHUNK
        if chunk != self._chunk:
            self._flush()
            self._chunk = chunk
        self._rows.append(patient % CHUNK)
        self._values.append(values)

    def _flush(self) -> None:
        if not self._rows:
            return
        x = np.asarray(self._values, dtype=np.float64).reshape(len(self._rows), self.width)
        self.totals += x.sum(axis=0)
        w = self.weights.chunk(self._chunk, self._rows[-1] + 1)[self._rows]
        # Whole numbers below 2**24 add up exactly in float32 (twice as fast as float64);
        # a block with larger counts goes in float64 (exact below 2**53).
        big = float(x.max(initial=0.0)) * float(w.max(initial=0)) * len(x) >= 2**24
        kind = np.float64 if big else np.float32
        wt = w.T.astype(kind)
        xs = x.astype(kind)
        nonzero = np.count_nonzero(xs, axis=0)
        dense = nonzero * 8 > len(xs)
        if dense.any():
            self.resampled[:, dense] += wt @ xs[:, dense]
        for col in np.flatnonzero(~dense & (nonzero > 0)):
            rows = np.flatnonzero(xs[:, col])
            self.resampled[:, col] += wt[:, rows] @ xs[rows, col]
        self._rows, self._values = [], []

    def finish(self) -> Accumulator:
        """Add the last block; return self."""
        self._flush()
        return self
