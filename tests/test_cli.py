"""The command line: run, check, validate; exit codes; whole-or-nothing outputs."""

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import SCENARIOS

from pumpsim.cli import main

MISSED = str(SCENARIOS / "missed-refill.yaml")


def test_run_prints_timeline_and_writes_document(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["run", MISSED, "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "ALARM low_reservoir raised" in text
    assert (
        "FLAG   abrupt_discontinuation raised (cause minimum_rate, alarmed, severity high)" in text
    )
    doc = json.loads(out.read_text())
    for key in (
        "scenario",
        "seed",
        "duration_h",
        "pumpsim_version",
        "alarms",
        "flags",
        "refills",
        "totals",
        "expectations",
        "passed",
    ):
        assert key in doc
    assert doc["scenario"] == "missed-refill" and doc["seed"] == 7 and doc["duration_h"] == 2640.0
    assert doc["alarms"][0] == {
        "type": "low_reservoir",
        "priority": "non_critical",
        "start_h": pytest.approx(2160.0, abs=1e-9),
        "start_at": "2026-04-01T00:00:00",
        "end_h": None,
        "end_at": None,
        "tone": "1-second single tone",
        "tone_interval_h": 1.0,
        "tone_count": 481,
    }
    assert doc["start_at"] == "2026-01-01T00:00:00" and doc["end_at"] == "2026-04-21T00:00:00"
    assert doc["refills"][0]["at"] == "2026-03-27T00:00:00"  # the missed day-85 refill
    assert doc["passed"] is True
    assert not list(tmp_path.glob(".pumpsim-*"))  # no temporary left behind


def test_same_input_same_bytes(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    for path in (a, b):
        subprocess.run(
            [sys.executable, "-m", "pumpsim", "run", "-q", MISSED, "--json", str(path)], check=True
        )
    assert a.read_bytes() == b.read_bytes()


def test_json_to_stdout(capsys):
    assert main(["run", "-q", MISSED, "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["scenario"] == "missed-refill"


def test_unwritable_output_is_exit_2_and_leaves_nothing(tmp_path, capsys):
    target = tmp_path / "missing-dir" / "r.json"
    assert main(["run", "-q", MISSED, "--json", str(target)]) == 2
    assert "cannot write" in capsys.readouterr().err
    assert not target.exists()


def test_existing_output_untouched_when_input_invalid(tmp_path, write_yaml):
    out = tmp_path / "r.json"
    out.write_text("previous")
    bad = write_yaml("name: x\nduration: 5\n")
    assert main(["run", bad, "--json", str(out)]) == 2
    assert out.read_text() == "previous"


def test_check_exit_codes_and_failure_table(tmp_path, capsys, write_yaml):
    assert main(["check", MISSED]) == 0
    failing = (
        (SCENARIOS / "missed-refill.yaml").read_text().replace("first_at: 90d,", "first_at: 91d,")
    )
    path = write_yaml(failing, "failing.yaml")
    assert main(["check", path]) == 1
    out = capsys.readouterr().out
    assert (
        "FAIL" in out
        and "expected: first at 2026-04-02 00:00 (91d) ± 1min" in out
        and "actual:   first at 2026-04-01 00:00 (90d)" in out
    )
    bad = write_yaml("name: x\n", "bad.yaml")
    assert main(["check", MISSED, bad]) == 2
    captured = capsys.readouterr()
    assert "INVALID" in captured.out and "bad.yaml" in captured.err


def test_check_folder_prints_matrix_and_junit(tmp_path, capsys):
    junit = tmp_path / "junit.xml"
    assert main(["check", str(SCENARIOS), "--junit", str(junit)]) == 0
    out = capsys.readouterr().out
    assert "HAZARD TRACEABILITY" in out and "UNCOVERED" not in out
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuite" and int(root.get("tests")) >= 20 and root.get("failures") == "0"
    case = root.find("testcase")
    assert case is not None and case.find("properties/property").get("name") == "hazard"


def test_junit_reports_failures(tmp_path, write_yaml):
    failing = (SCENARIOS / "missed-refill.yaml").read_text().replace("count: 1,", "count: 2,")
    path = write_yaml(failing, "failing.yaml")
    junit = tmp_path / "j.xml"
    assert main(["check", path, "--junit", str(junit)]) == 1
    root = ET.parse(junit).getroot()
    assert root.get("failures") == "1"
    assert "expected 2 time(s), actual 1 time(s)" in root.find("testcase/failure").text


def test_validate_folder(capsys):
    assert main(["validate", str(SCENARIOS)]) == 0
    assert capsys.readouterr().out.count("ok  ") == len(list(SCENARIOS.glob("*.yaml")))


def test_help_is_fast_and_lazy():
    code = "import sys, pumpsim.cli; pumpsim.cli.build_parser(); print(' '.join(sorted(m for m in ('simpy','numpy','pydantic','matplotlib') if m in sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == ""  # no heavy import just to show help


def test_version_and_no_command(capsys):
    assert main(["--version"]) == 0
    assert "pumpsim" in capsys.readouterr().out
    assert main([]) == 2


@pytest.mark.skipif(os.name != "posix", reason="console script path")
def test_console_script_installed():
    proc = subprocess.run(["pumpsim", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0


def test_an_internal_error_in_one_scenario_is_reported_for_it_and_the_rest_run(
    tmp_path, monkeypatch, capsys
):
    import pumpsim.outputs.suite

    broken = tmp_path / "a-broken.yaml"
    text = Path(MISSED).read_text(encoding="utf-8")
    broken.write_text(text.replace("name: missed-refill", "name: broken"), encoding="utf-8")
    (tmp_path / "b-fine.yaml").write_text(text, encoding="utf-8")
    real = pumpsim.outputs.suite.simulate

    def simulate(scenario, clinic=None):
        if scenario.name == "broken":
            raise ZeroDivisionError("a planted bug")
        return real(scenario, clinic)

    # patch where the suite reads it: ``pumpsim.simulate`` is a lazy attribute that must stay lazy
    monkeypatch.setattr(pumpsim.outputs.suite, "simulate", simulate)
    assert main(["check", str(broken), str(tmp_path / "b-fine.yaml")]) == 4
    out, err = capsys.readouterr()
    assert "ERROR" in out and "PASS" in out
    assert err.strip().splitlines() == [
        f"{broken}: pumpsim: internal error: ZeroDivisionError: a planted bug (please report it)"
    ]


def test_a_file_named_twice_is_checked_once(capsys):
    # Review C, D: 'check a.yaml a.yaml' counted the same scenario twice.
    one = str(SCENARIOS / "missed-refill.yaml")
    assert main(["check", one, one, str(SCENARIOS)]) == 0
    out = capsys.readouterr().out
    assert out.count("missed-refill.yaml ") == 1


@pytest.mark.parametrize(
    "command", [["run", MISSED], ["replay", str(SCENARIOS / "replay" / "missed-then-late.yaml")]]
)
def test_json_to_standard_output_is_the_json_alone(command, capsys, tmp_path, monkeypatch):
    # Review E: run --json - printed the timeline before the JSON; replay wrote a file named '-'.
    monkeypatch.chdir(tmp_path)
    main([*command, "--json", "-"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["scenario"] and not (tmp_path / "-").exists()
