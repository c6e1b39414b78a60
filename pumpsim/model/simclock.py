"""The simulation clock (SimClock): SimPy's environment and queue, with the two kinds of
appointment the model needs.

* ``at(t_h, fn, *args)``: an ordinary timeout (a crossing, a bolus or fault ending, a probe);
  it returns a token that cancels it;
* ``at_exactly(t_h, fn, *args, first=...)``: a scenario event (``first``: ahead of everything
  else due then) or a clinic's booking, on exactly its instant.

Every appointment calls the coordinator's handler with ``(fn, args)``; it is the handler that
advances the model and calls ``fn(t_h, *args)``. ``release()`` drops the handler and empties
the queue after a run, so nothing keeps the coordinator alive in a cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappush
from typing import Any

import simpy
from simpy.events import NORMAL, URGENT

#: Priority of the end of the run: after everything else due at that instant.
_LAST = NORMAL + 1

Handler = Callable[[Callable[..., None], tuple], None]


class Token:
    """Cancels an ordinary appointment (it still pops from the queue, and does nothing)."""

    __slots__ = ("cancelled",)

    def __init__(self) -> None:
        self.cancelled = False


class _Environment(simpy.Environment):
    """SimPy's environment, plus scheduling at an absolute instant.

    ``schedule`` takes a delay, and ``now + (t - now)`` is not always ``t`` in floating point:
    a scenario event must land on exactly its instant (its time is in the logs, and it must
    order correctly against other events then). This pushes onto SimPy's own queue exactly as
    ``schedule`` does (time, priority, insertion order, event), with the instant itself.
    """

    def schedule_at(self, event: simpy.Event, priority: int, at_h: float) -> None:
        """Queue ``event`` at exactly ``at_h`` (not before now)."""
        heappush(self._queue, (max(at_h, self._now), priority, next(self._eid), event))

    def forget(self) -> None:
        """Drop every pending event (unprocessed: their callbacks never run)."""
        self._queue.clear()


class SimClock:
    """One SimPy environment driving one coordinator's handler."""

    __slots__ = ("_handle", "env")

    def __init__(self, handle: Handler) -> None:
        self.env = _Environment()
        self._handle: Handler | None = handle

    @property
    def now(self) -> float:
        """The simulated instant (h)."""
        return self.env.now

    def at(self, t_h: float, fn: Callable[..., None], *args: Any) -> Token:
        """Call ``fn(t_h, *args)`` (through the handler) at t_h unless the token is cancelled.

        The instant is ``now + (t_h - now)`` (SimPy's timeout), as it always was for crossings
        and endings.
        """
        token = Token()

        def fire(_ev: simpy.Event) -> None:
            handle = self._handle
            if handle is not None and not token.cancelled:
                handle(fn, args)

        self.env.timeout(max(0.0, t_h - self.env.now)).callbacks.append(fire)
        return token

    def at_exactly(
        self, t_h: float, fn: Callable[..., None], *args: Any, first: bool = False
    ) -> None:
        """Call ``fn(t_h, *args)`` at exactly t_h; with ``first``, ahead of every appointment
        not made ``first`` at that instant (SimPy's urgent priority)."""

        def fire(_ev: simpy.Event) -> None:
            handle = self._handle
            if handle is not None:
                handle(fn, args)

        event = simpy.Event(self.env)
        event._ok = True  # a timeout's state: triggered, no value
        event._value = None
        event.callbacks.append(fire)
        self.env.schedule_at(event, URGENT if first else NORMAL, t_h)

    def look_at(self, t_h: float, fn: Callable[..., None], *args: Any) -> None:
        """Call ``fn(t_h, *args)`` directly at exactly t_h, in turn with the other appointments
        then, *not* through the handler: an observer that must not change the model."""

        def fire(_ev: simpy.Event) -> None:
            if self._handle is not None:
                fn(t_h, *args)

        event = simpy.Event(self.env)
        event._ok = True
        event._value = None
        event.callbacks.append(fire)
        self.env.schedule_at(event, NORMAL, t_h)

    def run(self, until_h: float) -> None:
        """Run the queue up to ``until_h``, every appointment due then included."""
        end = simpy.Event(self.env)
        end._ok = True
        end._value = None
        self.env.schedule_at(end, _LAST, until_h)
        self.env.run(until=end)

    def release(self) -> None:
        """Forget the handler and drop the pending appointments, so that nothing they hold
        keeps the coordinator alive."""
        self._handle = None
        self.env.forget()
