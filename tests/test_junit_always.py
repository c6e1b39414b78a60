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
