"""The desk a reactive clinic works from (``pumpsim.simulate(scenario, clinic=...)``).

A clinic is any object with three methods:

* ``start(desk)``: called once at t = 0, before anything runs;
* ``on_alarm(desk, alarm)``: an alarm (its name) was just raised; ``desk.now_h`` is when;
* ``on_event(desk, event)``: a scenario or booked event (the model's, ``pumpsim.model.setup``)
  was just applied.

Through the desk it sees the time, the current pump's reservoir size and the run's duration,
and books events (a refill, a replacement, a fault, ...), applied at their instant
exactly as scenario events are (same handlers, logs and flags), after the scenario's own
events at that instant. A booked refill is a visit the refill-due projection knows of from
then on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class Clinic(Protocol):
    """What ``simulate(..., clinic=)`` expects."""

    def start(self, desk: Desk) -> None:
        """Called once at t = 0, before anything runs."""

    def on_alarm(self, desk: Desk, alarm: str) -> None:
        """An alarm (its name) was just raised; ``desk.now_h`` is when."""

    def on_event(self, desk: Desk, event: Any) -> None:
        """A scenario or booked event (the model's) was just applied."""


class Desk:
    """What a reactive clinic sees, and how it books events."""

    __slots__ = ("_apply_at", "_now", "_reservoir_size", "duration_h")

    def __init__(
        self,
        duration_h: float,
        now: Callable[[], float],
        reservoir_size: Callable[[], float],
        apply_at: Callable[[float, Any], None],
    ) -> None:
        self.duration_h = duration_h
        self._now = now
        self._reservoir_size = reservoir_size
        self._apply_at = apply_at

    @property
    def now_h(self) -> float:
        """The simulated instant (h from the start)."""
        return self._now()

    @property
    def reservoir_ml(self) -> float:
        """The current pump's reservoir size (mL)."""
        return self._reservoir_size()

    def book(self, at_h: float, event: Any) -> None:
        """Apply an event (``pumpsim.model.setup``) at ``at_h`` (its own instant is ignored),
        after the scenario's events at that instant. Beyond the duration it is ignored; before
        now is an error."""
        now = self._now()
        if at_h < now:
            raise ValueError(f"cannot book an event in the past: at {at_h} h, now {now} h")
        if at_h <= self.duration_h:
            self._apply_at(at_h, event)
