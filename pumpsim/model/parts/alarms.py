"""The pump's alarms: raise/clear records, priorities and tones from the device profile.

Tones are derived from each alarm's interval (first tone when raised, then one every repeat
interval while it lasts), never scheduled as simulation events.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pumpsim.model.profile import DeviceProfile


@dataclass
class AlarmRecord:
    """One occurrence of an alarm, from raise to clear (``end_h`` None while still sounding)."""

    type: str
    priority: str
    start_h: float
    end_h: float | None
    tone: str
    tone_interval_h: float

    def tone_times(self, until_h: float) -> list[float]:
        """Instants (h) at which this alarm's tone sounds, up to its clear time or ``until_h``.

        Derived from the alarm's interval (first tone when raised, then one per repeat
        interval), never simulated as events; see also ``Result.tone_times``.
        """
        end = self.end_h if self.end_h is not None else until_h
        times = (self.start_h + i * self.tone_interval_h for i in range(self.tone_count(until_h)))
        return [t for t in times if t <= end]

    def tone_count(self, until_h: float) -> int:
        """How many times the tone sounds before the alarm clears (or ``until_h``)."""
        end = self.end_h if self.end_h is not None else until_h
        if end < self.start_h:
            return 0
        span = end - self.start_h
        # Tones at start, start+i, ...; a tone exactly at the clear instant does not sound.
        n = math.floor(span / self.tone_interval_h + 1e-9) + 1
        if (
            self.end_h is not None
            and n > 1
            and abs(self.start_h + (n - 1) * self.tone_interval_h - end) < 1e-9
        ):
            n -= 1
        return n

    def to_dict(self, until_h: float) -> dict:
        """The result-document form."""
        return {
            "type": self.type,
            "priority": self.priority,
            "start_h": self.start_h,
            "end_h": self.end_h,
            "tone": self.tone,
            "tone_interval_h": self.tone_interval_h,
            "tone_count": self.tone_count(until_h),
        }


class AlarmBook:
    """Which alarms are active, and the history of every occurrence."""

    def __init__(self, profile: DeviceProfile, critical_tone_interval_h: float) -> None:
        self.profile = profile
        self.critical_tone_interval_h = critical_tone_interval_h
        self.active: dict[str, AlarmRecord] = {}
        self.history: list[AlarmRecord] = []
        self._responses: frozenset[str] = frozenset()

    def set(self, name: str, on: bool, t_h: float) -> str | None:
        """Raise or clear; returns "raised"/"cleared" when the state changed, else None."""
        if on and name not in self.active:
            spec = self.profile.alarms[name]
            critical = spec.priority == "critical"
            rec = AlarmRecord(
                type=name,
                priority=spec.priority,
                start_h=t_h,
                end_h=None,
                tone=self.profile.critical_tone if critical else self.profile.noncritical_tone,
                tone_interval_h=(
                    self.critical_tone_interval_h
                    if critical
                    else self.profile.noncritical_tone_interval_h
                ),
            )
            self.active[name] = rec
            self.history.append(rec)
            self._changed()
            return "raised"
        if not on and name in self.active:
            self.active.pop(name).end_h = t_h
            self._changed()
            return "cleared"
        return None

    def _changed(self) -> None:
        alarms = self.profile.alarms
        self._responses = frozenset(alarms[name].response for name in self.active)

    def responses(self) -> frozenset[str]:
        """The pump responses in force (from the profile's alarm table)."""
        return self._responses

    def critical_active(self) -> bool:
        """Whether any critical alarm is sounding."""
        return any(rec.priority == "critical" for rec in self.active.values())
