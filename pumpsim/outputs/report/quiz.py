"""The report's quiz: at each alarm start and flag start, what does it mean and what do you do?

Each stop asks two multiple-choice questions. The right answer is the alarm's or flag's own
guidance (its one-sentence ``quiz`` form); the wrong ones are the guidance of other alarms and
flags; the full guidance text explains the answer. Choices are picked and ordered by a hash of
the scenario's name and the question, never by a random generator: same input, same page.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pumpsim.model.clock import Clock
from pumpsim.model.units import format_duration_h
from pumpsim.outputs.report.guidance import device_text, guidance
from pumpsim.outputs.report.moments import KeyMoment, key_moments

#: Choices per question: the right one and this many minus one from other guidance.
CHOICES = 4
_ASK = {
    "means": "What does it mean?",
    "todo": "What do you do?",
}


def _order(seed: str, items: list[str]) -> list[str]:
    """``items`` in a fixed order that depends on ``seed`` (a stable shuffle)."""
    return sorted(items, key=lambda s: hashlib.sha256(f"{seed}\x00{s}".encode()).hexdigest())


def _pool(part: str) -> dict[tuple[str, str], str]:
    """Every alarm's and flag's one-sentence answer to one question (``means`` or ``todo``)."""
    g = guidance()
    return {
        (section, name): " ".join(entry["quiz"][part].split())
        for section in ("alarms", "flags")
        for name, entry in g[section].items()
        if entry.get("quiz")
    }


def _prompt(result: Any, m: KeyMoment) -> str:
    """What happens at the stop, in words (the question's stem)."""
    clock = Clock.of(result.scenario.start)
    when = clock.label(m.t_h)
    if m.kind == "alarm":
        a = result.alarms[m.index]
        prio = a.priority.replace("_", "-")
        return (
            f"{when}: the {m.label} starts ({prio}: {a.tone}, every "
            f"{format_duration_h(a.tone_interval_h)})."
        )
    flag = result.flags[m.index]
    if flag.type == "abrupt_discontinuation" and flag.alarmed is False:
        return f"{when}: the {m.label.split(':')[0]} flag starts, and no critical alarm sounds."
    return f"{when}: the {m.label.split(':')[0]} flag starts."


def questions(result: Any) -> list[dict[str, Any]]:
    """One stop per key moment: ``t_h``, ``prompt`` and two questions, each with ``choices``,
    the index of the right ``answer`` and the ``explanation`` (the full guidance)."""
    g = guidance()
    profile = result.run.setup.profile
    stops = []
    for number, m in enumerate(key_moments(result)):
        section = "alarms" if m.kind == "alarm" else "flags"
        entry = g[section].get(m.name)
        if not entry or not entry.get("quiz"):
            continue
        asked = []
        for part in ("means", "todo"):
            pool = _pool(part)
            right = pool[(section, m.name)]
            seed = f"{result.scenario.name}|{number}|{part}"
            others = [text for key, text in pool.items() if key != (section, m.name)]
            others = [t for t in dict.fromkeys(others) if t != right]
            choices = _order(seed, [right, *_order(seed, others)[: CHOICES - 1]])
            asked.append(
                {
                    "ask": _ASK[part],
                    "choices": [device_text(c, profile) for c in choices],
                    "answer": choices.index(right),
                    "explanation": " ".join(device_text(entry[part], profile).split()),
                }
            )
        stops.append({"t_h": m.t_h, "prompt": _prompt(result, m), "questions": asked})
    return stops
