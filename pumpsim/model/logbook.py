"""The two logs of a run: what the pump records, and what physically happened."""

from __future__ import annotations

from typing import Any


class Logbook:
    """``pump``: the device's own event log; ``physical``: what the pump cannot see."""

    __slots__ = ("physical", "pump")

    def __init__(self) -> None:
        self.pump: list[dict[str, Any]] = []
        self.physical: list[dict[str, Any]] = []

    def device(self, t_h: float, name: str, /, **details: Any) -> None:
        """Record an entry of the pump's own event log."""
        self.pump.append({"t_h": t_h, "event": name, **details})

    def world(self, t_h: float, name: str, /, **details: Any) -> None:
        """Record something that physically happened, which the pump cannot see."""
        self.physical.append({"t_h": t_h, "event": name, **details})
