"""Seeded random streams: one per (seed, patient, stream name), independent of everything else.

Patient ``i`` uses spawn key ``(i,)`` of ``SeedSequence(seed)`` at every grid point (common
random numbers), and each named stream is a child of that: spawn key ``(i, k)`` where ``k`` is a
stable number derived from the stream's name (not from its position in any list), so adding a
stream never changes another stream's draws. Nothing depends on the worker, the batch or the
order in which patients are simulated.
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any


@cache
def stream_key(name: str) -> int:
    """A stable 32-bit number for a stream name (SHA-256 based; the same on every machine)."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:4], "big")


class PatientStreams:
    """The random streams of one patient, created on first use."""

    def __init__(self, seed: int, patient: int) -> None:
        self.seed = seed
        self.patient = patient
        self._made: dict[str, Any] = {}

    def __call__(self, name: str) -> Any:
        """The ``numpy.random.Generator`` of one named stream of this patient."""
        rng = self._made.get(name)
        if rng is None:
            import numpy as np

            seq = np.random.SeedSequence(self.seed, spawn_key=(self.patient, stream_key(name)))
            rng = np.random.Generator(np.random.PCG64(seq))
            self._made[name] = rng
        return rng
