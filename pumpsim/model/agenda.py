"""The simulation clock: SimPy keeps the time, an agenda orders what is due.

Two kinds of appointment:

* ``at(t_h, fn, *args)``: an ordinary one (a crossing, a bolus or fault ending, ERI); it returns
  a token that cancels it;
* ``at_exactly(t_h, fn, *args, first=...)``: a scenario event (``first``: ahead of everything
  else due then) or a clinic's booking, on exactly its instant.

What is due at one instant runs in order: ``first`` appointments, then the others in the order
they were made. The clock waits for each new instant with a SimPy timeout (SimPy's public API
only) and then keeps what is due; the delay is chosen so that SimPy's clock lands on exactly
the instant (``delay_to``), which matters because an event's instant is in the logs and orders it
against other events then. (A callback on the timeout, not a SimPy process: an error in the
model leaves SimPy as it is, with no failed process holding the run in a reference cycle.)
Every appointment calls the coordinator's handler with ``(fn, args)``;
it is the handler that advances the model and calls ``fn(t_h, *args)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

import simpy

#: Ranks at one instant: scenario events first, then everything else in the order it was made.
FIRST, IN_TURN = 0, 1

Handler = Callable[[Callable[..., None], tuple], None]


class Token:
    """Cancels an ordinary appointment (it is skipped when its turn comes)."""

    __slots__ = ("cancelled",)

    def __init__(self) -> None:
        self.cancelled = False


def delay_to(now: float, t: float) -> float:
    """A delay ``d`` with ``now + d == t`` exactly in floating point (``t - now`` is not always
    one): the delay is at most ``t``, so its spacing is no coarser than ``t``'s, and a step or
    two of ``nextafter`` reaches it."""
    d = t - now
    while now + d < t:
        d = math.nextafter(d, math.inf)
    while now + d > t:
        d = math.nextafter(d, -math.inf)
    return d


class Agenda:
    """One SimPy environment driving one coordinator's handler."""

    __slots__ = ("_agenda", "_handle", "_now", "_seq", "_until", "env")

    def __init__(self, handle: Handler) -> None:
        self.env = simpy.Environment()
        self._handle: Handler | None = handle
        self._agenda: list[tuple[float, int, int, Token | None, Callable[..., None], tuple]] = []
        self._seq = 0
        self._now = 0.0
        self._until = 0.0

    @property
    def now(self) -> float:
        """The simulated instant (h)."""
        return self._now

    def at(self, t_h: float, fn: Callable[..., None], *args: Any) -> Token:
        """Call ``fn(t_h, *args)`` (through the handler) at t_h unless the token is cancelled.

        The instant is ``now + (t_h - now)``, as a SimPy timeout from now would give.
        """
        token = Token()
        now = self._now
        self._seq += 1
        heappush(self._agenda, (now + max(0.0, t_h - now), IN_TURN, self._seq, token, fn, args))
        return token

    def at_exactly(
        self, t_h: float, fn: Callable[..., None], *args: Any, first: bool = False
    ) -> None:
        """Call ``fn(t_h, *args)`` at exactly t_h; with ``first``, ahead of every appointment
        not made ``first`` at that instant."""
        self._seq += 1
        rank = FIRST if first else IN_TURN
        heappush(self._agenda, (max(t_h, self._now), rank, self._seq, None, fn, args))

    def run(self, until_h: float) -> None:
        """Run every appointment due up to ``until_h``, those at ``until_h`` included."""
        self._until = until_h
        self._wait()
        self.env.run()

    def _wait(self) -> None:
        """Wait (a SimPy timeout) for the next instant with an appointment still due."""
        agenda = self._agenda
        while agenda and agenda[0][3] is not None and agenda[0][3].cancelled:
            heappop(agenda)
        if agenda and agenda[0][0] <= self._until and self._handle is not None:
            env = self.env
            env.timeout(delay_to(env.now, agenda[0][0])).callbacks.append(self._due)

    def _due(self, _event: simpy.Event) -> None:
        """Keep every appointment due now, in turn (those made meanwhile for now included)."""
        agenda = self._agenda
        t = self._now = agenda[0][0]
        while agenda and agenda[0][0] == t:
            _, _, _, token, fn, args = heappop(agenda)
            if token is not None and token.cancelled:
                continue
            handle = self._handle
            if handle is None:
                return
            handle(fn, args)
        self._wait()

    def release(self) -> None:
        """Forget the handler and drop the pending appointments, so that nothing they hold
        keeps the coordinator alive."""
        self._handle = None
        self._agenda.clear()
