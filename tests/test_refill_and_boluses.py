"""The full refill procedure and boluses (contract 3.5, events table; issue #4)."""

import pytest
from conftest import flags_of, run, scenario_text


def test_refill_records_discrepancy_and_flags_it_when_large():
    r = run(
        scenario_text(
            duration="60d",
            pump_extra="accuracy: 0.1",
            extra="""
        events:
          - {at: 50d, type: refill, volume_ml: 20}
    """,
        )
    )
    refill = r.run.refills[0]
    # the pump expects 10 mL; 11 mL left the reservoir: 9 mL withdrawn
    assert refill.expected_residual_ml == pytest.approx(10.0)
    assert refill.actual_residual_ml == pytest.approx(9.0)
    assert refill.discrepancy_ml == pytest.approx(-1.0)
    assert not flags_of(r, "refill_discrepancy")  # exactly 1 mL is not more than 1 mL
    r = run(
        scenario_text(
            duration="60d",
            pump_extra="accuracy: 0.12",
            extra="""
        events:
          - {at: 50d, type: refill, volume_ml: 20}
    """,
        )
    )
    (flag,) = flags_of(r, "refill_discrepancy")
    assert flag.cause == "less_than_expected"
    assert flag.details["discrepancy_ml"] == pytest.approx(-1.2)
    assert flag.start_h == flag.end_h == 50 * 24


def test_discrepancy_limit_is_2ml_for_a_40ml_pump():
    r = run(
        scenario_text(
            duration="60d",
            reservoir=40,
            pump_extra="accuracy: -0.15",
            extra="""
        events:
          - {at: 50d, type: refill, volume_ml: 40}
    """,
        )
    )
    assert r.run.refills[0].discrepancy_ml == pytest.approx(1.5)
    assert not flags_of(r, "refill_discrepancy")


def test_missed_refill_changes_nothing_and_is_logged():
    r = run(
        scenario_text(
            duration="60d",
            extra="""
        events:
          - {at: 50d, type: refill, volume_ml: 20, missed: true, therapy: {dose_mcg_per_day: 100}}
        expect:
          - {reservoir_estimated_ml: 8.0, at: 60d, tolerance: 1.0e-9}
    """,
        )
    )
    assert r.passed
    assert [rec.to_dict() for rec in r.run.refills] == [
        {
            "at_h": 1200.0,
            "missed": True,
            "expected_residual_ml": None,
            "actual_residual_ml": None,
            "discrepancy_ml": None,
        }
    ]
    assert any(e.event == "refill_missed" for e in r.run.pump_log)


def test_pocket_fill_goes_outside_and_raises_overdose_risk():
    r = run(
        scenario_text(
            duration="60d",
            extra="""
        events:
          - {at: 10d, type: refill, volume_ml: 20, pocket_fraction: 0.25}
        expect:
          - {reservoir_true_ml: 15.0, at: 10d, tolerance: 1.0e-9}
          - {reservoir_estimated_ml: 20.0, at: 10d, tolerance: 1.0e-9}
    """,
        )
    )
    assert r.passed, r.outcomes
    (flag,) = flags_of(r, "overdose_risk")
    assert flag.cause == "pocket_fill" and flag.details["pocket_mcg"] == pytest.approx(10000.0)
    assert r.run.totals.pocket_mcg == pytest.approx(10000.0)
    # the flag spans the profile's pocket_fill_watch (24 h, assumed), not an instant
    assert (flag.start_h, flag.end_h) == (240.0, 264.0)


def test_pocket_fill_watch_still_running_at_the_end_leaves_the_flag_open():
    r = run(
        scenario_text(
            duration="10d12h",
            extra="events: [{at: 10d, type: refill, volume_ml: 20, pocket_fraction: 0.1}]\n",
        )
    )
    (flag,) = flags_of(r, "overdose_risk")
    assert (flag.start_h, flag.end_h) == (240.0, None)


def test_pocket_fill_at_an_alarm_visit_is_silent_the_refill_cleared_the_alarm():
    # The reservoir runs empty (critical alarm) and the refill that answers it puts half its
    # volume in the pocket: the fill clears the alarm first and no alarm sees a pocket, so the
    # overdose flag is silent (review D1: the sweep's risk table credited an alarm with it).
    text = """
name: pocket-at-alarm-visit
duration: 120d
pump: {reservoir_ml: 20}
drug: {concentration_mcg_per_ml: 2000}
therapy: {dose_mcg_per_day: 400}
events:
  - {at: 99d, type: refill, volume_ml: 20, pocket_fraction: 0.5}
"""
    r = run(text)
    (empty,) = [a for a in r.run.alarms if a.type == "empty_reservoir"]
    assert empty.end_h == 99 * 24
    (flag,) = flags_of(r, "overdose_risk")
    assert (flag.start_h, flag.alarmed) == (99 * 24, False)
    # A critical alarm the refill does not answer (a motor stall) still counts.
    stalled = text + "  - {at: 98d, type: motor_stall}\n"
    (flag,) = flags_of(run(stalled), "overdose_risk")
    assert flag.alarmed is True


def test_concentration_not_updated_in_pump_delivers_the_wrong_dose():
    # 2000 -> 500 mcg/mL but the pump still believes 2000: it pumps 0.2 mL/day = 100 mcg/day.
    r = run(
        scenario_text(
            duration="20d",
            extra="""
        events:
          - {at: 10d, type: refill, volume_ml: 20, concentration_mcg_per_ml: 500, update_pump_concentration: false}
        expect:
          - {delivered_intrathecal_mcg: 5000, at: 20d, tolerance: 1.0e-6}
          - {flag: abrupt_discontinuation, count: 1, cause: concentration_mismatch}
    """,
        )
    )
    assert r.passed, r.outcomes
    # and the other way round: stronger drug, pump not updated -> four times the dose
    r = run(
        scenario_text(
            duration="20d",
            conc=500,
            therapy="{dose_mcg_per_day: 100}",
            extra="""
        events:
          - {at: 10d, type: refill, volume_ml: 20, concentration_mcg_per_ml: 2000, update_pump_concentration: false}
        expect:
          - {delivered_intrathecal_mcg: 5000, at: 20d, tolerance: 1.0e-6}
          - {flag: overdose_risk, count: 1, cause: concentration_mismatch}
    """,
        )
    )
    assert r.passed, r.outcomes


def test_refill_with_new_programme():
    r = run(
        scenario_text(
            duration="20d",
            extra="""
        events:
          - {at: 10d, type: refill, volume_ml: 20, therapy: {dose_mcg_per_day: 600}}
        expect:
          - {reservoir_estimated_ml: 17.0, at: 20d, tolerance: 1.0e-9}
    """,
        )
    )
    assert r.passed, r.outcomes


def test_clinician_bolus_on_top_of_programme():
    r = run(
        scenario_text(
            duration="2d",
            extra="""
        events:
          - {at: 1d, type: bolus, dose_mcg: 100, duration: 2h}
        expect:
          - {delivered_intrathecal_mcg: 900, at: 2d, tolerance: 1.0e-6}
          - {programmed_mcg: 900, at: 2d, tolerance: 1.0e-6}
          - {reservoir_estimated_ml: 19.55, at: 2d, tolerance: 1.0e-9}
    """,
        )
    )
    assert r.passed, r.outcomes
    assert [e.event for e in r.run.pump_log] == [
        "clinician_bolus_started",
        "clinician_bolus_ended",
    ]


PTM = "{dose_mcg_per_day: 400, ptm: {dose_mcg: 50, lockout: 4h, max_per_day: 3, duration: 30min}}"


def test_ptm_lockout_and_daily_limit():
    r = run(
        scenario_text(
            duration="3d",
            therapy=PTM,
            extra="""
        events:
          - {at: 1d, type: ptm_bolus}
          - {at: 1d2h, type: ptm_bolus}
          - {at: 1d4h, type: ptm_bolus}
          - {at: 1d8h, type: ptm_bolus}
          - {at: 1d12h, type: ptm_bolus}
          - {at: 2d1h, type: ptm_bolus}
    """,
        )
    )
    log = [
        (e.t_h, e.event, e.details.get("reason"))
        for e in r.run.pump_log
        if e.event.startswith("ptm_") and e.event != "ptm_bolus_ended"
    ]
    assert log == [
        (24.0, "ptm_bolus_started", None),
        (26.0, "ptm_refused", "lockout"),
        (28.0, "ptm_bolus_started", None),
        (32.0, "ptm_bolus_started", None),
        (36.0, "ptm_refused", "daily_limit"),
        (49.0, "ptm_bolus_started", None),  # the first of the three is more than 24 h old
    ]
    assert r.run.totals.delivered_intrathecal_mcg == pytest.approx(400 * 3 + 4 * 50)


def test_ptm_refused_without_ptm_or_when_not_delivering():
    r = run(scenario_text(duration="2d", extra="events: [{at: 1d, type: ptm_bolus}]\n"))
    assert r.run.pump_log[0].details["reason"] == "no_ptm_programmed"
    r = run(
        scenario_text(
            duration="2d",
            therapy=PTM,
            extra="""
        events:
          - {at: 1d, type: motor_stall}
          - {at: 1d1h, type: ptm_bolus}
    """,
        )
    )
    assert [e.details.get("reason") for e in r.run.pump_log if e.event == "ptm_refused"] == [
        "pump_not_delivering"
    ]


def test_ptm_default_duration_from_profile():
    from pumpsim.scenario.profiles import load_device_profile

    r = run(
        scenario_text(
            duration="2d",
            therapy="{dose_mcg_per_day: 400, ptm: {dose_mcg: 50, lockout: 4h, max_per_day: 3}}",
            extra="events: [{at: 1d, type: ptm_bolus}]\n",
        )
    )
    ended = next(e for e in r.run.pump_log if e.event == "ptm_bolus_ended")
    assert ended.t_h == pytest.approx(
        24 + load_device_profile("synchromed-ii").ptm_bolus_duration_h
    )


def test_a_fitted_discrepancy_of_exactly_the_limit_raises_no_flag(tmp_path, capsys):
    # Review C, A5: 4.0 mL expected, 3.0 withdrawn: -1.0000000000000009 mL after the fit's
    # arithmetic raised refill_discrepancy against the 1 mL limit ("> 1 mL", contract 3.5).
    from pumpsim.cli import main

    (tmp_path / "log.csv").write_text(
        "date,event,residual_expected_ml,residual_withdrawn_ml,volume_injected_ml\n"
        "2026-03-02,refill,8.0,7.0,10\n2026-04-01,refill,4.0,3.0,20\n",
        encoding="utf-8",
    )
    (tmp_path / "f.yaml").write_text(
        "name: f\nduration: 120d\nstart: 2026-01-01\npump: {reservoir_ml: 20, accuracy: fit}\n"
        "drug: {concentration_mcg_per_ml: 2000}\ntherapy: {dose_mcg_per_day: 400}\n"
        "clinic_log: log.csv\n",
        encoding="utf-8",
    )
    assert main(["replay", str(tmp_path / "f.yaml"), "--fail-on", "discrepancy"]) == 0
    out = capsys.readouterr().out
    assert out.count("-1.00 / -1.00") == 2 and "FAIL" not in out
