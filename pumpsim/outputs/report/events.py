"""Scenario events as people read them: a marker style for figures and a sentence for reports."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from pumpsim.model.units import format_duration_h


@dataclass(frozen=True)
class EventKind:
    """How one kind of event is drawn and named."""

    key: str
    label: str
    marker: str
    color: str


#: Every kind of event a figure marks, in the order the figure lists them (top to bottom).
EVENT_KINDS: tuple[EventKind, ...] = (
    EventKind("refill", "refill", "v", "#1565c0"),
    EventKind("missed_refill", "missed refill", "X", "#c62828"),
    EventKind("reprogram", "reprogramming", "s", "#6a1b9a"),
    EventKind("bolus", "clinician bolus", "^", "#00838f"),
    EventKind("ptm_bolus", "patient bolus (PTM)", "2", "#00838f"),
    EventKind("catheter_fault", "catheter fault", "D", "#d84315"),
    EventKind("catheter_repair", "catheter repair", "P", "#2e7d32"),
    EventKind("mri", "MRI (motor stops)", "o", "#4e342e"),
    EventKind("motor_stall", "motor stall", "8", "#4e342e"),
    EventKind("pump_fault", "pump fault", "*", "#b71c1c"),
    EventKind("pump_replacement", "pump replacement", "h", "#2e7d32"),
)
_BY_KEY = {k.key: k for k in EVENT_KINDS}


def kind_of(event: Any) -> EventKind:
    """The kind of a scenario event (a missed refill is its own kind)."""
    if event.type == "refill" and getattr(event, "missed", False):
        return _BY_KEY["missed_refill"]
    return _BY_KEY.get(event.type, EventKind(event.type, event.type.replace("_", " "), "o", "k"))


def figure_events(result: Any) -> list[Any]:
    """The scenario's events, plus the catheter faults (and their repairs) that the run's
    record holds and the scenario does not list: those drawn by fault streams."""
    events = list(result.scenario.events)
    listed = {(e.type, e.at) for e in events}
    for span in result.run.catheter_faults:
        if ("catheter_fault", span.start_h) not in listed:
            events.append(SimpleNamespace(type="catheter_fault", at=span.start_h))
        if span.ended_by == "repair" and ("catheter_repair", span.end_h) not in listed:
            events.append(SimpleNamespace(type="catheter_repair", at=span.end_h))
    return sorted(events, key=lambda e: e.at)


def _therapy(therapy: Any) -> str:
    if therapy is None:
        return ""
    if therapy.mode == "flex":
        return f"a flex programme of {therapy.daily_dose_mcg:g} mcg/day"
    return f"{therapy.daily_dose_mcg:g} mcg/day continuous"


def describe(event: Any) -> str:
    """One plain sentence for a scenario event (without its time)."""
    t = event.type
    if t == "refill":
        if event.missed:
            return "Refill visit missed: nothing is withdrawn or injected."
        bits = [f"Refill with {event.volume_ml:g} mL"]
        if event.concentration_mcg_per_ml is not None:
            bits.append(f"at {event.concentration_mcg_per_ml:g} mcg/mL")
        if event.concentration_mcg_per_ml is not None and not event.update_pump_concentration:
            bits.append("(the pump is NOT told the new concentration)")
        if event.pocket_fraction:
            bits.append(f"({event.pocket_fraction:.0%} injected into the pocket by mistake)")
        if event.bridge_bolus:
            bits.append("with a bridge bolus")
        if event.therapy is not None:
            bits.append(f"and a new programme: {_therapy(event.therapy)}")
        return " ".join(bits) + "."
    if t == "reprogram":
        return f"Reprogrammed to {_therapy(event.therapy)}."
    if t == "bolus":
        return (
            f"Clinician bolus of {event.dose_mcg:g} mcg over {format_duration_h(event.duration)}."
        )
    if t == "ptm_bolus":
        return "The patient asks for a bolus with the therapy manager (PTM)."
    if t == "catheter_fault":
        share = (
            ""
            if event.delivered_fraction is None
            else f", {event.delivered_fraction:.0%} of the flow still reaches the spinal fluid"
        )
        lasting = (
            "until repaired"
            if event.duration is None
            else f"for {format_duration_h(event.duration)}"
        )
        return f"Catheter {event.kind}{share}, {lasting}. The pump cannot detect it."
    if t == "catheter_repair":
        return "The catheter is repaired."
    if t == "mri":
        delay = (
            f", and it takes another {format_duration_h(event.recovery_delay)} to restart"
            if event.recovery_delay
            else ""
        )
        stop = format_duration_h(event.duration)
        return f"MRI scan: the magnet stops the motor for {stop}{delay}."
    if t == "motor_stall":
        lasting = (
            "for good" if event.duration is None else f"for {format_duration_h(event.duration)}"
        )
        return f"The motor stalls {lasting}."
    if t == "pump_fault":
        return f"Pump fault: {event.kind.replace('_', ' ')}."
    if t == "pump_replacement":
        return f"The pump is replaced (new battery), filled with {event.volume_ml:g} mL."
    return t.replace("_", " ") + "."
