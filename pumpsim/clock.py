"""The simulation clock: SimPy's environment and queue, with the two kinds of appointment the
model needs.

* ``at(t_h, fn, *args)``: an ordinary timeout (a crossing, a bolus or fault ending, a probe);
  it returns a token that cancels it;
* ``at_exactly(t_h, fn, *args)``: a scenario event, on exactly its instant and ahead of every
  ordinary timeout due then (SimPy's urgent priority).

Every appointment calls the coordinator's handler with ``(fn, args)``; it is the handler that
advances the model and calls ``fn(t_h, *args)``. ``release()`` drops the handler and the
pending appointments after a run, so nothing keeps the coordinator alive in a cycle.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import simpy
from simpy.events import URGENT

Handler = Callable[[Callable[..., None], tuple], None]


class Token:
    """Cancels an ordinary appointment (it still pops from the queue, and does nothing)."""

    __slots__ = ("cancelled",)

    def __init__(self) -> None:
        self.cancelled = False


class _Exact(simpy.events.Event):
    """A timeout landing on exactly ``at_h`` (not ``now + delay`` rounded), urgent."""

    def __init__(self, env: simpy.Environment, at_h: float) -> None:
        super().__init__(env)
        now = env.now
        delay = max(0.0, at_h - now)
        for _ in range(64):  # a few ulps at most; the sum then lands exactly on at_h
            if now + delay < at_h:
                delay = math.nextafter(delay, math.inf)
            elif now + delay > at_h and delay > 0.0:
                delay = math.nextafter(delay, 0.0)
            else:
                break
        self._ok = True
        self._value = None
        env.schedule(self, URGENT, delay)


class Clock:
    """One SimPy environment driving one coordinator's handler."""

    __slots__ = ("_handle", "env")

    def __init__(self, handle: Handler) -> None:
        self.env = simpy.Environment()
        self._handle: Handler | None = handle

    @property
    def now(self) -> float:
        """The simulated instant (h)."""
        return self.env.now

    def at(self, t_h: float, fn: Callable[..., None], *args: Any) -> Token:
        """Call ``fn(t_h, *args)`` (through the handler) at t_h unless the token is cancelled."""
        token = Token()
        handle = self._handle
        assert handle is not None, "the run is over"

        def fire(_ev: simpy.Event) -> None:
            if not token.cancelled:
                handle(fn, args)

        self.env.timeout(max(0.0, t_h - self.env.now)).callbacks.append(fire)
        return token

    def at_exactly(self, t_h: float, fn: Callable[..., None], *args: Any) -> None:
        """Call ``fn(t_h, *args)`` at exactly t_h, before the ordinary appointments then."""
        handle = self._handle
        assert handle is not None, "the run is over"
        _Exact(self.env, t_h).callbacks.append(lambda _ev: handle(fn, args))

    def run(self, until_h: float) -> None:
        """Run the queue up to ``until_h`` (appointments due then, booked before, included)."""
        self.env.run(until=self.env.timeout(until_h))

    def release(self) -> None:
        """Forget the handler and every pending appointment."""
        self._handle = None
        self.env = simpy.Environment()
