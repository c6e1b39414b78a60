"""Catheter plug flow and faults, motor stalls and MRI (contract 3.3; issue #4)."""

import math

import pytest
from conftest import alarm_starts, flags_of, run, scenario_text

DAY = 24.0


def test_five_day_occlusion_leaves_drug_in_reservoir():
    # 20 mL pump at 0.2 mL/day (400 mcg/day at 2000 mcg/mL): the pump expects 10.0 mL at day 50,
    # but the five occluded days held 1.0 mL back.
    r = run(
        scenario_text(
            duration="51d",
            extra="""
        events:
          - {at: 20d, type: catheter_fault, kind: occlusion, duration: 5d}
          - {at: 50d, type: refill, volume_ml: 20}
    """,
        )
    )
    refill = r.run.refills[0]
    assert refill.expected_residual_ml == pytest.approx(10.0, abs=1e-9)
    assert refill.actual_residual_ml == pytest.approx(11.0, abs=1e-9)
    assert refill.discrepancy_ml == pytest.approx(1.0, abs=1e-9)
    assert not alarm_starts(r, "motor_stall") and not [
        a for a in r.run.alarms if a.end_h is None
    ]  # silent


@pytest.mark.parametrize("kind", ["disconnection", "fracture", "migration"])
def test_leaking_faults_drain_the_reservoir_as_usual(kind):
    r = run(
        scenario_text(
            duration="50d",
            extra=f"""
        events:
          - {{at: 20d, type: catheter_fault, kind: {kind}, duration: 5d}}
        expect:
          - {{reservoir_true_ml: 10.0, at: 50d, tolerance: 1.0e-9}}
          - {{delivered_intrathecal_mcg: 18000, at: 50d, tolerance: 1.0e-6}}
    """,
        )
    )
    assert r.passed, [o for o in r.outcomes if not o.passed]
    assert r.run.totals.delivered_elsewhere_mcg == pytest.approx(2000.0)


def test_kink_and_leak_partial_fractions():
    r = run(
        scenario_text(
            duration="10d",
            extra="""
        events:
          - {at: 0d, type: catheter_fault, kind: kink, delivered_fraction: 0.6}
        expect:
          - {reservoir_true_ml: 18.8, at: 10d, tolerance: 1.0e-9}
          - {reservoir_estimated_ml: 18.0, at: 10d, tolerance: 1.0e-9}
          - {delivered_intrathecal_mcg: 2400, at: 10d, tolerance: 1.0e-6}
    """,
        )
    )
    assert r.passed, r.outcomes
    r = run(
        scenario_text(
            duration="10d",
            extra="""
        events:
          - {at: 0d, type: catheter_fault, kind: leak, delivered_fraction: 0.6}
        expect:
          - {reservoir_true_ml: 18.0, at: 10d, tolerance: 1.0e-9}
          - {delivered_intrathecal_mcg: 2400, at: 10d, tolerance: 1.0e-6}
    """,
        )
    )
    assert r.passed, r.outcomes
    assert r.run.totals.delivered_elsewhere_mcg == pytest.approx(1600.0)


def test_catheter_repair_ends_every_fault():
    r = run(
        scenario_text(
            duration="10d",
            extra="""
        events:
          - {at: 1d, type: catheter_fault, kind: occlusion}
          - {at: 1d, type: catheter_fault, kind: leak, delivered_fraction: 0.5}
          - {at: 3d, type: catheter_repair}
        expect:
          - {reservoir_true_ml: 18.4, at: 10d, tolerance: 1.0e-9}
          - {delivered_intrathecal_mcg: 3200, at: 10d, tolerance: 1.0e-6}
    """,
        )
    )
    assert r.passed, r.outcomes


def _transit(bridge: bool):
    return run(
        scenario_text(
            duration="6d",
            conc=500,
            therapy="{dose_mcg_per_day: 300}",
            extra=f"""
        catheter: {{volume_ml: 0.3}}
        events:
          - {{at: 1d, type: refill, volume_ml: 20, concentration_mcg_per_ml: 2000, bridge_bolus: {str(bridge).lower()}}}
    """,
        )
    )


def test_concentration_change_without_bridge_delivers_old_drug_for_48h():
    r = _transit(False)
    s = r.run.trajectory.series()
    # From the refill the pump runs at 300/2000 = 0.15 mL/day, pushing 500 mcg/mL drug for
    # 0.3/0.15 = 2 days: 75 mcg/day, then 300 mcg/day.
    points = dict(zip(s["t_h"], s["delivered_mcg_per_day"], strict=True))
    assert points[24.0] == pytest.approx(75.0)
    assert points[72.0] == pytest.approx(300.0)
    fronts = [e for e in r.run.physical_log if e.event == "catheter_front"]
    assert [e.t_h for e in fronts] == [pytest.approx(72.0)]
    delivered_48h = 75.0 * 2
    assert r.run.totals.delivered_intrathecal_mcg == pytest.approx(300 + delivered_48h + 300 * 3)
    flag = flags_of(r, "abrupt_discontinuation")[0]
    assert flag.cause == "catheter_transit" and flag.alarmed is False


def test_concentration_change_with_bridge_keeps_the_dose():
    r = _transit(True)
    # Bridge: 300 mcg/day of 500 mcg/mL = 0.6 mL/day for 0.3 mL = 12 h, then the programme.
    assert r.run.totals.delivered_intrathecal_mcg == pytest.approx(300.0 * 6)
    log = [e.event for e in r.run.pump_log]
    assert "bridge_bolus_started" in log and "bridge_bolus_complete" in log
    done = next(e for e in r.run.pump_log if e.event == "bridge_bolus_complete")
    assert done.t_h == pytest.approx(36.0)
    assert not flags_of(r, "abrupt_discontinuation")
    # the estimate was debited by the bridge volume: 0.3 mL then 0.15 mL/day for 4.5 days
    assert r.run.final.reservoir_estimated_ml == pytest.approx(20 - 0.3 - 0.15 * 4.5)


def test_mri_stalls_for_scan_plus_recovery():
    r = run(
        scenario_text(
            duration="5d",
            extra="""
        events:
          - {at: 2d, type: mri, duration: 2h, recovery_delay: 3h}
        expect:
          - {alarm: motor_stall, duration: 5h, tolerance: 1s}
          - {reservoir_estimated_ml: 19.0 , at: 5d, tolerance: 1.0e-6}
    """,
        )
    )
    # 5 days at 0.2 mL/day = 1.0 mL, less 5 h stalled (0.2/24*5 mL)
    assert r.run.final.reservoir_estimated_ml == pytest.approx(20 - 1.0 + 0.2 / 24 * 5)
    stall = next(a for a in r.alarms if a.type == "motor_stall")
    assert stall.start_h == 48.0 and stall.end_h == pytest.approx(53.0)
    assert stall.priority == "critical"


def test_permanent_motor_stall_until_replacement():
    r = run(
        scenario_text(
            duration="20d",
            extra="""
        events:
          - {at: 5d, type: motor_stall}
          - {at: 10d, type: pump_replacement, volume_ml: 20}
        expect:
          - {reservoir_estimated_ml: 19.0, at: 15d, tolerance: 1.0e-9}
    """,
        )
    )
    assert r.passed, r.outcomes
    stall = next(a for a in r.alarms if a.type == "motor_stall")
    assert (stall.start_h, stall.end_h) == (120.0, 240.0)
    assert r.run.totals.withdrawn_ml == pytest.approx(19.0)  # old pump's residual


def test_overlapping_stalls_keep_the_later_end():
    r = run(
        scenario_text(
            duration="5d",
            extra="""
        events:
          - {at: 1d, type: motor_stall, duration: 10h}
          - {at: 1d, type: mri, duration: 1h}
    """,
        )
    )
    stall = next(a for a in r.alarms if a.type == "motor_stall")
    assert stall.end_h == pytest.approx(34.0)


def test_low_battery_reset_minimum_rate_and_memory_error_stop():
    r = run(
        scenario_text(
            duration="10d",
            extra="""
        events:
          - {at: 2d, type: pump_fault, kind: low_battery_reset}
        expect:
          - {alarm: low_battery_reset, first_at: 2d}
          - {reservoir_estimated_ml: 19.552, at: 10d, tolerance: 1.0e-9}
    """,
        )
    )
    assert r.passed, r.outcomes  # 0.4 mL, then 8 days at 0.006 mL/day
    # the withdrawal flag names the fault (the hazard map's H-BT-02), not the empty-reservoir
    # alarm's minimum_rate: 12 of 400 mcg/day, below half after ln(0.97/0.47)/k = 1.568 h
    (flag,) = [f for f in r.run.flags if f.type == "abrupt_discontinuation"]
    assert flag.cause == "pump_fault" and flag.alarmed
    assert flag.start_h == pytest.approx(48 + 1.5 * math.log2(0.97 / 0.47), abs=1e-6)
    r = run(
        scenario_text(
            duration="10d",
            extra="""
        events:
          - {at: 2d, type: pump_fault, kind: critical_memory_error}
          - {at: 4d, type: pump_replacement, volume_ml: 20}
        expect:
          - {alarm: critical_memory_error, duration: 2d}
          - {reservoir_estimated_ml: 19.6, at: 3d, tolerance: 1.0e-9}
          - {reservoir_estimated_ml: 18.8, at: 10d, tolerance: 1.0e-9}
    """,
        )
    )
    assert r.passed, r.outcomes


def test_eri_and_eos_follow_the_longevity_model():
    # 40 mL at 2000 mcg/mL; refilled every 60 days so the pump never runs dry.
    def battery(dose, years=8):
        refills = "\n".join(
            f"  - {{at: {d}d, type: refill, volume_ml: 40}}"
            for d in range(60, int(years * 365), 60)
        )
        return run(
            scenario_text(
                duration=f"{years}y",
                reservoir=40,
                therapy=f"{{dose_mcg_per_day: {dose}}}",
                extra="events:\n" + refills + "\n",
            )
        )

    from pumpsim.scenario.profiles import load_device_profile

    prof = load_device_profile("synchromed-ii")
    # 200 mcg/day = 0.1 mL/day: the energy model gives > 6.75 y, so ERI comes 90 days before the 7-y stop.
    r = battery(200)
    assert alarm_starts(r, "eri") == [pytest.approx(prof.hard_stop_life_h - prof.eos_after_eri_h)]
    assert alarm_starts(r, "eos") == [pytest.approx(prof.hard_stop_life_h)]
    # 1000 mcg/day = 0.5 mL/day: 1 / (1/idle + 0.5 mL/day / capacity)
    r = battery(1000)
    per_h = 1 / prof.battery_idle_longevity_h + (0.5 / 24) / prof.battery_volume_capacity_ml
    assert alarm_starts(r, "eri") == [pytest.approx(1 / per_h, rel=1e-9)]
    assert alarm_starts(r, "eos") == [pytest.approx(1 / per_h + prof.eos_after_eri_h, rel=1e-9)]
    assert 5.9 * 8766 < 1 / per_h < 6.1 * 8766
    # at EOS the pump stops: nothing more is pumped
    eos = alarm_starts(r, "eos")[0]
    assert r.run.trajectory.series()["programmed_ml_per_day"][-1] == 0.0
    assert eos < 8 * 8766


def test_explicit_eri_and_age():
    r = run(
        scenario_text(
            duration="200d",
            pump_extra="battery: {eri_at: 30d, eos_after_eri: 60d}",
            extra="""
        events: [{at: 80d, type: refill, volume_ml: 20}]
        expect:
          - {alarm: eri, first_at: 30d}
          - {alarm: eos, first_at: 90d}
    """,
        )
    )
    assert r.passed, r.outcomes


def test_an_eri_before_the_run_keeps_eos_the_full_interval_after_it():
    # Review (hand computation): a pump whose ERI fell before t = 0 got its EOS 90 days after
    # the start, not after its ERI, so a pump past its 7-year hard stop ran 90 more days. The
    # ERI alarm sounds from t = 0; EOS is ERI + eos_after_eri (at once when that is past too).
    from pumpsim.scenario.profiles import load_device_profile

    prof = load_device_profile("synchromed-ii")
    hard_stop_d = prof.hard_stop_life_h / 24  # 7 years
    # 100 mcg/day (0.05 mL/day): the longevity model outlasts 7 years, so ERI is the latest
    # one, 90 days before the hard stop: 2466.75 days after implant.
    for age_d, eos_d in ((2480, hard_stop_d - 2480), (2540, hard_stop_d - 2540), (2600, 0.0)):
        r = run(
            scenario_text(
                duration="100d", pump_extra=f"age: {age_d}d", therapy="{dose_mcg_per_day: 100}"
            )
        )
        assert alarm_starts(r, "eri") == [0.0]
        assert alarm_starts(r, "eos") == [pytest.approx(eos_d * 24)], age_d
        (eri,) = [e for e in r.run.physical_log if e.event == "battery_eri"]
        assert eri.details["battery_age_h"] == pytest.approx((hard_stop_d - 90) * 24)
    # 2000 mcg/day in a 40 mL pump (1 mL/day): the battery is spent 1/(1/idle + 1/capacity)
    # after implant; 1850 days old, its ERI was 23.7 days ago and EOS comes 66.3 days in.
    per_h = 1 / prof.battery_idle_longevity_h + (1 / 24) / prof.battery_volume_capacity_ml
    refills = (
        "events: [{at: 30d, type: refill, volume_ml: 40}, {at: 60d, type: refill, volume_ml: 40}]\n"
    )
    r = run(
        scenario_text(
            duration="100d", reservoir=40, pump_extra="age: 1850d",
            therapy="{dose_mcg_per_day: 2000}", extra=refills,
        )
    )  # fmt: skip
    eos_h = 1 / per_h - 1850 * 24 + prof.eos_after_eri_h
    assert alarm_starts(r, "eri") == [0.0]
    assert alarm_starts(r, "eos") == [pytest.approx(eos_h, rel=1e-9)]
    assert eos_h == pytest.approx(1590.6666, abs=1e-3)  # the reviewer's hand computation


def test_pump_replacement_clears_alarms_and_restarts_battery():
    r = run(
        scenario_text(
            duration="110d",
            pump_extra="battery: {eri_at: 10d}",
            extra="""
        events:
          - {at: 99d, type: pump_replacement, reservoir_ml: 40, volume_ml: 40}
    """,
        )
    )
    for name in ("eri", "low_reservoir", "empty_reservoir"):
        rec = next(a for a in r.alarms if a.type == name)
        assert rec.end_h == pytest.approx(99 * DAY)
    assert r.run.final.reservoir_estimated_ml == pytest.approx(40 - 0.2 * 11)
