"""``--junit FILE`` is always written by run, check and replay; never a stale report
(contract section 11)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from pumpsim.cli import main

GOOD = """\
name: good
duration: 100d
drug: {concentration_mcg_per_ml: 2000}
therapy: {dose_mcg_per_day: 400}
expect:
  - {alarm: low_reservoir, first_at: 90d}
"""
STALE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="pumpsim" tests="1" failures="0" '
    'errors="0"><testcase classname="old" name="old: passed"/></testsuite>\n'
)


def cases(path) -> list[ET.Element]:
    return ET.parse(path).getroot().findall("testcase")


@pytest.mark.parametrize("command", ["run", "check", "replay"])
def test_invalid_input_replaces_an_old_report_with_one_error_case(tmp_path, capsys, command):
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(GOOD.replace("100d", "100"), encoding="utf-8")
    junit = tmp_path / "junit.xml"
    junit.write_text(STALE, encoding="utf-8")
    assert main([command, str(scenario), "--junit", str(junit)]) == 2
    capsys.readouterr()
    root = ET.parse(junit).getroot()
    assert root.get("errors") == "1" and root.get("tests") == "1"
    (case,) = cases(junit)
    assert case.get("classname") == str(scenario)
    error = case.find("error")
    assert error is not None
    assert error.get("message").startswith(f"{scenario}:2: duration: bare number")


@pytest.mark.parametrize("command", ["run", "check", "replay"])
def test_a_missing_scenario_file_is_an_error_case(tmp_path, capsys, command):
    junit = tmp_path / "junit.xml"
    junit.write_text(STALE, encoding="utf-8")
    missing = str(tmp_path / "nope.yaml")
    assert main([command, missing, "--junit", str(junit)]) == 2
    capsys.readouterr()
    (case,) = cases(junit)
    assert case.get("classname") == missing and "no such file" in case.find("error").get("message")


def test_check_of_an_empty_folder_is_an_error_case(tmp_path, capsys):
    folder = tmp_path / "empty"
    folder.mkdir()
    junit = tmp_path / "junit.xml"
    junit.write_text(STALE, encoding="utf-8")
    assert main(["check", str(folder), "--junit", str(junit)]) == 2
    capsys.readouterr()
    (case,) = cases(junit)
    assert "no *.yaml" in case.find("error").get("message")


@pytest.mark.parametrize("command", ["run", "replay"])
def test_a_valid_run_writes_one_case_per_expectation(tmp_path, capsys, command):
    scenario = tmp_path / "good.yaml"
    scenario.write_text(GOOD + "  - {alarm: empty_reservoir, first_at: 10d}\n", encoding="utf-8")
    junit = tmp_path / "junit.xml"
    assert main([command, str(scenario), "--junit", str(junit)]) == 1
    capsys.readouterr()
    got = cases(junit)
    assert len(got) == 2
    assert got[0].find("failure") is None and got[1].find("failure") is not None


def test_an_interrupt_leaves_an_error_case_not_the_old_report(tmp_path, capsys, monkeypatch):
    scenario = tmp_path / "good.yaml"
    scenario.write_text(GOOD, encoding="utf-8")
    junit = tmp_path / "junit.xml"
    junit.write_text(STALE, encoding="utf-8")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("pumpsim.outputs.api.simulate", interrupted)
    assert main(["replay", str(scenario), "--junit", str(junit)]) == 130
    capsys.readouterr()
    (case,) = cases(junit)
    assert case.find("error").get("message") == "pumpsim: interrupted"


def test_an_internal_error_is_an_error_case(tmp_path, capsys, monkeypatch):
    scenario = tmp_path / "good.yaml"
    scenario.write_text(GOOD, encoding="utf-8")
    junit = tmp_path / "junit.xml"

    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr("pumpsim.outputs.api.simulate", broken)
    assert main(["run", str(scenario), "--junit", str(junit)]) == 4
    capsys.readouterr()
    (case,) = cases(junit)
    assert "internal error: ZeroDivisionError: boom" in case.find("error").get("message")


def test_a_bad_junit_path_is_refused_before_any_work(tmp_path, capsys):
    scenario = tmp_path / "good.yaml"
    scenario.write_text(GOOD, encoding="utf-8")
    assert main(["run", str(scenario), "--junit", str(tmp_path / "no" / "j.xml")]) == 2
    assert "cannot write the JUnit XML" in capsys.readouterr().err


REFUSED = [
    (command, extra)
    for command in ("run", "check", "replay")
    for extra in (
        ["--fail-on", "bogus"],
        ["--bogus-flag"],
        ["--json", "DIR"],
        ["--json", "no/x.json"],
    )
    if command != "check" or extra[0] != "--json"  # check writes no result document
]


@pytest.mark.parametrize(("command", "extra"), REFUSED)
def test_a_refused_command_line_or_output_path_replaces_an_old_report(
    tmp_path, capsys, command, extra
):
    # Review C, A2: these exits left a stale green report in place.
    scenario = tmp_path / "good.yaml"
    scenario.write_text(GOOD, encoding="utf-8")
    (tmp_path / "DIR").mkdir()
    extra = [str(tmp_path / e) if e in ("DIR", "no/x.json") else e for e in extra]
    junit = tmp_path / "junit.xml"
    junit.write_text(STALE, encoding="utf-8")
    assert main([command, str(scenario), "--junit", str(junit), *extra]) == 2
    capsys.readouterr()
    root = ET.parse(junit).getroot()
    assert root.get("errors") == "1" and "old: passed" not in junit.read_text(encoding="utf-8")


def test_a_report_that_cannot_be_written_never_removes_a_device_or_a_link(tmp_path, capsys):
    # Review C, A1: the unwritable report's path was unlinked whatever it was (/dev/full went).
    import os

    scenario = tmp_path / "bad.yaml"
    scenario.write_text(GOOD.replace("100d", "100"), encoding="utf-8")
    link = tmp_path / "link.xml"
    os.symlink("/dev/full", link)
    assert main(["run", str(scenario), "--junit", str(link)]) == 2  # the invalid input
    capsys.readouterr()
    assert link.is_symlink() and os.path.exists("/dev/full")
    assert not os.path.isfile("/dev/full") or os.stat("/dev/full").st_rdev


@pytest.mark.parametrize("command", ["run", "replay"])
def test_an_output_on_an_input_is_refused_and_the_input_kept(tmp_path, capsys, command):
    # Review C, A3: --json on the clinic log replaced the patient's record with JSON.
    scenario = tmp_path / "s.yaml"
    log = tmp_path / "log.csv"
    log.write_text(
        "date,event,residual_expected_ml,residual_withdrawn_ml,volume_injected_ml\n"
        "2026-03-02,refill,8.0,8.0,20\n",
        encoding="utf-8",
    )
    scenario.write_text(
        "name: s\nstart: 2026-01-01\nduration: 100d\ndrug: {concentration_mcg_per_ml: 2000}\n"
        "therapy: {dose_mcg_per_day: 400}\nclinic_log: log.csv\n",
        encoding="utf-8",
    )
    before = {p: p.read_bytes() for p in (scenario, log)}
    targets = [scenario] + ([log] if command == "replay" else [])
    for target in targets:
        for option in ("--json", "--junit"):
            assert main([command, str(scenario), option, str(target)]) == 2
            err = capsys.readouterr().err
            assert f"it is the input {target}" in err and err.count("\n") == 1, err
            assert {p: p.read_bytes() for p in before} == before
    # one output over another: refused too
    same = tmp_path / "same.out"
    assert main([command, str(scenario), "--json", str(same), "--junit", str(same)]) == 2
    assert "it is the result" in capsys.readouterr().err
    # an empty path is not a path
    assert main([command, str(scenario), "--json", ""]) == 2
    assert "the path is empty" in capsys.readouterr().err
