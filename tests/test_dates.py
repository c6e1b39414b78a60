"""Calendar dates everywhere (contract section 1): instants, UTC offsets, labels, weekdays."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from conftest import ROOT, run, scenario_text

import pumpsim
from pumpsim.cli import main
from pumpsim.model.clock import Clock

START = "start: 2026-01-01T00:00:00\n"


def load(extra: str, **kw) -> pumpsim.Scenario:
    return pumpsim.load_scenario_text(scenario_text(extra=extra, **kw))


def test_label_is_date_time_with_offset_from_start():
    clock = Clock.of(datetime(2026, 1, 1))
    assert clock.label(97.5 * 24) == "2026-04-08 12:00 (97d 12h)"
    assert clock.label(0.0) == "2026-01-01 00:00 (0s)"
    assert clock.label(None) == "never"
    assert clock.iso(36.0) == "2026-01-02T12:00:00"
    aware = Clock.of(datetime(2026, 1, 1, 8, tzinfo=timezone(timedelta(hours=1))))
    assert aware.iso(2.0) == "2026-01-01T10:00:00+01:00"
    assert aware.offset_text() == "UTC+01:00"


@pytest.mark.parametrize(
    ("at", "hours"),
    [
        ("2026-01-11", 240.0),  # unquoted: YAML reads a date
        ('"2026-01-11"', 240.0),
        ('"2026-01-11T09:30"', 249.5),
        ("2026-01-11T09:30:00", 249.5),  # unquoted: YAML reads a timestamp
        ("10d", 240.0),
    ],
)
def test_at_accepts_calendar_dates_on_the_start_clock(at, hours):
    sc = load(START + f"events:\n  - {{at: {at}, type: refill, volume_ml: 20}}\n")
    assert sc.events[0].at == pytest.approx(hours, abs=1e-12)


def test_date_only_is_midnight_on_a_start_that_is_not_midnight():
    sc = load(
        "start: 2026-01-01T08:00\nevents:\n  - {at: 2026-01-02, type: refill, volume_ml: 20}\n"
    )
    assert sc.events[0].at == 16.0


def test_offset_is_kept_and_instants_with_another_offset_convert():
    sc = load(
        'start: "2026-01-01T08:00+01:00"\n'
        "events:\n"
        '  - {at: "2026-01-01T12:00+02:00", type: refill, volume_ml: 20}\n'  # 10:00 UTC
        '  - {at: "2026-01-01T12:00Z", type: refill, volume_ml: 20}\n'  # 12:00 UTC
        '  - {at: "2026-01-01T12:00", type: refill, volume_ml: 20}\n'  # on the start's +01:00
    )
    assert sc.start.utcoffset() == timedelta(hours=1)  # never dropped
    assert [e.at for e in sc.events] == [3.0, 5.0, 4.0]
    doc = pumpsim.simulate(sc).to_dict()
    assert doc["start_at"] == "2026-01-01T08:00:00+01:00"
    assert [r["at"] for r in doc["refills"]] == [
        "2026-01-01T11:00:00+01:00",  # in time order
        "2026-01-01T12:00:00+01:00",
        "2026-01-01T13:00:00+01:00",
    ]


def test_offset_without_one_on_start_is_refused(write_yaml, capsys):
    path = write_yaml(
        scenario_text(
            extra="events:\n  - {at: '2026-01-05T09:00+01:00', type: refill, volume_ml: 20}\n"
        )
    )
    assert main(["validate", path]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"{path}:8: events[0].at:")
    assert "has a UTC offset but start: has none" in err
    assert "\n" not in err


@pytest.mark.parametrize(
    ("at", "words"),
    [
        ("2025-12-31", ["2025-12-31", "before the start", "2026-01-01 00:00"]),
        ("2026-02-01", ["2026-02-01", "after the end", "2026-01-31 00:00 (30d)"]),
    ],
)
def test_instant_outside_the_scenario_names_both_dates(write_yaml, capsys, at, words):
    path = write_yaml(
        scenario_text(extra=f"events:\n  - {{at: {at}, type: refill, volume_ml: 20}}\n")
    )
    assert main(["validate", path]) == 2
    err = capsys.readouterr().err
    assert "events[0].at" in err and ":8:" in err
    for word in words:
        assert word in err


def test_duration_instant_after_the_end_is_shown_as_dates(write_yaml, capsys):
    path = write_yaml(scenario_text(extra="events:\n  - {at: 31d, type: refill, volume_ml: 20}\n"))
    assert main(["validate", path]) == 2
    err = capsys.readouterr().err
    assert "2026-02-01 00:00 (31d) is after the end of the scenario, 2026-01-31 00:00 (30d)" in err


@pytest.mark.parametrize("bad", ["'2026-02-30'", "'2026-1-5x'"])
def test_malformed_calendar_date_is_invalid(write_yaml, capsys, bad):
    path = write_yaml(
        scenario_text(extra=f"events:\n  - {{at: {bad}, type: refill, volume_ml: 20}}\n")
    )
    assert main(["validate", path]) == 2
    err = capsys.readouterr().err
    assert "events[0].at" in err and "calendar date" in err


def test_expectation_instants_and_eri_at_accept_dates():
    text = scenario_text(
        duration="110d",
        pump_extra="battery: {eri_at: 2026-03-01}",
        extra=(
            "events:\n  - {at: 2026-03-27, type: refill, missed: true}\n"
            "expect:\n"
            "  - {alarm: low_reservoir, first_at: 2026-04-01}\n"
            "  - {alarm: empty_reservoir, first_within: [2026-04-08, 2026-04-09]}\n"
            "  - {reservoir_estimated_ml: 2.0, at: 2026-04-01, tolerance: 1.0e-6}\n"
            "  - {alarm: eri, first_at: 2026-03-01}\n"
        ),
    )
    result = pumpsim.simulate(pumpsim.load_scenario_text(text))
    assert [o.passed for o in result.outcomes] == [True] * 4
    assert result.outcomes[0].text == "alarm low_reservoir first at 2026-04-01 00:00 (90d)"


def test_start_weekday_drives_weekday_flex_programme():
    """2026-01-03 is a Saturday, 2026-01-05 a Monday: the weekend programme doubles the dose."""
    therapy = (
        "{mode: flex, steps: [{at: '00:00', dose_mcg_per_hour: 10}], "
        "days: {sat: [{at: '00:00', dose_mcg_per_hour: 20}], "
        "sun: [{at: '00:00', dose_mcg_per_hour: 20}]}}"
    )
    sat = run(scenario_text(duration="1d", therapy=therapy, extra="start: 2026-01-03\n"))
    mon = run(scenario_text(duration="1d", therapy=therapy, extra="start: 2026-01-05\n"))
    assert sat.to_dict()["totals"]["programmed_mcg"] == pytest.approx(480.0)
    assert mon.to_dict()["totals"]["programmed_mcg"] == pytest.approx(240.0)
    # Noon on the start's wall clock: a Sunday start at 12:00 switches to Monday's 10 mcg/h at
    # midnight, 12 h in.
    half = run(scenario_text(duration="1d", therapy=therapy, extra="start: 2026-01-04T12:00\n"))
    assert half.to_dict()["totals"]["programmed_mcg"] == pytest.approx(12 * 20 + 12 * 10)


def test_timeline_shows_calendar_dates(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["run", "scenarios/missed-refill.yaml"]) == 0
    out = capsys.readouterr().out
    assert "from 2026-01-01 00:00 to 2026-04-21 00:00 (no UTC offset)" in out
    assert re.search(r"^2026-03-27 00:00 \(85d\) +pump   refill missed$", out, re.M)
    assert "2026-04-08 12:00 (97d 12h)" in out


def test_result_document_has_iso_beside_every_instant():
    doc = run(
        scenario_text(duration="110d", extra="events:\n  - {at: 85d, type: refill, missed: true}\n")
    ).to_dict()
    assert doc["start_at"] == "2026-01-01T00:00:00" and doc["end_at"] == "2026-04-21T00:00:00"
    for alarm in doc["alarms"]:
        assert list(alarm)[:4] == ["type", "priority", "start_h", "start_at"]
    flag = doc["flags"][0]
    assert flag["start_at"] == Clock.of(datetime(2026, 1, 1)).iso(flag["start_h"])
    assert all("at" in e for e in doc["pump_log"])


def test_weekday_of_a_start_with_an_offset_is_its_own_wall_clock_day():
    """2026-01-03T00:00+05:00 is still Friday in UTC, but the pump's clock says Saturday."""
    therapy = (
        "{mode: flex, steps: [{at: '00:00', dose_mcg_per_hour: 10}], "
        "days: {sat: [{at: '00:00', dose_mcg_per_hour: 20}]}}"
    )
    sat = run(
        scenario_text(duration="1d", therapy=therapy, extra="start: 2026-01-03T00:00:00+05:00\n")
    )
    assert sat.to_dict()["totals"]["programmed_mcg"] == pytest.approx(480.0)
