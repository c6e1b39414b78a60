"""What-if on a replayed history (contract section 11): ``--what-if 'miss 2025-12-15'``,
``'late 2025-12-15 10d'``, ``'accuracy +0.15 from 2025-06-01'``.

A change is made to the **reconstruction** (``reconstruction``): the model's Setup of the
recorded history with the fitted accuracy of every interval in place of ``accuracy: fit`` (the
fit's own Setup), so "what if this visit had been missed" runs the pump as it really behaved.
Changes are made to the Setup's events, the model's own; the recorded measurements play no part
(they describe the history that happened). A date names the visit on that calendar day (local
time, as every date of the scenario), or give its date-time.

- ``miss DATE``: the visit does not happen (its refill becomes a missed one; a programme set at
  the visit is not set). The pump keeps the accuracy it had before the visit until the next one.
- ``late DATE DURATION``: everything done at the visit happens that much later.
- ``accuracy A from DATE``: from that visit to the end the pump's accuracy is ``A`` (actual /
  programmed - 1, e.g. ``+0.15`` or ``+15%``) instead of the fitted values.

``differences`` compares two runs' alarms, flags and true-reservoir events: what appears and what
disappears.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any

from pumpsim.errors import ScenarioError
from pumpsim.model.clock import Clock
from pumpsim.model.setup import PumpReplacement, Refill, Reprogram, Setup
from pumpsim.model.units import DurationError, format_duration_h, parse_duration_h
from pumpsim.scenario import schema
from pumpsim.scenario.dates import InstantError, calendar_value, hours_on_clock
from pumpsim.scenario.resolve import setup_of
from pumpsim.studies.fit import fit

#: Two instants closer than this are the same visit (dates turned into hours carry float noise).
SAME_INSTANT_H = 1e-6
#: Two happenings of the same kind closer than this are the same one in both histories.
SAME_HAPPENING_H = 1.0 / 60.0
#: What is done at a visit: delayed or left out with it.
VISIT_EVENTS = (Refill, Reprogram, PumpReplacement)


@dataclass(frozen=True)
class WhatIf:
    """One change to a history, as written on the command line."""

    text: str
    kind: str  # miss | late | accuracy
    when: str  # the date or date-time naming the visit
    delay_h: float | None = None
    accuracy: float | None = None


_ACCURACY = re.compile(r"^([+-]?[0-9]+(?:\.[0-9]+)?)(%?)$")


def parse_what_if(text: str) -> WhatIf:
    """``miss DATE``, ``late DATE DURATION`` or ``accuracy A from DATE``. Raises ScenarioError."""
    words = text.split()
    usage = "use 'miss DATE', 'late DATE 10d' or 'accuracy +0.15 from DATE'"
    if len(words) == 2 and words[0] == "miss":
        return WhatIf(text, "miss", words[1])
    if len(words) == 3 and words[0] == "late":
        try:
            delay = parse_duration_h(words[2])
        except DurationError as exc:
            raise _option_error(text, str(exc)) from None
        if delay <= 0:
            raise _option_error(text, "the delay must be longer than zero")
        return WhatIf(text, "late", words[1], delay_h=delay)
    if len(words) == 4 and words[0] == "accuracy" and words[2] == "from":
        m = _ACCURACY.match(words[1])
        if not m:
            raise _option_error(text, f"{words[1]!r} is not an accuracy such as +0.15 or +15%")
        value = float(m.group(1)) / (100.0 if m.group(2) else 1.0)
        if not -1.0 < value <= 10.0:
            raise _option_error(text, "an accuracy is above -1 (-100 %) and at most 10")
        return WhatIf(text, "accuracy", words[3], accuracy=value)
    raise _option_error(text, usage)


def _option_error(text: str, message: str) -> ScenarioError:
    return ScenarioError(f"--what-if {text!r}: {message}")


def reconstruction(scenario: schema.ScenarioFile) -> Setup:
    """The recorded history as it really ran: the fit's Setup (every interval's fitted accuracy
    in place) for ``accuracy: fit``, else the scenario's own Setup."""
    if scenario.pump.accuracy == "fit":
        return fit(scenario).setup
    return setup_of(scenario)


def fills_accuracy(ev: Any) -> bool:
    """Whether an event fills the reservoir (a refill done, a new pump): a visit."""
    return (isinstance(ev, Refill) and not ev.missed) or isinstance(ev, PumpReplacement)


def visit_at(setup: Setup, when: str, what: str) -> float:
    """The instant of the visit (a refill that happened, or a new pump) named by ``when``."""
    clock = Clock.of(setup.start)
    visits = sorted({ev.at_h for ev in setup.events if fills_accuracy(ev)})
    try:
        instant = calendar_value(when)
    except InstantError as exc:
        raise _option_error(what, str(exc)) from None
    if instant is None:
        raise _option_error(what, f"{when!r} is not a date such as 2025-12-15")
    if re.fullmatch(r"\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\s*", when):
        found = [t for t in visits if clock.day(t) == instant.date().isoformat()]
    else:
        try:
            hours = hours_on_clock(instant, clock, text=when)
        except InstantError as exc:
            raise _option_error(what, str(exc)) from None
        found = [t for t in visits if abs(t - hours) <= SAME_INSTANT_H]
    if len(found) == 1:
        return found[0]
    listing = ", ".join(clock.date_time(t) for t in visits) or "none"
    if not found:
        raise _option_error(what, f"no visit on {when} (visits: {listing})")
    raise _option_error(what, f"{len(found)} visits on {when}: give the date-time ({listing})")


def _at_visit(ev: Any, t_h: float) -> bool:
    return isinstance(ev, VISIT_EVENTS) and abs(ev.at_h - t_h) <= SAME_INSTANT_H


def apply_what_if(setup: Setup, change: WhatIf) -> Setup:
    """The Setup with one change made. Raises ScenarioError."""
    t = visit_at(setup, change.when, change.text)
    if change.kind == "miss":
        kept = []
        for ev in setup.events:
            if not _at_visit(ev, t):
                kept.append(ev)
            elif isinstance(ev, Refill):
                kept.append(replace(ev, missed=True))
            # a programme set or a pump replaced at the missed visit does not happen
        return replace(setup, events=tuple(kept))
    if change.kind == "late":
        assert change.delay_h is not None
        new_t = t + change.delay_h
        if new_t > setup.duration_h + SAME_INSTANT_H:
            clock = Clock.of(setup.start)
            raise _option_error(
                change.text,
                f"the visit would come at {clock.label(new_t)}, after the end of the scenario "
                f"({clock.label(setup.duration_h)})",
            )
        moved = [replace(ev, at_h=new_t) if _at_visit(ev, t) else ev for ev in setup.events]
        # the model's events stay in time order (ties keep their order)
        return replace(setup, events=tuple(sorted(moved, key=lambda ev: ev.at_h)))
    assert change.accuracy is not None
    changed = [
        replace(ev, accuracy=change.accuracy)
        if fills_accuracy(ev) and ev.at_h >= t - SAME_INSTANT_H
        else ev
        for ev in setup.events
    ]
    return replace(setup, events=tuple(changed))


def what_if(scenario: schema.ScenarioFile, changes: list[WhatIf]) -> tuple[Setup, list[str]]:
    """The reconstruction of ``scenario`` with every change made, in order, and one line saying
    what each change did."""
    changed = reconstruction(scenario)
    said = []
    for change in changes:
        said.append(describe(change, changed))
        changed = apply_what_if(changed, change)
    return changed, said


@dataclass(frozen=True)
class Happening:
    """An alarm raised, a flag raised or the true reservoir running dry."""

    t_h: float
    key: tuple[str, ...]  # what it is, without when

    @property
    def text(self) -> str:
        """``ALARM low_reservoir (non-critical)``, ``FLAG abrupt_discontinuation (...)``."""
        head, *rest = self.key
        if head == "ALARM":
            return f"ALARM {rest[0]} ({rest[1].replace('_', '-')})"
        if head == "FLAG":
            bits = [b for b in rest[1:] if b]
            return f"FLAG {rest[0]}" + (f" ({', '.join(bits)})" if bits else "")
        return "TRUE RESERVOIR EMPTY (the pump cannot sense it)"


def happenings(run: Any) -> list[Happening]:
    """The alarms, flags and true-reservoir-empty events of a run's record, in time order."""
    found = [Happening(a.start_h, ("ALARM", a.type, a.priority)) for a in run.alarms]
    for f in run.flags:
        alarmed = "" if f.alarmed is None else ("alarmed" if f.alarmed else "SILENT")
        found.append(Happening(f.start_h, ("FLAG", f.type, f.cause or "", alarmed)))
    found += [
        Happening(e.t_h, ("EMPTY",)) for e in run.physical_log if e.event == "reservoir_empty"
    ]
    return sorted(found, key=lambda h: (h.t_h, h.key))


@dataclass(frozen=True)
class Difference:
    """A happening of one history that the other has not (at that time)."""

    happening: Happening
    appears: bool  # in the changed history only (else: in the recorded history only)


def differences(recorded: Any, changed: Any) -> list[Difference]:
    """What appears and what disappears from ``recorded`` to ``changed`` (two runs' records): a
    happening of the same kind within a minute in both is the same one."""
    before, after = happenings(recorded), happenings(changed)
    unmatched_after = list(after)
    gone: list[Happening] = []
    for h in before:
        twin = next(
            (
                a
                for a in unmatched_after
                if a.key == h.key and abs(a.t_h - h.t_h) <= SAME_HAPPENING_H
            ),
            None,
        )
        if twin is None:
            gone.append(h)
        else:
            unmatched_after.remove(twin)
    out = [Difference(h, False) for h in gone] + [Difference(h, True) for h in unmatched_after]
    return sorted(out, key=lambda d: (d.happening.t_h, not d.appears))


def describe(change: WhatIf, setup: Setup) -> str:
    """One line saying what a change does, for the printed table."""
    clock = Clock.of(setup.start)
    t = visit_at(setup, change.when, change.text)
    if change.kind == "miss":
        return f"the visit of {clock.date_time(t)} is missed"
    if change.kind == "late":
        assert change.delay_h is not None
        return (
            f"the visit of {clock.date_time(t)} comes {format_duration_h(change.delay_h)} "
            f"later, at {clock.date_time(t + change.delay_h)}"
        )
    assert change.accuracy is not None
    pct = change.accuracy * 100.0
    shown = f"{pct:+.1f} %" if math.isfinite(pct) else "-"
    return f"from the visit of {clock.date_time(t)} the pump's accuracy is {shown}"
