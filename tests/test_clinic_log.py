"""Clinic logs (contract section 7): every column, every row type, encodings, dates, bad rows."""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pumpsim
from pumpsim.cli import main
from pumpsim.errors import ScenarioError
from pumpsim.model.clock import Clock
from pumpsim.scenario import schema
from pumpsim.scenario.clinic_log import COLUMNS, EVENT_KINDS, parse_clinic_log

CLOCK = Clock.of(datetime(2026, 1, 1))
END_H = 200 * 24.0

SCENARIO = """\
name: log
duration: 200d
{start}pump: {{reservoir_ml: 20}}
drug: {{concentration_mcg_per_ml: 2000}}
therapy: {{dose_mcg_per_day: 400}}
clinic_log: log.csv
"""


def write(tmp_path, csv_text: str, *, start: str = "", raw: bytes | None = None) -> str:
    (tmp_path / "log.csv").write_bytes(raw if raw is not None else csv_text.encode("utf-8"))
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.format(start=start), encoding="utf-8")
    return str(path)


def parse(text: str, clock: Clock = CLOCK):
    return parse_clinic_log(textwrap.dedent(text), "log.csv", clock, END_H)


def one_event(row: str, header: str) -> dict:
    log = parse(f"date,event,{header}\n2026-02-01,{row}\n")
    assert len(log.events) == 1
    return log.events[0]


# -- each row type ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "row", "want"),
    [
        (
            "volume_injected_ml,concentration_mcg_per_ml,bridge_bolus,pocket_fraction",
            "refill,18,3000,yes,0.1",
            {
                "type": "refill",
                "volume_ml": 18.0,
                "concentration_mcg_per_ml": 3000.0,
                "bridge_bolus": True,
                "pocket_fraction": 0.1,
            },
        ),
        ("volume_injected_ml", "missed_refill,", {"type": "refill", "missed": True}),
        (
            "dose_mcg_per_day",
            "reprogram,350",
            {"type": "reprogram", "therapy": {"mode": "continuous", "dose_mcg_per_day": 350.0}},
        ),
        (
            "mode,flex_steps",
            "reprogram,flex,00:00=10;08:00=30",
            {
                "type": "reprogram",
                "therapy": {
                    "mode": "flex",
                    "steps": [
                        {"at": "00:00", "dose_mcg_per_hour": 10.0},
                        {"at": "08:00", "dose_mcg_per_hour": 30.0},
                    ],
                },
            },
        ),
        ("dose_mcg,duration", "bolus,50,2h", {"type": "bolus", "dose_mcg": 50.0, "duration": "2h"}),
        (
            "kind,delivered_fraction,duration",
            "catheter_fault,kink,0.4,3d",
            {"type": "catheter_fault", "kind": "kink", "delivered_fraction": 0.4, "duration": "3d"},
        ),
        ("kind", "catheter_repair,", {"type": "catheter_repair"}),
        (
            "duration,recovery_delay",
            "mri,1h,20min",
            {"type": "mri", "duration": "1h", "recovery_delay": "20min"},
        ),
        ("duration", "motor_stall,6h", {"type": "motor_stall", "duration": "6h"}),
        (
            "volume_injected_ml,reservoir_ml",
            "pump_replacement,40,40",
            {"type": "pump_replacement", "volume_ml": 40.0, "reservoir_ml": 40.0},
        ),
    ],
)
def test_each_row_type_becomes_its_event(header, row, want):
    event = one_event(row, header)
    assert event.pop("at") == 31 * 24.0
    assert event == want


def test_a_refill_row_sets_the_programme_too():
    event = one_event("refill,20,320", "volume_injected_ml,dose_mcg_per_day")
    assert event["therapy"] == {"mode": "continuous", "dose_mcg_per_day": 320.0}


def test_note_rows_make_no_event_but_keep_their_measurement():
    log = parse('date,event,residual_expected_ml,note\n2026-02-01,note,4.5,"interrogation only"\n')
    assert log.events == []
    assert log.expectations == [{"residual_expected_ml": 4.5, "at": 744.0, "source": "log.csv:2"}]


def test_every_event_kind_is_covered():
    assert set(EVENT_KINDS) == {
        "refill",
        "missed_refill",
        "reprogram",
        "bolus",
        "catheter_fault",
        "catheter_repair",
        "mri",
        "motor_stall",
        "pump_replacement",
        "note",
    }


# -- measurements become expectations ---------------------------------------------------------


def test_recorded_measurements_become_expectations_each_with_its_row():
    log = parse(
        """\
        date,event,residual_expected_ml,residual_withdrawn_ml,volume_injected_ml,alarm_date
        2026-03-02,refill,8,7.6,20,2026-05-31
        """
    )
    at = 60 * 24.0
    assert log.expectations == [
        {"residual_expected_ml": 8.0, "at": at, "source": "log.csv:2"},
        {"residual_withdrawn_ml": 7.6, "at": at, "source": "log.csv:2"},
        {"alarm_date": datetime(2026, 5, 31).date(), "at": at, "source": "log.csv:2"},
    ]


def test_each_measurement_is_a_result_line_and_a_junit_case(tmp_path):
    path = write(
        tmp_path,
        "date,event,residual_expected_ml,residual_withdrawn_ml,volume_injected_ml,alarm_date\n"
        "2026-03-02,refill,8,7.6,20,2026-05-31\n"
        "2026-05-25,refill,8.4,8.4,20,2026-08-23\n",
    )
    result = pumpsim.simulate(pumpsim.load_scenario(path))
    texts = [o.text for o in result.outcomes]
    assert texts == [
        "log.csv:2: residual expected 8 mL at 2026-03-02 00:00 (60d)",
        "log.csv:2: residual withdrawn 7.6 mL at 2026-03-02 00:00 (60d)",
        "log.csv:2: low-reservoir alarm date printed at 2026-03-02 00:00 (60d) is 2026-05-31",
        "log.csv:3: residual expected 8.4 mL at 2026-05-25 00:00 (144d)",
        "log.csv:3: residual withdrawn 8.4 mL at 2026-05-25 00:00 (144d)",
        "log.csv:3: low-reservoir alarm date printed at 2026-05-25 00:00 (144d) is 2026-08-23",
    ]
    # 8 mL expected (20 - 60 x 0.2); 7.6 withdrawn is within 1 mL; the alarm at 18 mL / 0.2 mL
    # a day = 90 days later. At the second visit 20 - 84 x 0.2 = 3.2 mL: the log says 8.4.
    assert [o.passed for o in result.outcomes] == [True, True, True, False, False, True]
    assert result.outcomes[3].actual == "3.200 mL (simulated pump estimate)"
    junit = tmp_path / "j.xml"
    assert main(["check", path, "--junit", str(junit)]) == 1
    import xml.etree.ElementTree as ET

    root = ET.parse(junit).getroot()
    assert root.get("tests") == "6" and root.get("failures") == "2"
    names = [c.get("name") for c in root.findall("testcase")]
    assert names[0] == "log: log.csv:2: residual expected 8 mL at 2026-03-02 00:00 (60d)"


def test_alarm_date_on_a_reprogram_row_uses_the_new_programme(tmp_path):
    # At day 30: estimate 20 - 6 = 14 mL; at 200 mcg/day (0.1 mL/day) the 2 mL alarm is 120 days
    # later: 2026-01-31 + 120 d = 2026-05-31.
    path = write(
        tmp_path,
        "date,event,dose_mcg_per_day,alarm_date,residual_expected_ml\n"
        "2026-01-31,reprogram,200,2026-05-31,14.0\n",
    )
    result = pumpsim.simulate(pumpsim.load_scenario(path))
    assert [o.passed for o in result.outcomes] == [True, True]


# -- reading the file -------------------------------------------------------------------------


def test_bom_crlf_and_quoted_cells(tmp_path):
    text = (
        "date,event,volume_injected_ml,note\r\n"
        '2026-02-01,refill,20,"refill, routine"\r\n'
        '"2026-03-01","refill","18","said ""fine"""\r\n'
    )
    path = write(tmp_path, "", raw=b"\xef\xbb\xbf" + text.encode("utf-8"))
    sc = pumpsim.load_scenario(path)
    assert [(e.at, e.volume_ml) for e in sc.events] == [(744.0, 20.0), (1416.0, 18.0)]


def test_rows_in_any_order_and_same_instant_rows_keep_file_order():
    # Same-instant rows of different kinds keep file order (two of one kind are a duplicate).
    log = parse(
        """\
        date,event,dose_mcg_per_day,volume_injected_ml,dose_mcg,duration
        2026-03-01,reprogram,300,,,
        2026-02-01,refill,,20,,
        2026-03-01,bolus,,,50,1h
        2026-03-01T00:00,catheter_repair,,,,
        """
    )
    assert [(e["at"], e["type"]) for e in log.events] == [
        (744.0, "refill"),
        (1416.0, "reprogram"),
        (1416.0, "bolus"),
        (1416.0, "catheter_repair"),
    ]


def test_date_only_is_midnight_on_the_start_clock_and_offsets_convert():
    clock = Clock.of(datetime(2026, 1, 1, 8, tzinfo=timezone(timedelta(hours=1))))
    log = parse(
        """\
        date,event
        2026-01-02,catheter_repair
        2026-01-02T09:30,catheter_repair
        2026-01-02T09:30+02:00,catheter_repair
        """,
        clock,
    )
    # 09:30+02:00 is 07:30 UTC, 24.5 h after 08:00+01:00 (07:00 UTC); 09:30 on the start's
    # +01:00 is 25.5 h after it. Rows are placed in time order.
    assert [e["at"] for e in log.events] == [16.0, 24.5, 25.5]


def test_offset_in_a_row_without_one_on_start_is_refused():
    with pytest.raises(ScenarioError) as err:
        parse("date,event\n2026-01-02T09:30+02:00,catheter_repair\n")
    assert str(err.value).startswith("log.csv:2: column date:")
    assert "has a UTC offset but start: has none" in str(err.value)


def test_physical_line_numbers_count_newlines_inside_quoted_cells():
    with pytest.raises(ScenarioError) as err:
        parse(
            'date,event,note,dose_mcg\n2026-01-02,catheter_repair,"two\nlines"\n\n'
            "2026-01-03,bolus,,lots\n"
        )
    assert str(err.value).startswith("log.csv:5: column dose_mcg: 'lots' is not a number")


# -- bad rows: one line naming the file, the physical line and the column ----------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (
            "date,event,volume_injected\n",
            "log.csv:1: column volume_injected: unknown column "
            "'volume_injected'; did you mean 'volume_injected_ml'?",
        ),
        ("date,evnt\n", "did you mean 'event'?"),
        ("date,event,date\n", "log.csv:1: column date: appears twice"),
        ("event,note\n", "log.csv:1: column date: required column is missing"),
        (
            "date,event\n2026-01-02,refil\n",
            "log.csv:2: column event: unknown event 'refil'; did you mean 'refill'?",
        ),
        ("date,event\n,refill\n", "log.csv:2: column date: required cell is empty"),
        ("date,event\n2026-01-02,\n", "log.csv:2: column event: required cell is empty"),
        ("date,event\n2026-02-30,note\n", "log.csv:2: column date: '2026-02-30' is not a calendar"),
        ("date,event\n02/01/2026,note\n", "log.csv:2: column date: '02/01/2026' is not a calendar"),
        (
            "date,event\n2025-12-31,note\n",
            "log.csv:2: column date: 2025-12-31 00:00 (-1d) is "
            "before the start of the scenario, 2026-01-01 00:00",
        ),
        (
            "date,event\n2026-07-21,note\n",
            "log.csv:2: column date: 2026-07-21 00:00 (201d) is "
            "after the end of the scenario, 2026-07-20 00:00 (200d)",
        ),
        (
            "date,event\n2026-01-02,refill\n",
            "log.csv:2: column volume_injected_ml: a refill needs the volume injected",
        ),
        (
            "date,event,volume_injected_ml\n2026-01-02,refill,-3\n",
            "log.csv:2: column volume_injected_ml: '-3' must not be negative",
        ),
        ("date,event,volume_injected_ml\n2026-01-02,refill,nan\n", "not a finite number"),
        (
            "date,event,volume_injected_ml,bridge_bolus\n2026-01-02,refill,20,maybe\n",
            "log.csv:2: column bridge_bolus: 'maybe': expected yes or no",
        ),
        (
            "date,event,volume_injected_ml,pocket_fraction\n2026-01-02,refill,20,1.5\n",
            "log.csv:2: column pocket_fraction: 1.5: must be less than or equal to 1",
        ),
        (
            "date,event,mode\n2026-01-02,reprogram,pulsed\n",
            "log.csv:2: column mode: 'pulsed': expected continuous or flex",
        ),
        (
            "date,event,flex_steps\n2026-01-02,reprogram,08:00=10\n",
            "log.csv:2: column flex_steps: the first step must start at '00:00'",
        ),
        (
            "date,event,flex_steps\n2026-01-02,reprogram,00:00-10\n",
            "log.csv:2: column flex_steps: step '00:00-10' must be HH:MM=mcg/h",
        ),
        (
            "date,event\n2026-01-02,reprogram\n",
            "log.csv:2: column dose_mcg_per_day: a reprogram row needs the programme set",
        ),
        ("date,event,dose_mcg\n2026-01-02,bolus,50\n", "log.csv:2: column duration:"),
        # review C, C5: pydantic's "Field required" became the log's own words
        ("date,event,duration\n2026-01-02,mri,\n", "log.csv:2: column duration: an mri row needs"),
        ("date,event,duration\n2026-01-02,bolus,2\n", "log.csv:2: column duration: bare number"),
        (
            "date,event,kind\n2026-01-02,catheter_fault,snapped\n",
            "log.csv:2: column kind: 'snapped' is not allowed",
        ),
        (
            "date,event,kind\n2026-01-02,catheter_fault,leak\n",
            "log.csv:2: column delivered_fraction: a leak needs delivered_fraction",
        ),
        (
            "date,event,delivered_fraction,kind\n2026-01-02,catheter_fault,2,kink\n",
            "log.csv:2: column delivered_fraction: 2.0: must be less than or equal to 1",
        ),
        (
            "date,event,volume_injected_ml\n2026-01-02,bolus,20\n",
            "log.csv:2: column volume_injected_ml: does not apply to a bolus row",
        ),
        (
            "date,event,residual_withdrawn_ml\n2026-01-02,missed_refill,3\n",
            "log.csv:2: column residual_withdrawn_ml: does not apply to a missed_refill row",
        ),
        (
            "date,event,alarm_date,dose_mcg_per_day\n2026-01-02,reprogram,soon,300\n",
            "log.csv:2: column alarm_date: 'soon' is not a calendar date",
        ),
        (
            "date,event\n2026-01-02,note,extra\n",
            "log.csv:2: row has 3 cells but the header names 2 columns",
        ),
        ("", "log.csv:1: clinic log is empty"),
        ('date,event\n"2026-01-02,note\n', "log.csv:"),
    ],
)
def test_bad_rows_name_file_line_and_column(text, want):
    with pytest.raises(ScenarioError) as err:
        parse(text)
    message = str(err.value)
    assert want in message and "\n" not in message


def test_errors_found_after_reading_point_at_the_row(tmp_path, capsys):
    """A volume above the reservoir is checked with the device profile: still the CSV row."""
    path = write(
        tmp_path, "date,event,volume_injected_ml\n2026-01-10,refill,20\n2026-02-01,refill,25\n"
    )
    assert main(["validate", path]) == 2
    err = capsys.readouterr().err
    assert err.strip().endswith(
        "log.csv:3: column volume_injected_ml: refill of 25 mL exceeds the 20 mL reservoir"
    )
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_programme_outside_the_pump_range_points_at_the_row(tmp_path, capsys):
    path = write(tmp_path, "date,event,dose_mcg_per_day\n2026-01-10,reprogram,90000\n")
    assert main(["validate", path]) == 2
    assert "log.csv:2: column dose_mcg_per_day: 90000 mcg/day" in capsys.readouterr().err


def test_missing_log_is_invalid_input(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.format(start=""), encoding="utf-8")
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    # the scenario file, the clinic_log key and its line, then the log that is missing
    assert err.startswith(f"{path}:") and " clinic_log: " in err
    assert err.endswith("log.csv: no such clinic log")


def test_not_utf8_names_the_line(tmp_path, capsys):
    path = write(tmp_path, "", raw=b"date,event,note\n2026-01-02,note,caf\xe9\n")
    assert main(["validate", path]) == 2
    assert "log.csv:2: file is not UTF-8 text (byte 0xe9" in capsys.readouterr().err


def test_log_is_relative_to_the_scenario_file(tmp_path, monkeypatch):
    path = write(tmp_path, "date,event,volume_injected_ml\n2026-01-10,refill,20\n")
    monkeypatch.chdir("/")
    assert pumpsim.load_scenario(path).events[0].at == 9 * 24.0


def test_log_events_join_the_scenario_events(tmp_path):
    (tmp_path / "log.csv").write_text("date,event,volume_injected_ml\n2026-01-10,refill,20\n")
    path = tmp_path / "s.yaml"
    path.write_text(
        SCENARIO.format(start="")
        + "events:\n  - {at: 5d, type: bolus, dose_mcg: 10, duration: 1h}\n"
    )
    sc = pumpsim.load_scenario(str(path))
    assert [type(e) for e in sc.events] == [schema.BolusEvent, schema.RefillEvent]


def test_every_column_is_documented_in_the_schema():
    from pumpsim.scenario.clinic_log import clinic_log_json_schema

    doc = clinic_log_json_schema()
    assert list(doc["properties"]) == list(COLUMNS)
    assert doc["required"] == ["date", "event"] and doc["additionalProperties"] is False


# -- properties ---------------------------------------------------------------------------------

_CELL = st.one_of(
    st.sampled_from(["", "20", "-1", "x", "2026-02-01", "2026-02-01T08:00+01:00", "1h", "yes"]),
    st.sampled_from(EVENT_KINDS),
    st.text(max_size=6),
)


@settings(max_examples=200, deadline=None)
@given(
    header=st.lists(st.sampled_from([*COLUMNS, "bogus"]), min_size=1, max_size=6),
    rows=st.lists(st.lists(_CELL, max_size=7), max_size=5),
)
def test_any_log_text_is_read_or_refused_with_one_line(header, rows):
    text = "\n".join(",".join(f'"{c}"' if "," in c else c for c in r) for r in [header, *rows])
    try:
        log = parse_clinic_log(text, "log.csv", CLOCK, END_H)
    except ScenarioError as exc:
        # one line per bad row, in file order (a header problem stops before the rows)
        lines = str(exc).split("\n")
        assert lines == exc.lines()
        assert all(line.startswith("log.csv:") for line in lines)
        numbers = [int(line.split(":")[1]) for line in lines]
        assert numbers == sorted(numbers)
    else:
        assert len(log.events) == len(log.origins)
        assert [e["at"] for e in log.events] == sorted(e["at"] for e in log.events)


@settings(max_examples=200, deadline=None)
@given(
    minutes=st.integers(0, 200 * 24 * 60),
    offset_min=st.integers(-14 * 60, 14 * 60),
)
def test_iso_instants_round_trip_through_the_clock(minutes, offset_min):
    clock = Clock.of(datetime(2026, 1, 1, 6, tzinfo=timezone(timedelta(minutes=offset_min))))
    hours = minutes / 60.0
    log = parse_clinic_log(
        f"date,event\n{clock.iso(hours)},catheter_repair\n", "log.csv", clock, END_H + 24
    )
    assert log.events[0]["at"] == pytest.approx(hours, abs=1e-9)


def test_a_note_row_checks_the_estimate_and_shows_as_a_visit(tmp_path, capsys):
    # Day 30 at 0.2 mL/day: 14 mL left in the pump's estimate; nothing else changes.
    path = write(
        tmp_path, 'date,event,residual_expected_ml,note\n2026-01-31,note,14.0,"interrogation"\n'
    )
    result = pumpsim.simulate(pumpsim.load_scenario(path))
    assert [(o.passed, o.actual) for o in result.outcomes] == [
        (True, "14.000 mL (simulated pump estimate)")
    ]
    assert main(["replay", path]) == 0
    assert "2026-01-31 00:00 (30d)  visit  14.00 / 14.00" in capsys.readouterr().out


def test_a_note_below_a_refill_of_its_instant_reads_the_refilled_pump(tmp_path, capsys):
    # Review C, A4: same-instant rows keep file order (contract 7): a note below the refill
    # interrogates the refilled pump (20 mL), a note above it the pump before (14 mL).
    path = write(
        tmp_path,
        "date,event,residual_expected_ml,residual_withdrawn_ml,volume_injected_ml\n"
        "2026-03-02,refill,8.0,8.0,20\n2026-03-02,note,20.0,,\n"
        "2026-04-01,note,14.0,,\n2026-04-01,refill,14.0,14.0,20\n",
    )
    result = pumpsim.simulate(pumpsim.load_scenario(path))
    assert all(o.passed for o in result.outcomes), [o.text for o in result.outcomes if not o.passed]
    assert main(["replay", path]) == 0
    out = capsys.readouterr().out
    # the refill rows show the refill's own recorded residual and the clinic's discrepancy
    assert "refill  8.00 / 8.00          8.00 / 8.00           +0.00 / +0.00" in out


def test_visit_expectations_can_be_written_in_yaml_too(write_yaml, capsys):
    from conftest import scenario_text

    text = scenario_text(
        extra=(
            "events:\n  - {at: 2026-01-21, type: refill, volume_ml: 20}\n"
            "expect:\n"
            "  - {residual_expected_ml: 16.0, at: 2026-01-21}\n"
            "  - {residual_withdrawn_ml: 15.5, at: 20d}\n"
            "  - {alarm_date: 2026-04-21, at: 20d, source: chart p. 3}\n"
        )
    )
    result = pumpsim.simulate(pumpsim.load_scenario_text(text))
    assert [o.passed for o in result.outcomes] == [True, True, True]
    assert result.outcomes[2].text.startswith("chart p. 3: low-reservoir alarm date")
    bad = write_yaml(text.replace("source: chart p. 3", "tolerance: 1"))
    assert main(["validate", bad]) == 2
    assert "alarm_date is a calendar day: it takes no tolerance" in capsys.readouterr().err
    missing = write_yaml(
        text.replace("{alarm_date: 2026-04-21, at: 20d", "{alarm_date: 2026-04-21")
    )
    assert main(["validate", missing]) == 2
    assert "alarm_date needs at:" in capsys.readouterr().err


def test_a_fifo_as_clinic_log_is_refused_without_waiting(tmp_path, capsys):
    import os

    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.format(start=""), encoding="utf-8")
    os.mkfifo(tmp_path / "log.csv")  # nobody will ever write into it: opening it would hang
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert " clinic_log: " in err and err.endswith("is a FIFO (named pipe), not a clinic log")
