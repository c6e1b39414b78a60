"""Pause Python's cyclic garbage collector around a batch of allocations.

A run allocates a few objects per event (pieces, log entries, SimPy events) and keeps most of
them until the result is built. CPython's cyclic collector re-scans the survivors again and
again, so with it running the cost per event grows with the size of the run (measured in
``benchmarks/bench_scaling.py``). The engine makes no reference cycles per event (reference
counting frees what it drops), so pausing the collector for a run loses nothing; it is
restored afterwards, whatever happens.
"""

from __future__ import annotations

import gc
from types import TracebackType


class collector_paused:
    """Disable the cyclic collector inside the block (if it was enabled), then restore it."""

    __slots__ = ("_collecting",)

    def __enter__(self) -> None:
        self._collecting = gc.isenabled()
        gc.disable()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._collecting:
            gc.enable()
