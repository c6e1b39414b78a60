"""The two logs of a run: what the pump records, and what physically happened."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class LogEntry:
    """One entry of a log: an instant, what happened, and its details."""

    t_h: float
    event: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The result-document form (``{"t_h": ..., "event": ..., **details}``)."""
        return {"t_h": self.t_h, "event": self.event, **self.details}


class Logbook:
    """``pump``: the device's own event log; ``physical``: what the pump cannot see."""

    __slots__ = ("physical", "pump")

    def __init__(self) -> None:
        self.pump: list[LogEntry] = []
        self.physical: list[LogEntry] = []

    def device(self, t_h: float, name: str, /, **details: Any) -> None:
        """Record an entry of the pump's own event log."""
        self.pump.append(LogEntry(t_h, name, details))

    def world(self, t_h: float, name: str, /, **details: Any) -> None:
        """Record something that physically happened, which the pump cannot see."""
        self.physical.append(LogEntry(t_h, name, details))
