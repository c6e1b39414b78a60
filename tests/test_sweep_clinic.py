"""The synthetic clinic on hand-checked patients.

Every patient here takes 400 mcg/day at 2000 mcg/mL = 0.2 mL/day from a full 20 mL pump: the
low-reservoir alarm (2 mL) comes 90 days after a fill, the empty-reservoir alarm (0.5 mL) 97.5
days after it.
"""

from __future__ import annotations

import itertools

import pytest
from conftest import scenario_text

import pumpsim
from pumpsim.model.engine import Engine
from pumpsim.scenario.faults import SettingsError, resolve_faults
from pumpsim.scenario.profiles import load_device_profile
from pumpsim.scenario.resolve import setup_of
from pumpsim.studies.sweep.clinic import AlarmDate, SyntheticClinic, resolve_clinic
from pumpsim.studies.sweep.streams import PatientStreams

DAY = 24.0
PROFILE = load_device_profile("synchromed-ii")
QUIET = {
    "catheter": {"rate_per_year": 0},
    "motor_stall": {"rate_per_year": 0},
    "pump_fault": {"rate_per_year": 0},
    "pocket_fill": {"per_refill": 0},
}


def simulate(clinic=None, faults=None, duration="250d", seed=1, accuracy=0.0):
    policy = None if clinic is None else resolve_clinic(clinic, PROFILE)
    model = None if faults is None else resolve_faults({**QUIET, **faults}, PROFILE)
    sc = pumpsim.load_scenario_text(
        scenario_text(duration=duration, pump_extra=f"accuracy: {accuracy}")
    )
    desk_clinic = SyntheticClinic(
        policy,
        model,
        PatientStreams(seed, 0),
        0.0,
        alarm_after_fill_h=AlarmDate(setup_of(sc)),
        pump_accuracy=sc.pump.accuracy,
    )
    run = Engine(setup_of(sc), clinic=desk_clinic).run()
    return run, desk_clinic.tally


def refill_days(run, missed=False):
    return [r.at_h / DAY for r in run.refills if r.missed is missed]


def alarm_days(run, name):
    return [a.start_h / DAY for a in run.alarms if a.type == name]


def test_routine_refills_every_interval_from_the_last_visit():
    run, tally = simulate({"refill_every": "30d", "late_by": "never", "missed_probability": 0})
    assert refill_days(run) == pytest.approx([30, 60, 90, 120, 150, 180, 210, 240])
    assert tally.refills == 8 and run.alarms == []


def test_alarm_visit_after_low_reservoir_keeps_the_booked_appointment():
    run, tally = simulate(
        {
            "refill_every": "100d",
            "late_by": "never",
            "missed_probability": 0,
            "alarm_visit_after": "2d",
        }
    )
    # LRA at day 90 -> alarm visit day 92; the day-100 appointment is kept (top-up); the next
    # appointment is 100 days after it; the LRA comes again 90 days after the day-100 fill.
    assert alarm_days(run, "low_reservoir") == pytest.approx([90, 190])
    assert refill_days(run) == pytest.approx([92, 100, 192, 200])
    assert alarm_days(run, "empty_reservoir") == []
    assert tally.alarm_visits == 2
    assert [f for f in run.flags if f.type == "abrupt_discontinuation"] == []


def test_no_alarm_visit_when_the_appointment_comes_first():
    run, tally = simulate(
        {
            "refill_every": "91d",
            "late_by": "never",
            "missed_probability": 0,
            "alarm_visit_after": "2d",
        },
        duration="120d",
    )
    assert alarm_days(run, "low_reservoir") == pytest.approx([90])
    assert refill_days(run) == pytest.approx([91])
    assert tally.alarm_visits == 0


def test_missed_visits_are_retried_one_interval_later():
    run, tally = simulate(
        {
            "refill_every": "40d",
            "late_by": "never",
            "missed_probability": 1.0,
            "alarm_visit_after": "2d",
        },
        duration="210d",
    )
    assert refill_days(run, missed=True) == pytest.approx([40, 80, 120, 160, 200])
    # only the alarm visits refill: day 92 (LRA at 90), day 184 (LRA 90 days after day 92)
    assert refill_days(run) == pytest.approx([92, 184])
    assert tally.missed_refills == 5


def test_without_alarm_visits_the_reservoir_runs_dry_with_an_alarmed_flag():
    run, _ = simulate(
        {
            "refill_every": "150d",
            "late_by": "never",
            "missed_probability": 0,
            "alarm_visit_after": "never",
        },
        duration="160d",
    )
    flags = [f for f in run.flags if f.type == "abrupt_discontinuation"]
    assert alarm_days(run, "empty_reservoir") == pytest.approx([97.5])
    assert flags and flags[0].cause == "minimum_rate" and flags[0].alarmed is True
    assert refill_days(run) == pytest.approx([150])


def test_alarm_date_projection():
    sc = pumpsim.load_scenario_text(scenario_text(pump_extra="low_reservoir_alarm_ml: 1.0"))
    date = AlarmDate(setup_of(sc))
    assert date(20.0, 0.0) == pytest.approx(95 * DAY) and date(0.5, 0.0) == 0.0
    assert date(20.0, 30 * DAY) == pytest.approx(95 * DAY)  # hours from the fill


def test_visits_booked_before_the_alarm_date():
    # the programmer's alarm date is 90 days after a full fill: book 7 days before it
    run, _ = simulate(
        {
            "refill_every": "100d",
            "late_by": "never",
            "missed_probability": 0,
            "book_before_alarm": "7d",
            "alarm_visit_after": "never",
        }
    )
    assert refill_days(run) == pytest.approx([83, 166, 249])
    assert run.alarms == []
    # a sooner drawn interval stands
    run, _ = simulate(
        {
            "refill_every": "60d",
            "late_by": "never",
            "missed_probability": 0,
            "book_before_alarm": "7d",
        }
    )
    assert refill_days(run) == pytest.approx([60, 120, 180, 240])


def test_missed_visit_retry_is_not_capped_by_the_alarm_date():
    run, _ = simulate(
        {
            "refill_every": "100d",
            "late_by": "never",
            "missed_probability": 1.0,
            "book_before_alarm": "7d",
            "alarm_visit_after": "2d",
        }
    )
    assert refill_days(run, missed=True) == pytest.approx([83, 183])
    # LRA at 90 -> alarm visit at 92. The next LRA (day 182) is followed by the appointment of
    # day 183, sooner than an alarm visit, so none is booked; it is missed, the empty alarm
    # sounds at 189.5 and brings the patient in at 191.5.
    assert refill_days(run) == pytest.approx([92, 191.5])


def test_lateness_is_added_to_the_interval():
    run, _ = simulate(
        {"refill_every": "30d", "late_by": {"fixed": "2d"}, "missed_probability": 0},
        duration="100d",
    )
    assert refill_days(run) == pytest.approx([32, 64, 96])


def test_refill_intervals_below_a_day_are_drawn_again():
    run, _ = simulate(
        {
            "refill_every": {"normal": {"mean": "2d", "sd": "3d"}},
            "late_by": "never",
            "missed_probability": 0,
        },
        duration="60d",
    )
    days = [0.0, *refill_days(run)]
    assert min(b - a for a, b in itertools.pairwise(days)) >= 1.0


def test_silent_catheter_fault_is_repaired_after_repair_after():
    run, tally = simulate(
        {"refill_every": "30d", "late_by": "never", "missed_probability": 0},
        faults={
            "catheter": {
                "rate_per_year": 3.0,
                "kinds": {"disconnection": 1},
                "repair_after": {"fixed": "5d"},
            }
        },
        duration="365d",
    )
    faults = [e.t_h for e in run.physical_log if e.event == "catheter_fault"]
    repairs = [e.t_h for e in run.physical_log if e.event == "catheter_repair"]
    assert tally.catheter_faults == len(faults) >= 2
    assert repairs[: len(faults)] == pytest.approx([t + 5 * DAY for t in faults][: len(repairs)])
    flags = [f for f in run.flags if f.type == "abrupt_discontinuation"]
    assert flags and all(f.cause == "catheter" and f.alarmed is False for f in flags)
    # the silent flag lasts until the repair
    assert flags[0].end_h == pytest.approx(faults[0] + 5 * DAY, abs=3.0)


def test_pump_alarms_bring_a_new_pump():
    run, tally = simulate(
        {
            "refill_every": "30d",
            "late_by": "never",
            "missed_probability": 0,
            "alarm_visit_after": "2d",
        },
        faults={"motor_stall": {"rate_per_year": 4.0}},
        duration="365d",
    )
    stalls = alarm_days(run, "motor_stall")
    replaced = [e.t_h / DAY for e in run.pump_log if e.event == "pump_replacement"]
    assert len(stalls) >= 2 and tally.motor_stalls == len(stalls)
    assert replaced[: len(stalls)] == pytest.approx([d + 2 for d in stalls][: len(replaced)])
    ends = [a.end_h / DAY for a in run.alarms if a.type == "motor_stall"]
    assert ends[0] == pytest.approx(stalls[0] + 2)
    flags = [f for f in run.flags if f.type == "abrupt_discontinuation"]
    assert flags[0].cause == "motor_stall" and flags[0].alarmed is True


def test_new_pump_keeps_the_patients_accuracy():
    run, _ = simulate(
        {
            "refill_every": "30d",
            "late_by": "never",
            "missed_probability": 0,
            "alarm_visit_after": "2d",
        },
        faults={"motor_stall": {"rate_per_year": 4.0}},
        duration="365d",
        accuracy=0.1,
    )
    replaced = [e.t_h for e in run.pump_log if e.event == "pump_replacement"]
    assert replaced
    # 30 days after a refill at 0.2 mL/day x 1.1 the true reservoir holds 20 - 6.6 = 13.4 mL
    later = [r for r in run.refills if r.at_h > replaced[0] + 30 * DAY and not r.missed]
    assert later and any(r.discrepancy_ml == pytest.approx(-0.6) for r in later)


def test_pocket_fill_is_found_and_refilled():
    run, tally = simulate(
        {"refill_every": "30d", "late_by": "never", "missed_probability": 0},
        faults={
            "pocket_fill": {
                "per_refill": 1.0,
                "fraction": {"fixed": 0.5},
                "found_after": {"fixed": "1d"},
            }
        },
        duration="31d12h",  # the third visit (day 32) falls after the end,
    )
    refills = [r for r in run.refills if not r.missed]
    assert [r.at_h / DAY for r in refills] == pytest.approx([30, 31])
    assert refills[0].pocket_ml == pytest.approx(10.0)
    assert tally.pocket_fills == 2
    assert any(f.type == "overdose_risk" and f.cause == "pocket_fill" for f in run.flags)


def test_same_patient_same_draws_whatever_the_grid_point():
    a, _ = simulate({"missed_probability": 0.2}, faults={"catheter": {"rate_per_year": 1.0}})
    b, _ = simulate({"missed_probability": 0.2}, faults={"catheter": {"rate_per_year": 1.0}})
    assert refill_days(a) == refill_days(b)
    c, _ = simulate(
        {"missed_probability": 0.2}, faults={"catheter": {"rate_per_year": 1.0}}, seed=2
    )
    assert refill_days(a) != refill_days(c)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"refill_every": "12h"}, "at least 1d"),
        ({"refill_to": "half"}, "refill_to"),
        ({"missed_probability": 2}, "probability"),
        ({"refill_evry": "30d"}, "unknown key"),
        ({"late_by": {"normal": {"mean": 3, "sd": 1}}}, "duration"),
        ({"book_before_alarm": 7}, "bare number"),
    ],
)
def test_bad_clinic_settings(raw, message):
    with pytest.raises(SettingsError, match=message):
        resolve_clinic(raw, PROFILE)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"catheter": {"model": "gold"}}, "unknown catheter model"),
        ({"catheter": {"kinds": {"snapped": 1}}}, "unknown kind"),
        ({"catheter": {"rate_per_year": -1}}, ">= 0"),
        ({"pump_fault": {"kinds": {"eos": 1}}}, "unknown kind"),
        ({"pocket_fill": {"per_refill": 1.5}}, "<= 1"),
        ({"lightning": {}}, "unknown fault stream"),
        ({"catheter": {"delivered_fraction": {"occlusion": {"fixed": 0.5}}}}, "only kink and leak"),
    ],
)
def test_bad_fault_settings(raw, message):
    with pytest.raises(SettingsError, match=message):
        resolve_faults(raw, PROFILE)
