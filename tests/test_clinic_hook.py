"""The two hooks other parts code against: a reactive clinic, and a refill's measured accuracy."""

from __future__ import annotations

import pytest
from conftest import scenario_text
from hypothesis import HealthCheck, given, settings
from test_accounting import timelines

import pumpsim
from pumpsim.model.engine import Engine
from pumpsim.scenario.resolve import setup_of
from pumpsim.scenario.schema import (
    PumpReplacementEvent,
    RefillEvent,
    ReprogramEvent,
    Scenario,
    Therapy,
)

DAY = 24.0


class RefillWithAccuracy(RefillEvent):
    """What the schema's refill becomes on the clinic-log branch: an optional accuracy."""

    accuracy: float | None = None


class Recorder:
    """A clinic that books nothing by itself and records what it was told."""

    def __init__(self, plan=()):
        self.plan = list(plan)  # (at_h, event) booked at start
        self.calls = []

    def start(self, desk):
        self.calls.append(("start", desk.now_h, desk.reservoir_ml, desk.duration_h))
        for at_h, ev in self.plan:
            desk.book(at_h, ev)

    def on_alarm(self, desk, alarm):
        self.calls.append(("alarm", desk.now_h, alarm))

    def on_event(self, desk, event):
        self.calls.append(("event", desk.now_h, event.type))


def test_no_clinic_changes_nothing():
    sc = pumpsim.load_scenario("scenarios/missed-refill.yaml")
    assert pumpsim.simulate(sc, clinic=None).to_json() == pumpsim.simulate(sc).to_json()
    quiet = Recorder()
    assert pumpsim.simulate(sc, clinic=quiet).to_json() == pumpsim.simulate(sc).to_json()


def test_clinic_sees_start_events_and_alarms():
    # 400 mcg/day at 2000 mcg/mL = 0.2 mL/day from 20 mL: low alarm (2 mL) at day 90.
    sc = pumpsim.load_scenario_text(
        scenario_text(duration="100d")
        + "events:\n  - {at: 30d, type: bolus, dose_mcg: 50, duration: 1h}\n"
    )
    rec = Recorder()
    pumpsim.simulate(sc, clinic=rec)
    assert rec.calls[0] == ("start", 0.0, 20.0, 100 * DAY)
    assert ("event", 30 * DAY, "bolus") in rec.calls
    alarms = [c for c in rec.calls if c[0] == "alarm"]
    assert alarms[0][2] == "low_reservoir"
    assert alarms[0][1] == pytest.approx((18.0 - 50 / 2000) / 0.2 * DAY)


class RefillOnLowAlarm:
    """Books a 20 mL refill two days after each low-reservoir alarm."""

    def start(self, desk):
        pass

    def on_alarm(self, desk, alarm):
        if alarm == "low_reservoir":
            desk.book(desk.now_h + 2 * DAY, RefillEvent(at="0h", type="refill", volume_ml=20))

    def on_event(self, desk, event):
        pass


def test_reactive_refills_keep_the_pump_going():
    sc = pumpsim.load_scenario_text(scenario_text(duration="400d"))
    r = pumpsim.simulate(sc, clinic=RefillOnLowAlarm())
    # alarm at 90d, refill at 92d with 2 mL - 0.4 mL left; next alarm 90 days after that ...
    assert [x.at_h / DAY for x in r.run.refills] == pytest.approx([92.0, 184.0, 276.0, 368.0])
    assert r.run.refills[0].actual_residual_ml == pytest.approx(1.6)
    assert not [f for f in r.flags if f.type == "abrupt_discontinuation"]
    # each visit is booked only when the alarm sounds, after the projections (t = 0, refills)
    assert not [f for f in r.flags if f.type == "refill_due_after_empty"]
    assert sum(1 for e in r.run.pump_log if e.event == "refill") == 4


def test_booked_event_runs_after_scenario_events_at_the_same_instant():
    sc = pumpsim.load_scenario_text(
        scenario_text(duration="20d")
        + "events:\n  - {at: 10d, type: reprogram, therapy: {dose_mcg_per_day: 300}}\n"
    )
    booked = RefillEvent(at="0h", type="refill", volume_ml=20)
    rec = Recorder(plan=[(10 * DAY, booked)])
    r = pumpsim.simulate(sc, clinic=rec)
    log = [e.event for e in r.run.pump_log]
    assert log.index("programme_change") < log.index("refill")
    assert [c[2] for c in rec.calls if c[0] == "event"] == ["reprogram", "refill"]


def test_booking_beyond_the_end_is_ignored_and_the_past_refused():
    sc = pumpsim.load_scenario_text(scenario_text(duration="20d"))
    late = RefillEvent(at="0h", type="refill", volume_ml=20)
    r = pumpsim.simulate(sc, clinic=Recorder(plan=[(21 * DAY, late)]))
    assert r.run.refills == []

    class Past(Recorder):
        def on_event(self, desk, event):
            desk.book(desk.now_h - 1.0, late)

    sc2 = pumpsim.load_scenario_text(
        scenario_text(duration="20d") + "events:\n  - {at: 5d, type: refill, volume_ml: 20}\n"
    )
    with pytest.raises(ValueError, match="past"):
        Engine(setup_of(sc2), clinic=Past()).run()


def test_booked_replacement_changes_the_desk_reservoir():
    seen = []

    class Replace(Recorder):
        def on_event(self, desk, event):
            seen.append(desk.reservoir_ml)

    sc = pumpsim.load_scenario_text(scenario_text(duration="20d"))
    ev = PumpReplacementEvent(at="0h", type="pump_replacement", reservoir_ml=40, volume_ml=40)
    reprog = ReprogramEvent(at="0h", type="reprogram", therapy=Therapy(dose_mcg_per_day=400))
    r = pumpsim.simulate(sc, clinic=Replace(plan=[(5 * DAY, ev), (6 * DAY, reprog)]))
    assert seen == [40.0, 40.0]
    # 40 mL at day 5, 0.2 mL/day for 15 days
    assert r.run.final.reservoir_estimated_ml == pytest.approx(40 - 3.0)


def test_refill_accuracy_applies_from_that_visit_on():
    # 0.2 mL/day; at day 10 a refill to 20 mL measured at +50 %: 0.3 mL/day truly leaves.
    sc = pumpsim.load_scenario_text(scenario_text(duration="20d"))
    ev = RefillWithAccuracy(at="0h", type="refill", volume_ml=20, accuracy=0.5)
    r = pumpsim.simulate(sc, clinic=Recorder(plan=[(10 * DAY, ev)]))
    assert r.run.refills[0].discrepancy_ml == pytest.approx(0.0)  # past accuracy was 0
    assert r.run.final.reservoir_true_ml == pytest.approx(20 - 0.3 * 10)
    assert r.run.final.reservoir_estimated_ml == pytest.approx(20 - 0.2 * 10)
    change = [e for e in r.run.physical_log if e.event == "pump_accuracy"]
    assert [e.to_dict() for e in change] == [
        {"t_h": 240.0, "event": "pump_accuracy", "from_accuracy": 0.0, "to_accuracy": 0.5}
    ]
    # no accuracy given: the pump's accuracy is unchanged
    plain = RefillWithAccuracy(at="0h", type="refill", volume_ml=20)
    r2 = pumpsim.simulate(sc, clinic=Recorder(plan=[(10 * DAY, plain)]))
    assert r2.run.final.reservoir_true_ml == pytest.approx(18.0)


def test_missed_refill_keeps_the_accuracy():
    sc = pumpsim.load_scenario_text(scenario_text(duration="20d"))
    ev = RefillWithAccuracy(at="0h", type="refill", missed=True, accuracy=0.5)
    r = pumpsim.simulate(sc, clinic=Recorder(plan=[(10 * DAY, ev)]))
    assert r.run.final.reservoir_true_ml == pytest.approx(16.0)


def test_result_repr_is_one_short_line():
    r = pumpsim.simulate(pumpsim.load_scenario("scenarios/missed-refill.yaml"))
    text = repr(r)
    assert "\n" not in text and len(text) < 120
    assert text == "<Result 'missed-refill': 110d, 2 alarm(s), 1 flag(s), passed=True>"


class Replay:
    """Books a list of schema events at start: the clinic hook must apply them exactly as the
    scenario would."""

    def __init__(self, events):
        self.events = events

    def start(self, desk):
        for ev in self.events:
            desk.book(ev.at, ev)

    def on_alarm(self, desk, alarm):
        pass

    def on_event(self, desk, event):
        pass


def _shipped():
    from conftest import SCENARIOS

    out = []
    for path in sorted(SCENARIOS.glob("*.yaml")):
        sc = pumpsim.load_scenario(path)
        if sc.events and not any(ev.type == "refill" for ev in sc.events):
            out.append(path)
    return out


@pytest.mark.parametrize("path", _shipped(), ids=lambda p: p.stem)
def test_booked_events_do_what_scenario_events_do(path):
    # (refills are left out: a replayed refill is known only once booked, not from t = 0)
    sc = pumpsim.load_scenario(path)
    as_scenario = pumpsim.simulate(sc).to_dict()
    booked = [ev for _, ev in sc.sorted_events()]
    as_booked = pumpsim.simulate(sc.with_values({"events": []}), clinic=Replay(booked)).to_dict()
    for key in ("alarms", "flags", "totals", "final", "pump_log", "physical_log", "series",
                "engine_events", "expectations"):  # fmt: skip
        assert as_booked[key] == as_scenario[key], key


def test_an_event_booked_for_the_very_end_is_applied():
    from pumpsim.scenario.schema import BolusEvent

    class AtTheEnd(Recorder):
        def on_event(self, desk, event):
            if event.type == "mri":
                desk.book(
                    desk.duration_h, BolusEvent(at="0h", type="bolus", dose_mcg=5, duration="1h")
                )

    sc = pumpsim.load_scenario_text(
        scenario_text(duration="20d") + "events:\n  - {at: 5d, type: mri, duration: 1h}\n"
    )
    r = pumpsim.simulate(sc, clinic=AtTheEnd())
    started = [e.t_h for e in r.run.pump_log if e.event == "clinician_bolus_started"]
    assert started == [20 * DAY]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(timelines())
def test_booked_events_do_what_scenario_events_do_on_random_timelines(raw):
    raw = dict(raw, events=[ev for ev in raw["events"] if ev["type"] != "refill"])
    sc = Scenario.from_dict(raw)
    as_scenario = pumpsim.simulate(sc).to_dict()
    booked = [ev for _, ev in sc.sorted_events()]
    as_booked = pumpsim.simulate(sc.with_values({"events": []}), clinic=Replay(booked)).to_dict()
    for key in ("alarms", "flags", "totals", "final", "pump_log", "physical_log", "series",
                "engine_events"):  # fmt: skip
        assert as_booked[key] == as_scenario[key], key
