"""Local time with IANA zones (contract section 11): ``start: 2025-01-06T08:00 Europe/Paris``.

Hand computations: Europe/Paris is UTC+01:00 in winter and UTC+02:00 from 2025-03-30 01:00 UTC
(02:00 local jumps to 03:00) to 2025-10-26 01:00 UTC (03:00 local falls back to 02:00).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import pumpsim
from pumpsim.cli import main
from pumpsim.errors import ScenarioError
from pumpsim.model.clock import Clock
from pumpsim.scenario.clinic_log import parse_clinic_log
from pumpsim.scenario.dates import InstantError, parse_start

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("2025-01-06T08:00 Europe/Paris", datetime(2025, 1, 6, 8, tzinfo=PARIS)),
        ("2025-01-06 Europe/Paris", datetime(2025, 1, 6, tzinfo=PARIS)),
        (
            "2025-01-06T08:00:30 America/New_York",
            datetime(2025, 1, 6, 8, 0, 30, tzinfo=ZoneInfo("America/New_York")),
        ),
        ("2025-07-01 08:00 UTC", datetime(2025, 7, 1, 8, tzinfo=ZoneInfo("UTC"))),
    ],
)
def test_start_with_a_zone(text, want):
    got = parse_start(text)
    assert got == want and got.tzinfo == want.tzinfo


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2025-01-06T08:00+01:00 Europe/Paris", "both a UTC offset and a time zone"),
        ("2025-01-06T08:00Z Europe/Paris", "both a UTC offset and a time zone"),
        ("2025-01-06 Europe/Pariss", "unknown time zone 'Europe/Pariss'"),
        ("2025-01-06 europe/paris", "did you mean 'Europe/Paris'?"),
        ("2025-01-06 localtime", "unknown time zone"),
        ("2025-03-30T02:30 Europe/Paris", "does not exist in Europe/Paris"),
        ("2025-02-30 Europe/Paris", "not a calendar date-time"),
        ("2025-01-06  Europe/Paris", "by one space"),
    ],
)
def test_bad_zoned_starts_are_refused(text, message):
    with pytest.raises(InstantError, match=message.replace("(", r"\(").replace("?", r"\?")):
        parse_start(text)


def test_an_autumn_repeat_start_is_the_first_occurrence():
    start = parse_start("2025-10-26T02:30 Europe/Paris")
    assert start.utcoffset() == timedelta(hours=2)  # still summer time: the first 02:30


PARIS_CLOCK = Clock.of(parse_start("2025-01-06T08:00 Europe/Paris"))


def test_a_paris_log_across_both_clock_changes_gives_hand_computed_elapsed_hours():
    log = parse_clinic_log(
        "date,event\n"
        "2025-03-29,catheter_repair\n"  # 00:00 CET: 16 h + 81 days after 2025-01-06 08:00
        "2025-03-30,catheter_repair\n"  # 00:00 CET, 24 h later
        "2025-03-30T01:59,catheter_repair\n"  # CET, the last minute before the jump
        "2025-03-30T03:00,catheter_repair\n"  # CEST: one hour after 02:00 CET
        "2025-03-31,catheter_repair\n"  # 00:00 CEST: a 23 h day
        "2025-10-26,catheter_repair\n"  # 00:00 CEST: 209 days later
        "2025-10-26T02:30,catheter_repair\n"  # ambiguous: the first (CEST)
        "2025-10-26T03:30,catheter_repair\n"  # CET again
        "2025-10-27,catheter_repair\n"  # 00:00 CET: a 25 h day
        "2025-10-27T09:00+00:00,catheter_repair\n",  # an explicit offset is converted
        "log.csv",
        PARIS_CLOCK,
        400 * 24.0,
    )
    assert [e["at"] for e in log.events] == [
        1960.0,
        1984.0,
        1984.0 + 1 + 59 / 60,
        1986.0,
        2007.0,
        7023.0,
        7025.5,
        7027.5,
        7048.0,
        7048.0 + 10.0,
    ]


def test_a_time_in_the_spring_gap_is_a_bad_row(tmp_path, capsys):
    (tmp_path / "log.csv").write_text(
        "date,event\n2025-03-30T01:30,catheter_repair\n2025-03-30T02:30,catheter_repair\n",
        encoding="utf-8",
    )
    (tmp_path / "s.yaml").write_text(SCENARIO.replace("expect: []\n", ""), encoding="utf-8")
    assert main(["validate", str(tmp_path / "s.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"{tmp_path}/log.csv:3: column date: '2025-03-30T02:30' does not exist in Europe/Paris: "
        "the clocks go forward that night (daylight-saving time), so that local time is skipped"
    )


def test_a_scenario_instant_in_the_spring_gap_is_refused(tmp_path, capsys):
    text = SCENARIO.replace("clinic_log: log.csv\n", "").replace(
        "expect: []", "events: [{at: 2025-03-30T02:00, type: catheter_repair}]"
    )
    (tmp_path / "s.yaml").write_text(text, encoding="utf-8")
    assert main(["validate", str(tmp_path / "s.yaml")]) == 2
    assert "events[0].at: '2025-03-30T02:00' does not exist in Europe/Paris" in (
        capsys.readouterr().err
    )


SCENARIO = """\
name: paris
duration: 300d
start: 2025-01-06T08:00 Europe/Paris
pump: {reservoir_ml: 20}
drug: {concentration_mcg_per_ml: 2000}
therapy: {dose_mcg_per_day: 400}
clinic_log: log.csv
expect: []
"""
LOG = """\
date,event,residual_expected_ml,residual_withdrawn_ml,volume_injected_ml,alarm_date
2025-03-30T10:00,refill,3.39,3.39,20,2025-06-28
2025-06-10T09:00,refill,5.61,5.61,20,
"""


def test_outputs_show_local_times_with_their_offsets(tmp_path, capsys):
    (tmp_path / "log.csv").write_text(LOG, encoding="utf-8")
    (tmp_path / "s.yaml").write_text(SCENARIO, encoding="utf-8")
    out = tmp_path / "r.json"
    assert main(["replay", str(tmp_path / "s.yaml"), "--json", str(out)]) == 0
    table = capsys.readouterr().out
    # 2025-03-30 10:00 CEST is 08:00 UTC: 83 days 1 h after 07:00 UTC on 2025-01-06
    assert "2025-03-30 10:00+02:00 (83d 1h)" in table
    assert "replay from 2025-01-06 08:00+01:00 (Europe/Paris, UTC+01:00 at the start)" in table
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["time_zone"] == "Europe/Paris"
    assert doc["start_at"] == "2025-01-06T08:00:00+01:00"
    assert doc["end_at"] == "2025-11-02T08:00:00+01:00"  # 300 d of 24 h, back on winter time
    assert [(r["at_h"], r["at"]) for r in doc["refills"]] == [
        (1993.0, "2025-03-30T10:00:00+02:00"),
        (1993.0 + 72 * 24 - 1, "2025-06-10T09:00:00+02:00"),
    ]
    assert any("the pump keeps UTC+01:00" in note for note in doc["notes"])
    assert main(["run", str(tmp_path / "s.yaml")]) == 0
    timeline = capsys.readouterr().out
    assert "2025-03-30 10:00+02:00 (83d 1h)" in timeline
    assert "NOTE: the pump keeps UTC+01:00" in timeline
    assert "from 2025-03-30 03:00+02:00 to 2025-10-26 02:00+01:00 local time is an hour" in (
        timeline
    )


def test_the_report_shows_local_times_and_the_pump_clock(tmp_path, capsys):
    (tmp_path / "log.csv").write_text(LOG, encoding="utf-8")
    (tmp_path / "s.yaml").write_text(SCENARIO, encoding="utf-8")
    html = tmp_path / "r.html"
    assert main(["report", str(tmp_path / "s.yaml"), "-o", str(html)]) == 0
    text = html.read_text(encoding="utf-8")
    assert "2025-03-30 10:00+02:00 (83d 1h)" in text
    assert "the pump keeps UTC+01:00" in text


def test_the_pump_keeps_the_start_offset_for_flex_steps(tmp_path):
    """A step at 12:00 on the pump's clock (UTC+01:00) comes at 13:00 local time in summer."""
    text = """\
name: flex-dst
duration: 40d
start: 2025-03-01 Europe/Paris
drug: {concentration_mcg_per_ml: 2000}
therapy:
  mode: flex
  steps:
    - {at: "00:00", dose_mcg_per_hour: 0}
    - {at: "12:00", dose_mcg_per_hour: 100}
expect:
  # winter: 12:30 local is 12:30 on the pump, half an hour into the 100 mcg/h step
  - {programmed_mcg: 1250, at: 2025-03-02T12:30, tolerance: 0.001}
  # summer: 31 whole pump days (1,200 mcg each); 12:30 local is 11:30 on the pump
  - {programmed_mcg: 37200, at: 2025-04-01T12:30, tolerance: 0.001}
  - {programmed_mcg: 37250, at: 2025-04-01T13:30, tolerance: 0.001}
"""
    path = tmp_path / "flex.yaml"
    path.write_text(text, encoding="utf-8")
    result = pumpsim.simulate(pumpsim.load_scenario(str(path)))
    assert [o.passed for o in result.outcomes] == [True, True, True]


def test_the_pump_clock_and_the_local_calendar_part_in_summer():
    clock = PARIS_CLOCK
    h = 4215.5  # 2025-07-01 00:30 CEST = 2025-06-30 22:30 UTC
    assert clock.iso(h) == "2025-07-01T00:30:00+02:00"
    assert clock.day(h) == "2025-07-01"
    assert clock.pump().day(h) == "2025-06-30"  # the pump still reads 23:30 on its clock
    assert clock.pump().iso(h) == "2025-06-30T23:30:00+01:00"
    assert clock.offset_changes(300 * 24.0) == [1986.0, 7026.0]


def test_without_a_zone_nothing_changes():
    clock = Clock.of(datetime(2025, 1, 6, 8))
    assert clock.pump() is clock and clock.offset_changes(9000.0) == []
    assert clock.label(4215.5) == "2025-06-30 23:30 (175d 15h 30min)"


def test_the_zone_survives_with_values(tmp_path):
    (tmp_path / "log.csv").write_text(LOG, encoding="utf-8")
    (tmp_path / "s.yaml").write_text(SCENARIO, encoding="utf-8")
    scenario = pumpsim.load_scenario(str(tmp_path / "s.yaml"))
    again = scenario.with_values({"seed": 3})
    assert again.start.tzinfo == PARIS and again.start == scenario.start


def test_a_zone_in_from_dict():
    scenario = pumpsim.Scenario.from_dict(
        {
            "name": "d",
            "duration": "10d",
            "start": "2025-03-29 Europe/Paris",
            "drug": {"concentration_mcg_per_ml": 2000},
            "therapy": {"dose_mcg_per_day": 400},
            "events": [{"at": "2025-03-31", "type": "catheter_repair"}],
        }
    )
    assert scenario.events[0].at == 47.0  # 24 h + a 23 h day


def test_a_zone_and_offset_in_a_scenario_is_invalid_on_its_line(tmp_path, capsys):
    text = SCENARIO.replace("clinic_log: log.csv\n", "").replace(
        "2025-01-06T08:00 Europe/Paris", "2025-01-06T08:00+01:00 Europe/Paris"
    )
    (tmp_path / "s.yaml").write_text(text, encoding="utf-8")
    assert main(["validate", str(tmp_path / "s.yaml")]) == 2
    assert f"{tmp_path}/s.yaml:3: start: " in capsys.readouterr().err
    with pytest.raises(ScenarioError):
        pumpsim.load_scenario(str(tmp_path / "s.yaml"))


def test_the_plot_axis_is_local_time(tmp_path):
    """The figure's date axis is elapsed time labelled in the zone (a 23 h day shows as one)."""
    import matplotlib.dates as mdates

    from pumpsim.outputs.report.plot import figure

    (tmp_path / "log.csv").write_text(LOG, encoding="utf-8")
    (tmp_path / "s.yaml").write_text(SCENARIO, encoding="utf-8")
    result = pumpsim.simulate(pumpsim.load_scenario(str(tmp_path / "s.yaml")))
    fig = figure(result)
    axis = fig.pumpsim_time_axis["axes"]
    assert axis.get_xlabel() == (
        "date (Europe/Paris local time), and time from the start (06 Jan 2025 08:00+01:00)"
    )
    # x = 0 h is 2025-01-06 08:00 local; x = 1993 h is 2025-03-30 10:00 local (summer time)
    left, _ = axis.get_xlim()
    at = mdates.num2date(left + 1993 / 24.0, tz=PARIS)
    assert (at.year, at.month, at.day, at.hour, at.minute) == (2025, 3, 30, 10, 0)
