"""The engine's clinic hook: ``simulate(scenario, clinic=...)`` and ``Engine(setup_of(scenario), clinic=...)``.

Hand-computed: 400 mcg/day at 2000 mcg/mL is 0.2 mL/day, so a full 20 mL reservoir reaches the
2 mL low-reservoir alarm after 90 days and the 0.5 mL empty alarm after 97.5 days.
"""

from __future__ import annotations

import textwrap

import pytest
from conftest import alarm_starts, flags_of, scenario_text

import pumpsim
from pumpsim.model.engine import Engine
from pumpsim.scenario import schema
from pumpsim.scenario.resolve import setup_of

DAY = 24.0


def _scenario(**kw) -> schema.ScenarioFile:
    return pumpsim.load_scenario_text(textwrap.dedent(scenario_text(**kw)))


class Recorder:
    """A clinic that records every call and books what it is told to."""

    def __init__(self, on_start=(), on_alarm=None, on_event=None) -> None:
        self.calls: list[tuple] = []
        self._start = list(on_start)
        self._on_alarm = on_alarm
        self._on_event = on_event

    def start(self, desk) -> None:
        self.calls.append(("start", desk.now_h, desk.reservoir_ml, desk.duration_h))
        for at_h, ev in self._start:
            desk.book(at_h, ev)

    def on_alarm(self, desk, alarm: str) -> None:
        self.calls.append(("alarm", desk.now_h, alarm))
        if self._on_alarm:
            self._on_alarm(desk, alarm)

    def on_event(self, desk, event) -> None:
        self.calls.append(("event", desk.now_h, event.type))
        if self._on_event:
            self._on_event(desk, event)


def refill(volume_ml: float = 20.0, missed: bool = False) -> schema.RefillEvent:
    return schema.RefillEvent(type="refill", at="0h", volume_ml=volume_ml, missed=missed)


def test_no_clinic_changes_nothing():
    sc = _scenario(duration="120d")
    plain = pumpsim.simulate(sc).to_dict()
    hooked = pumpsim.simulate(sc, clinic=None).to_dict()
    assert plain == hooked
    assert (
        Engine(setup_of(sc)).run().engine_events
        == Engine(setup_of(sc), clinic=None).run().engine_events
    )


def test_start_is_called_once_at_zero_with_the_desk():
    rec = Recorder()
    pumpsim.simulate(_scenario(duration="10d", reservoir=40), clinic=rec)
    assert rec.calls == [("start", 0.0, 40.0, 10 * DAY)]


def test_alarm_is_reported_at_its_instant():
    rec = Recorder()
    pumpsim.simulate(_scenario(duration="100d"), clinic=rec)
    alarms = [c for c in rec.calls if c[0] == "alarm"]
    assert alarms == [
        ("alarm", pytest.approx(90 * DAY), "low_reservoir"),
        ("alarm", pytest.approx(97.5 * DAY), "empty_reservoir"),
    ]


def test_booked_refill_acts_like_a_scenario_refill():
    booked = Recorder(on_start=[(50 * DAY, refill())])
    via_hook = pumpsim.simulate(_scenario(duration="150d"), clinic=booked)
    in_file = pumpsim.simulate(
        _scenario(duration="150d", extra="events: [{at: 50d, type: refill, volume_ml: 20}]")
    )
    # Refilled to 20 mL at day 50: the low-reservoir alarm moves from day 90 to day 140.
    assert alarm_starts(via_hook, "low_reservoir") == pytest.approx([140 * DAY])
    assert via_hook.to_dict()["refills"] == in_file.to_dict()["refills"]
    assert via_hook.to_dict()["alarms"] == in_file.to_dict()["alarms"]
    assert ("event", 50 * DAY, "refill") in booked.calls


def test_event_at_is_ignored_and_beyond_the_end_is_dropped():
    ev = schema.RefillEvent(type="refill", at="5d", volume_ml=20)
    rec = Recorder(on_start=[(50 * DAY, ev), (500 * DAY, refill())])
    result = pumpsim.simulate(_scenario(duration="100d"), clinic=rec)
    assert [r["at_h"] for r in result.to_dict()["refills"]] == [50 * DAY]


def test_booking_in_the_past_is_an_error():
    def late(desk, alarm):
        desk.book(desk.now_h - 1.0, refill())

    with pytest.raises(ValueError, match="past"):
        pumpsim.simulate(_scenario(duration="100d"), clinic=Recorder(on_alarm=late))


def test_alarm_can_book_a_visit_that_clears_it():
    def come_in(desk, alarm):
        if alarm == "low_reservoir":
            desk.book(desk.now_h + 2 * DAY, refill())

    result = pumpsim.simulate(_scenario(duration="200d"), clinic=Recorder(on_alarm=come_in))
    # Alarm at 90 d, refill at 92 d (20 mL), next alarm 90 d later at 182 d, refill at 184 d.
    assert alarm_starts(result, "low_reservoir") == pytest.approx([90 * DAY, 182 * DAY])
    lra = [a for a in result.alarms if a.type == "low_reservoir"]
    assert lra[0].end_h == pytest.approx(92 * DAY)
    assert alarm_starts(result, "empty_reservoir") == []


def test_booked_events_run_after_scenario_events_at_the_same_instant():
    order: list[str] = []

    class Clinic(Recorder):
        def on_event(self, desk, event):
            order.append(f"{event.type}:{getattr(event, 'volume_ml', '')}")

    sc = _scenario(duration="100d", extra="events: [{at: 50d, type: refill, volume_ml: 10}]")
    clinic = Clinic(on_start=[(50 * DAY, refill(15.0))])
    result = pumpsim.simulate(sc, clinic=clinic)
    assert order == ["refill:10.0", "refill:15.0"]
    # The later (booked) refill wins: 15 mL at day 50 reaches 2 mL at day 115 (beyond the end).
    assert result.to_dict()["final"]["reservoir_estimated_ml"] == pytest.approx(15 - 0.2 * 50)


def test_on_event_sees_alarms_settled_and_may_book_at_now():
    seen: list[tuple] = []

    def after(desk, event):
        if event.type == "pump_replacement":
            seen.append(desk.now_h)
            desk.book(desk.now_h, refill(10.0))

    replacement = schema.PumpReplacementEvent(type="pump_replacement", at="0h", volume_ml=20)
    rec = Recorder(on_start=[(30 * DAY, replacement)], on_event=after)
    result = pumpsim.simulate(_scenario(duration="60d"), clinic=rec)
    assert seen == [30 * DAY]
    assert [r["at_h"] for r in result.to_dict()["refills"]] == [30 * DAY]
    assert result.to_dict()["final"]["reservoir_estimated_ml"] == pytest.approx(10 - 0.2 * 30)


def test_booked_fault_and_repair_raise_the_flag_like_scenario_events():
    fault = schema.CatheterFaultEvent(type="catheter_fault", at="0h", kind="disconnection")
    repair = schema.CatheterRepairEvent(type="catheter_repair", at="0h")
    rec = Recorder(on_start=[(10 * DAY, fault), (15 * DAY, repair)])
    via_hook = pumpsim.simulate(_scenario(duration="30d"), clinic=rec)
    in_file = pumpsim.simulate(
        _scenario(
            duration="30d",
            extra="""
            events:
              - {at: 10d, type: catheter_fault, kind: disconnection}
              - {at: 15d, type: catheter_repair}
            """,
        )
    )
    got = [
        (f.start_h, f.end_h, f.cause, f.alarmed)
        for f in flags_of(via_hook, "abrupt_discontinuation")
    ]
    want = [
        (f.start_h, f.end_h, f.cause, f.alarmed)
        for f in flags_of(in_file, "abrupt_discontinuation")
    ]
    assert got == want and got and got[0][2] == "catheter" and got[0][3] is False


def test_booked_refill_counts_as_the_next_visit_for_refill_due_after_empty():
    # At t = 0 the empty alarm is projected for day 97.5; a visit booked for day 120 is late.
    rec = Recorder(on_start=[(120 * DAY, refill())])
    result = pumpsim.simulate(_scenario(duration="130d"), clinic=rec)
    due = flags_of(result, "refill_due_after_empty")
    assert [(f.start_h, f.end_h) for f in due] == [(0.0, 120 * DAY)]
