"""Hand-computed volumes and alarm times (contract 3.1, 3.2)."""

import pytest
from conftest import alarm_starts, flags_of, run, scenario_text

DAY = 24.0


def test_low_and_empty_reservoir_exact_days():
    # 20 mL at 2000 mcg/mL and 400 mcg/day = 0.2 mL/day: 18 mL to the LRA, 19.5 mL to empty.
    r = run(scenario_text(duration="110d"))
    assert alarm_starts(r, "low_reservoir") == [pytest.approx(90 * DAY, abs=1e-6)]
    assert alarm_starts(r, "empty_reservoir") == [pytest.approx(97.5 * DAY, abs=1e-6)]
    empty = next(a for a in r.alarms if a.type == "empty_reservoir")
    assert empty.priority == "critical"


def test_minimum_rate_after_empty_alarm():
    # After the empty alarm at 97.5 d the pump runs at 0.006 mL/day: the estimate keeps falling slowly.
    r = run(
        scenario_text(
            duration="107.5d",
            extra="expect:\n  - {reservoir_estimated_ml: 0.44, at: 107.5d, tolerance: 1.0e-9}\n",
        )
    )
    assert r.passed, r.outcomes


def test_estimate_and_truth_diverge_with_accuracy():
    text = scenario_text(
        duration="50d",
        pump_extra="accuracy: 0.1",
        extra="""
        expect:
          - {reservoir_estimated_ml: 10.0, at: 50d, tolerance: 1.0e-9}
          - {reservoir_true_ml: 9.0, at: 50d, tolerance: 1.0e-9}
    """,
    )
    assert run(text).passed


def test_true_volume_never_negative_and_flow_stops_at_zero():
    r = run(scenario_text(duration="120d", pump_extra="accuracy: 0.5"))
    assert min(r.run.trajectory.series()["true_ml"]) >= 0.0
    # 20 mL at 0.3 mL/day empties on day 66.67; nothing more is delivered after that.
    assert r.run.totals.left_reservoir_ml == pytest.approx(20.0, abs=1e-9)


def test_refill_clears_alarms_and_resumes_programme():
    r = run(
        scenario_text(
            duration="120d", extra="events:\n  - {at: 100d, type: refill, volume_ml: 20}\n"
        )
    )
    lra = next(a for a in r.alarms if a.type == "low_reservoir")
    empty = next(a for a in r.alarms if a.type == "empty_reservoir")
    assert lra.end_h == pytest.approx(100 * DAY)
    assert empty.end_h == pytest.approx(100 * DAY)
    # The abrupt-discontinuation flag raised in minimum-rate mode ends after the refill.
    flag = flags_of(r, "abrupt_discontinuation")[0]
    assert flag.cause == "minimum_rate" and flag.end_h is not None and flag.end_h > 100 * DAY


def test_initial_volume_below_lra_alarms_at_start():
    r = run(scenario_text(duration="1d", pump_extra="initial_volume_ml: 1.5"))
    assert alarm_starts(r, "low_reservoir") == [0.0]


def test_custom_alarm_levels():
    r = run(
        scenario_text(
            duration="100d", pump_extra="low_reservoir_alarm_ml: 4.0, empty_reservoir_alarm_ml: 1.0"
        )
    )
    assert alarm_starts(r, "low_reservoir") == [pytest.approx(80 * DAY)]
    assert alarm_starts(r, "empty_reservoir") == [pytest.approx(95 * DAY)]


def test_tones_are_derived_not_scheduled():
    r = run(scenario_text(duration="98d"))
    empty = next(a for a in r.alarms if a.type == "empty_reservoir")
    # critical: every 10 min (assumed) for 12 h until the end: 72 intervals + the first tone.
    assert empty.tone_interval_h == pytest.approx(1 / 6)
    assert empty.tone_count(98 * DAY) == 73
    lra = next(a for a in r.alarms if a.type == "low_reservoir")
    assert lra.tone_count(98 * DAY) == 8 * 24 + 1
    times = list(empty.tone_times(98 * DAY))
    assert times[0] == empty.start_h and len(times) == 73
    # and the engine handled only a handful of events for 98 days
    assert r.run.engine_events < 10


def test_critical_tone_interval_override():
    r = run(scenario_text(duration="98d", pump_extra="critical_tone_interval: 1h"))
    empty = next(a for a in r.alarms if a.type == "empty_reservoir")
    assert empty.tone_count(98 * DAY) == 13


def test_flex_crossing_lands_inside_the_day():
    # 10 mcg/h 00-08, 30 mcg/h 08-20, 20 mcg/h 20-24 = 520 mcg/day = 0.26 mL/day at 2000 mcg/mL.
    # 18 mL to the LRA: 69 whole days use 17.94 mL; the last 0.06 mL = 120 mcg:
    # 00-08 gives 80 mcg, then 40 mcg at 30 mcg/h = 1h20min -> day 69 at 09:20.
    therapy = """
      mode: flex
      steps:
        - {at: "00:00", dose_mcg_per_hour: 10}
        - {at: "08:00", dose_mcg_per_hour: 30}
        - {at: "20:00", dose_mcg_per_hour: 20}
    """
    text = "name: t\nduration: 80d\ndrug: {concentration_mcg_per_ml: 2000}\ntherapy:" + therapy
    r = run(text)
    assert alarm_starts(r, "low_reservoir") == [pytest.approx(69 * DAY + 9 + 20 / 60, abs=1e-6)]


def test_flex_phase_follows_start_time_of_day():
    # Same schedule, but the scenario starts at 08:00: the first 12 h run at 30 mcg/h.
    text = """
        name: t
        duration: 2d
        start: 2026-01-01T08:00:00
        drug: {concentration_mcg_per_ml: 2000}
        therapy:
          mode: flex
          steps:
            - {at: "00:00", dose_mcg_per_hour: 10}
            - {at: "08:00", dose_mcg_per_hour: 30}
            - {at: "20:00", dose_mcg_per_hour: 10}
        expect:
          - {programmed_mcg: 360, at: 12h, tolerance: 1.0e-9}
          - {reservoir_estimated_ml: 19.82, at: 12h, tolerance: 1.0e-9}
    """
    assert run(text).passed


def test_flex_weekday_lists():
    # Weekends at 5 mcg/h, weekdays at 20 mcg/h; 2026-01-05 is a Monday.
    text = """
        name: t
        duration: 7d
        start: 2026-01-05T00:00:00
        drug: {concentration_mcg_per_ml: 2000}
        therapy:
          mode: flex
          steps: [{at: "00:00", dose_mcg_per_hour: 20}]
          days:
            sat: [{at: "00:00", dose_mcg_per_hour: 5}]
            sun: [{at: "00:00", dose_mcg_per_hour: 5}]
        expect:
          - {programmed_mcg: 2400, at: 5d, tolerance: 1.0e-9}
          - {programmed_mcg: 2640, at: 7d, tolerance: 1.0e-9}
    """
    assert run(text).passed


def test_reprogram_changes_rate():
    text = scenario_text(
        duration="20d",
        extra="""
        events:
          - {at: 10d, type: reprogram, therapy: {dose_mcg_per_day: 600}}
        expect:
          - {reservoir_estimated_ml: 15.0, at: 20d, tolerance: 1.0e-9}
    """,
    )
    assert run(text).passed


def test_eos_follows_an_explicit_eri_by_the_full_interval_past_the_hard_stop():
    # Implanted 6 years 300 days ago (the 7-year hard stop is 65 days ahead, 7y = 2555.0 days
    # here); ERI is set explicitly at day 50: EOS follows 90 days later, at day 140, not at the
    # hard stop.
    from pumpsim.model.units import parse_duration_h

    text = scenario_text(
        duration="160d",
        pump_extra="age: 6y300d, battery: {eri_at: 50d}",
    )
    r = run(text)
    assert alarm_starts(r, "eri") == [50 * 24.0]
    assert alarm_starts(r, "eos") == [140 * 24.0]
    hard_stop_d = (parse_duration_h("7y") - parse_duration_h("6y300d")) / 24
    assert hard_stop_d < 140 - 1


def test_eos_follows_the_latest_eri_by_the_interval():
    # No explicit ERI, a battery that barely drains: ERI comes at the latest 90 days before the
    # hard stop, EOS 90 days after it.
    from pumpsim.model.units import parse_duration_h

    r = run(scenario_text(duration="400d", therapy="{dose_mcg_per_day: 100}", pump_extra="age: 6y"))
    hard_stop_h = parse_duration_h("7y") - parse_duration_h("6y")
    (eri,) = alarm_starts(r, "eri")
    (eos,) = alarm_starts(r, "eos")
    assert eri == pytest.approx(hard_stop_h - 90 * 24)
    assert eos == pytest.approx(eri + 90 * 24)
