"""The key moments of a run: each alarm's start and each safety flag's start, in plain words.

The figure marks them, the report's slider steps between them, and the quiz stops at them. One
list, read from the run's alarms and flags, so the three never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pumpsim.outputs.report.guidance import guidance


@dataclass(frozen=True)
class KeyMoment:
    """One alarm start or flag start."""

    t_h: float
    kind: str  # "alarm" or "flag"
    name: str  # the alarm's or the flag's type
    index: int  # its position in ``result.alarms`` or ``result.flags``
    label: str  # the words on the figure's marker ("withdrawal risk: silent")
    priority: str | None  # an alarm's priority; None for a flag
    silent: bool  # a withdrawal-risk flag raised with no critical alarm sounding


def is_silent(flag: Any) -> bool:
    """A withdrawal-risk flag raised while no critical alarm was sounding (contract section 4)."""
    return flag.type == "abrupt_discontinuation" and flag.alarmed is False


def marker_text(kind: str, name: str) -> str:
    """The marker words of an alarm or a flag type (``low-reservoir alarm``)."""
    entry = guidance()["alarms" if kind == "alarm" else "flags"].get(name)
    if entry and entry.get("marker"):
        return entry["marker"]
    return name.replace("_", " ") + (" alarm" if kind == "alarm" else "")


def flag_marker(flag: Any) -> str:
    """A flag's marker words, with ``: silent`` or ``: alarmed`` for a withdrawal-risk flag."""
    text = marker_text("flag", flag.type)
    if flag.type == "abrupt_discontinuation" and flag.alarmed is not None:
        text += ": silent" if flag.alarmed is False else ": alarmed"
    return text


def key_moments(result: Any) -> list[KeyMoment]:
    """Every alarm start and flag start, in time order (alarms before flags at one instant)."""
    out = [
        KeyMoment(a.start_h, "alarm", a.type, i, marker_text("alarm", a.type), a.priority, False)
        for i, a in enumerate(result.alarms)
    ]
    out.extend(
        KeyMoment(f.start_h, "flag", f.type, i, flag_marker(f), None, is_silent(f))
        for i, f in enumerate(result.flags)
    )
    return sorted(out, key=lambda m: (m.t_h, m.kind != "alarm", m.index))


def critical_alarm_from_h(flag_doc: dict[str, Any]) -> float | None:
    """When a critical alarm starts during a flag that was silent at onset, else None.

    ``alarmed`` is decided at the flag's start (contract section 4); the result document's
    ``time_to_critical_alarm_h`` says whether, and when, a critical alarm came later.
    """
    if flag_doc.get("type") != "abrupt_discontinuation" or flag_doc.get("alarmed") is not False:
        return None
    later = flag_doc.get("time_to_critical_alarm_h")
    if later is None or later <= 0:
        return None
    return float(flag_doc["start_h"]) + float(later)
