"""Every bad clinic-log row at once, duplicates, files that are not clinic logs, and errors on
``start:`` (contract section 11)."""

from __future__ import annotations

import pytest

from pumpsim.cli import main
from pumpsim.errors import ScenarioError, ScenarioErrors

SCENARIO = """\
name: log
duration: 200d
pump: {reservoir_ml: 20}
drug: {concentration_mcg_per_ml: 2000}
therapy: {dose_mcg_per_day: 400}
clinic_log: log.csv
"""


def write(tmp_path, csv_text: str, scenario: str = SCENARIO) -> str:
    (tmp_path / "log.csv").write_text(csv_text, encoding="utf-8")
    path = tmp_path / "s.yaml"
    path.write_text(scenario, encoding="utf-8")
    return str(path)


FIVE_BAD = """\
date,event,volume_injected_ml,residual_withdrawn_ml
2026-02-01,refill,20,3
2026-02-30,refill,20,3
2026-03-01,refil,20,3
2026-03-10,refill,20,3
2026-03-02,refill,abc,3
2026-03-03,refill,20,-1
2026-03-04,refill,,
"""


def test_a_log_with_five_bad_rows_gives_five_lines_in_file_order(tmp_path, capsys):
    path = write(tmp_path, FIVE_BAD)
    assert main(["validate", path]) == 2
    lines = capsys.readouterr().err.strip().split("\n")
    assert lines == [
        f"{tmp_path}/log.csv:3: column date: '2026-02-30' is not a calendar date-time: "
        "day is out of range for month",
        f"{tmp_path}/log.csv:4: column event: unknown event 'refil'; did you mean 'refill'?",
        f"{tmp_path}/log.csv:6: column volume_injected_ml: 'abc' is not a number "
        "(units are in the column name)",
        f"{tmp_path}/log.csv:7: column residual_withdrawn_ml: '-1' must not be negative",
        f"{tmp_path}/log.csv:8: column volume_injected_ml: a refill needs the volume injected",
    ]
    # the same lines from run, check and replay
    for command in (["run"], ["check"], ["replay"]):
        assert main([*command, path]) == 2
        captured = capsys.readouterr()
        assert captured.err.strip().split("\n") == lines, command


def test_more_than_fifty_bad_rows_show_fifty_then_the_count(tmp_path, capsys):
    rows = "".join(f"2026-02-{1 + i % 28:02d},bogus{i}\n" for i in range(57))
    path = write(tmp_path, "date,event\n" + rows)
    assert main(["validate", path]) == 2
    lines = capsys.readouterr().err.strip().split("\n")
    assert len(lines) == 51
    assert lines[0].startswith(f"{tmp_path}/log.csv:2: column event: unknown event 'bogus0'")
    assert lines[49].startswith(f"{tmp_path}/log.csv:51: column event:")
    assert lines[50] == "... and 7 more"


def test_a_duplicate_row_is_invalid_naming_both_lines(tmp_path, capsys):
    log = (
        "date,event,residual_expected_ml,residual_withdrawn_ml,volume_injected_ml\n"
        "2026-02-01,refill,8,7.5,20\n"
        "2026-03-01,note,,,\n"
        "2026-03-01,note,,,\n"  # notes may repeat
        "2026-02-01T00:00,refill,8,7.5,20\n"  # the same instant written differently
    )
    path = write(tmp_path, log)
    assert main(["check", path]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"{tmp_path}/log.csv:5: column date: duplicate refill at 2026-02-01 00:00 (31d): "
        "line 2 records a refill at the same instant (lines 2 and 5)"
    )


def test_same_instant_rows_of_different_kinds_are_not_duplicates(tmp_path, capsys):
    log = "date,event,dose_mcg_per_day\n2026-02-01,reprogram,300\n2026-02-01,catheter_repair,\n"
    assert main(["validate", write(tmp_path, log)]) == 0


SECRET = "AKIAEXAMPLESECRET=wJalrXUtnFEMI/K7MDENG"


@pytest.mark.parametrize(
    "content",
    [
        f"{SECRET}\nanother line\n",
        f"[default]\naws_secret_access_key = {SECRET}\n",
        f"user,password\nadmin,{SECRET}\n",
        f'"{SECRET}\n',  # an unclosed quote
    ],
)
def test_a_file_that_is_not_a_clinic_log_is_refused_without_quoting_it(tmp_path, capsys, content):
    path = write(tmp_path, content)
    junit = tmp_path / "junit.xml"
    for command in (["validate"], ["check", "--junit", str(junit)], ["replay"]):
        assert main([*command, path]) == 2
        captured = capsys.readouterr()
        assert SECRET not in captured.err and SECRET not in captured.out
        assert "EXAMPLE" not in captured.err and "admin" not in captured.err
    assert "log.csv:1: not a clinic log" in captured.err or "unreadable CSV" in captured.err
    assert SECRET not in junit.read_text(encoding="utf-8")


def test_a_header_with_one_required_column_is_a_log_with_a_missing_column(tmp_path, capsys):
    path = write(tmp_path, "date,volume_injected_ml\n2026-02-01,20\n")
    assert main(["validate", path]) == 2
    assert "log.csv:1: column event: required column is missing" in capsys.readouterr().err


def test_every_bad_header_column_at_once(tmp_path, capsys):
    path = write(tmp_path, "date,evnt,volume_injected,volume_injected\n")
    assert main(["validate", path]) == 2
    lines = capsys.readouterr().err.strip().split("\n")
    assert [line.split(": ", 1)[1] for line in lines] == [
        "column evnt: unknown column 'evnt'; did you mean 'event'?",
        "column volume_injected: unknown column 'volume_injected'; did you mean "
        "'volume_injected_ml'?",
        "column volume_injected: unknown column 'volume_injected'; did you mean "
        "'volume_injected_ml'?",
    ]


def test_scenario_errors_lines_and_str():
    errors = [ScenarioError(f"bad {i}", file="f.csv", line=i + 2) for i in range(52)]
    multi = ScenarioErrors(errors)
    assert multi.line == 2 and multi.file == "f.csv"
    assert multi.lines()[-1] == "... and 2 more" and len(multi.lines()) == 51
    assert str(multi) == "\n".join(multi.lines())


def test_a_bad_start_is_named_on_its_own_line(tmp_path, capsys):
    text = """\
name: x
duration: 200d
drug: {concentration_mcg_per_ml: 2000}
start: soon
therapy: {dose_mcg_per_day: 400}
expect:
  - {alarm: low_reservoir, never: true}
  - {flag: abrupt_discontinuation, first_within: [2026-01-02, 2026-01-03]}
"""
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"{path}:4: start: ")
    assert "first_within" not in err


def test_rows_found_bad_by_the_device_profile_are_all_reported(tmp_path, capsys):
    log = (
        "date,event,volume_injected_ml,dose_mcg_per_day\n"
        "2026-01-10,refill,25,\n"
        "2026-01-20,refill,20,\n"
        "2026-02-01,refill,30,\n"
        "2026-02-10,reprogram,,1\n"
    )
    assert main(["validate", write(tmp_path, log)]) == 2
    lines = capsys.readouterr().err.strip().split("\n")
    assert lines == [
        f"{tmp_path}/log.csv:2: column volume_injected_ml: refill of 25 mL exceeds the 20 mL "
        "reservoir",
        f"{tmp_path}/log.csv:4: column volume_injected_ml: refill of 30 mL exceeds the 20 mL "
        "reservoir",
        f"{tmp_path}/log.csv:5: column dose_mcg_per_day: 1 mcg/day at 2000 mcg/mL is 0.0005 "
        "mL/day, outside the synchromed-ii programmable range 0.048-24 mL/day",
    ]


def test_an_overfilled_refill_is_reported_with_the_rows_bad_in_themselves(tmp_path, capsys):
    # Review C, C1: the refill too large for the reservoir came only once the other rows were
    # fixed; a new pump's reservoir_ml counts from it on.
    log = (
        "date,event,volume_injected_ml,residual_withdrawn_ml,reservoir_ml\n"
        "2026-01-10,refill,25,,\n"
        "2026-01-20,refill,20,nan,\n"
        "2026-02-01,pump_replacement,40,,40\n"
        "2026-03-01,refill,30,,\n"
        "2026-04-01,refill,45,,\n"
    )
    assert main(["validate", write(tmp_path, log)]) == 2
    lines = capsys.readouterr().err.strip().split("\n")
    assert lines == [
        f"{tmp_path}/log.csv:2: column volume_injected_ml: refill of 25 mL exceeds the 20 mL "
        "reservoir",
        f"{tmp_path}/log.csv:3: column residual_withdrawn_ml: 'nan' is not a finite number",
        f"{tmp_path}/log.csv:6: column volume_injected_ml: refill of 45 mL exceeds the 40 mL "
        "reservoir",
    ]


def test_past_fifty_rows_found_bad_by_the_profile_the_search_stops(tmp_path, capsys):
    rows = "".join(f"2026-02-{1 + i % 28:02d}T{i // 28:02d}:00,refill,25\n" for i in range(70))
    assert main(["validate", write(tmp_path, "date,event,volume_injected_ml\n" + rows)]) == 2
    lines = capsys.readouterr().err.strip().split("\n")
    assert len(lines) == 51 and lines[-1] == "... and more"
    assert all("exceeds the 20 mL reservoir" in line for line in lines[:50])
