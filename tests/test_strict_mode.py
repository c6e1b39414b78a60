"""Strict mode (contract section 11): ``fail_on:`` and ``--fail-on`` turn findings into failed
expectations; the visit table shows the clinic's own discrepancy beside the simulated one."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import pumpsim
from pumpsim.cli import main
from pumpsim.outputs.findings import parse_fail_on

ROOT = Path(__file__).resolve().parent.parent
DRY = ROOT / "scenarios" / "replay" / "missed-then-late.yaml"  # the reconstruction runs dry


def copy_with(tmp_path: Path, extra: str) -> Path:
    """missed-then-late.yaml with its log, and ``extra`` appended to the scenario."""
    (tmp_path / "patient-c22-missed-then-late.csv").write_bytes(
        (DRY.parent / "patient-c22-missed-then-late.csv").read_bytes()
    )
    path = tmp_path / "s.yaml"
    path.write_text(DRY.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return path


def test_fail_on_silent_flag_on_a_log_that_runs_dry_is_exit_1(tmp_path, capsys):
    assert main(["replay", str(DRY)]) == 0  # every recorded number agrees
    capsys.readouterr()
    path = copy_with(tmp_path, "fail_on: [silent_flag]\n")
    junit = tmp_path / "junit.xml"
    assert main(["replay", str(path), "--junit", str(junit)]) == 1
    out = capsys.readouterr().out
    assert "expectations: 15/16 passed" in out
    assert "FAIL fail_on silent_flag: abrupt_discontinuation at 2026-07-08 01:35:18" in out
    assert "actual:   abrupt_discontinuation (reservoir_empty, high, silent) at" in out
    failures = [
        c for c in ET.parse(junit).getroot().findall("testcase") if c.find("failure") is not None
    ]
    assert [c.get("name") for c in failures] == [
        "replay-missed-then-late: fail_on silent_flag: abrupt_discontinuation at "
        "2026-07-08 01:35:18 (156d 1h 35min)"
    ]
    for command in ("run", "check"):
        assert main([command, str(path)]) == 1, command
        capsys.readouterr()


@pytest.mark.parametrize("command", ["run", "check", "replay"])
def test_the_fail_on_option_on_every_command(capsys, command):
    assert main([command, str(DRY), "--fail-on", "silent_flag"]) == 1
    assert "fail_on silent_flag" in capsys.readouterr().out
    assert main([command, str(DRY), "--fail-on", "discrepancy,out_of_spec"]) == 0
    out = capsys.readouterr().out
    if command != "check":  # check prints failures only
        assert "passed" in out


def test_each_finding_is_its_own_outcome_and_a_kind_without_one_passes(tmp_path):
    path = copy_with(tmp_path, "fail_on: [any_flag, discrepancy, out_of_spec]\n")
    result = pumpsim.simulate(pumpsim.load_scenario(str(path)))
    strict = [o for o in result.outcomes if o.text.startswith("fail_on")]
    # two refill_due_after_empty checks? no: one flag each, refill_due and abrupt_discontinuation
    assert [(o.text.split(":")[0], o.passed) for o in strict] == [
        ("fail_on any_flag", False),
        ("fail_on any_flag", False),
        ("fail_on discrepancy", True),
        ("fail_on out_of_spec", True),
    ]
    assert strict[0].actual.startswith("refill_due_after_empty at 2026-06-22 00:00")


OUT_OF_SPEC = """\
name: strict-out-of-spec
duration: 200d
start: 2026-01-01
pump: {reservoir_ml: 20, accuracy: fit}
drug: {concentration_mcg_per_ml: 2000}
therapy: {dose_mcg_per_day: 400}
clinic_log: log.csv
fail_on: [out_of_spec, discrepancy]
"""
# 20 mL at 0.2 mL/day: after 60 days the pump expects 8 mL; 5.2 mL withdrawn means it moved
# 14.8 mL for 12 programmed: +23.3 %, beyond the 14.5 % specification; -2.8 mL is a discrepancy.
OUT_OF_SPEC_LOG = """\
date,event,residual_expected_ml,residual_withdrawn_ml,volume_injected_ml
2026-03-02,refill,8.0,5.2,20
"""


def test_out_of_spec_and_discrepancy_findings(tmp_path, capsys):
    (tmp_path / "log.csv").write_text(OUT_OF_SPEC_LOG, encoding="utf-8")
    (tmp_path / "s.yaml").write_text(OUT_OF_SPEC, encoding="utf-8")
    assert main(["replay", str(tmp_path / "s.yaml")]) == 1
    out = capsys.readouterr().out
    assert "FAIL fail_on out_of_spec: fitted accuracy from 2026-01-01 00:00 (0s) to " in out
    assert "actual:   +23.3%: out of specification" in out
    assert "FAIL fail_on discrepancy: refill_discrepancy at 2026-03-02 00:00 (60d)" in out
    assert "-2.80 mL against a ±1 mL limit" in out
    # the clinic's own discrepancy beside the simulated one
    assert "-2.80 / -2.80" in out


def test_the_recorded_discrepancy_shows_without_a_fit(tmp_path, capsys):
    (tmp_path / "log.csv").write_text(OUT_OF_SPEC_LOG, encoding="utf-8")
    text = OUT_OF_SPEC.replace(", accuracy: fit", "").replace(
        "fail_on: [out_of_spec, discrepancy]\n", ""
    )
    (tmp_path / "s.yaml").write_text(text, encoding="utf-8")
    assert main(["replay", str(tmp_path / "s.yaml")]) == 1  # 5.2 withdrawn against 8.0 simulated
    out = capsys.readouterr().out
    assert "DISCREP mL rec/sim" in out
    assert "-2.80 / +0.00" in out  # the clinic recorded -2.80 where the nominal pump has none


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("silent_flag", ["silent_flag"]),
        ("silent_flag, any_flag,silent_flag", ["silent_flag", "any_flag"]),
    ],
)
def test_parse_fail_on(text, want):
    assert parse_fail_on(text) == want


def test_a_bad_fail_on_is_a_usage_error(capsys):
    assert main(["run", str(DRY), "--fail-on", "silent"]) == 2
    assert "unknown finding 'silent'" in capsys.readouterr().err


def test_fail_on_in_the_scenario_is_validated(tmp_path, capsys):
    path = copy_with(tmp_path, "fail_on: [silent]\n")
    assert main(["validate", str(path)]) == 2
    assert "fail_on[0]: 'silent' is not allowed" in capsys.readouterr().err


pytest_plugins = ["pytester"]


def test_the_pytest_plugin_has_an_item_per_fail_on_kind(pytester):
    log = (DRY.parent / "patient-c22-missed-then-late.csv").read_text(encoding="utf-8")
    pytester.makefile(".csv", **{"patient-c22-missed-then-late": log})
    text = DRY.read_text(encoding="utf-8") + "fail_on: [silent_flag, discrepancy]\n"
    pytester.makefile(".yaml", strict=text)
    result = pytester.runpytest_subprocess("-v")
    result.assert_outcomes(passed=16, failed=1)
    result.stdout.fnmatch_lines(
        ["*strict.yaml::fail_on silent_flag FAILED*", "*strict.yaml::fail_on discrepancy PASSED*"]
    )
