"""pumpsim replay and pumpsim schema; the shipped replay examples."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from conftest import SCENARIOS

from pumpsim.cli import main

REPLAY = SCENARIOS / "replay"
LATE = str(REPLAY / "missed-then-late.yaml")


def test_examples_pass_check(capsys):
    assert main(["check", str(REPLAY)]) == 0
    out = capsys.readouterr().out
    assert "4 passed, 0 failed" in out


def test_replay_prints_the_visit_table(capsys):
    assert main(["replay", LATE]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("VISIT"))
    for column in (
        "WHAT",
        "EXPECTED mL rec/sim",
        "WITHDRAWN mL rec/sim",
        "DISCREP mL",
        "ACCURACY",
        "ALARM DATE printed/projected",
    ):
        assert column in header
    assert re.search(
        r"^2026-04-03 00:00 \(60d\) +refill +8\.00 / 8\.00 +7\.50 / 7\.50 +-0\.50 / -0\.50 +"
        r"\+4\.2 % +"
        r"2026-07-02 / 2026-07-02$",
        out,
        re.M,
    )
    assert re.search(r"^2026-06-22 00:00 \(140d\) +missed refill", out, re.M)
    assert "+4.2 % (residual 0: at least +2.5 %)" in out
    # What happened between the missed visit and the late one, with dates.
    between = out[out.index("2026-07-13 00:00 (161d)") :]
    assert "    2026-07-02 00:00 (150d)  ALARM low_reservoir (non-critical)" in between
    assert "    2026-07-08 00:00 (156d)  TRUE RESERVOIR EMPTY" in between
    assert "FLAG abrupt_discontinuation (reservoir_empty, SILENT)" in between
    assert "    2026-07-09 12:00 (157d 12h)  ALARM empty_reservoir (critical)" in between
    assert "expectations: 15/15 passed" in out


def test_replay_writes_json_and_junit(tmp_path, capsys):
    out_json, out_xml = tmp_path / "r.json", tmp_path / "r.xml"
    assert main(["replay", LATE, "--json", str(out_json), "--junit", str(out_xml)]) == 0
    doc = json.loads(out_json.read_text())
    assert doc["scenario"] == "replay-missed-then-late" and doc["passed"] is True
    assert doc["refills"][2]["accuracy_basis"] == "lower_bound"
    root = ET.parse(out_xml).getroot()
    assert root.get("tests") == str(len(doc["expectations"])) == "15"
    assert root.get("failures") == "0"
    assert not list(tmp_path.glob(".pumpsim-*"))


def test_replay_exit_codes(tmp_path, capsys):
    (tmp_path / "log.csv").write_text(
        (REPLAY / "patient-c22-missed-then-late.csv").read_text().replace("8.0,7.5", "8.9,7.5")
    )
    text = (REPLAY / "missed-then-late.yaml").read_text()
    (tmp_path / "s.yaml").write_text(text.replace("patient-c22-missed-then-late.csv", "log.csv"))
    assert main(["replay", str(tmp_path / "s.yaml")]) == 1
    out = capsys.readouterr().out
    assert "FAIL log.csv:2: residual expected 8.9 mL at 2026-04-03 00:00 (60d)" in out
    (tmp_path / "log.csv").write_text("date,event\n2026-04-03,refil\n")
    assert main(["replay", str(tmp_path / "s.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.strip().endswith("did you mean 'refill'?") and "log.csv:2: column event" in err
    assert (
        main(["replay", str(tmp_path / "s.yaml"), "--json", str(tmp_path / "no/such/x.json")]) == 2
    )


def test_replay_without_a_log_still_tabulates_refills(capsys):
    assert main(["replay", str(SCENARIOS / "missed-refill.yaml")]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^2026-03-27 00:00 \(85d\) +missed refill", out, re.M)
    assert "after the last visit, until 2026-04-21 00:00 (110d):" in out


def test_schema_scenario(capsys):
    assert main(["schema", "scenario"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["title"] == "Scenario" and "clinic_log" in doc["properties"]
    assert doc["$defs"]["RefillEvent"]["properties"]["at"]["type"] == "string"
    assert "2026-03-27" in doc["$defs"]["RefillEvent"]["properties"]["at"]["description"]


def test_schema_clinic_log_validates_the_example_rows(capsys):
    import csv

    assert main(["schema", "clinic-log"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["required"] == ["date", "event"]
    for path in REPLAY.glob("*.csv"):
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.DictReader(fh):
                assert set(row) <= set(doc["properties"])
                for col, cell in row.items():
                    spec = doc["properties"][col]
                    if "enum" in spec:
                        assert cell in spec["enum"]
                    if "pattern" in spec and cell:
                        assert re.search(spec["pattern"], cell), (col, cell)


@pytest.mark.parametrize("what", ["scenario", "clinic-log"])
def test_schema_is_deterministic(what):
    cmd = [sys.executable, "-m", "pumpsim", "schema", what]
    a = subprocess.run(cmd, check=True, capture_output=True).stdout
    b = subprocess.run(cmd, check=True, capture_output=True).stdout
    assert a == b and json.loads(a)


def test_help_lists_the_new_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "replay" in out and "schema" in out


def _howto_block(start: str) -> str:
    text = (SCENARIOS.parent / "docs" / "howto-replay.md").read_text(encoding="utf-8")
    i = text.index(start) + len(start)
    return text[i : text.index("```", i)]


def test_howto_shows_the_shipped_files_and_the_real_table(monkeypatch, capsys):
    monkeypatch.chdir(SCENARIOS.parent)
    assert _howto_block("```csv\n") == (REPLAY / "patient-c22-missed-then-late.csv").read_text()
    shown = _howto_block('```yaml title="scenarios/replay/missed-then-late.yaml"\n')
    assert shown == (REPLAY / "missed-then-late.yaml").read_text()
    shown = _howto_block('```yaml title="scenarios/replay/paris-strict.yaml"\n')
    assert shown == (REPLAY / "paris-strict.yaml").read_text()
    assert main(["replay", "scenarios/replay/missed-then-late.yaml"]) == 0
    table = _howto_block("$ pumpsim replay scenarios/replay/missed-then-late.yaml\n")
    assert table == capsys.readouterr().out


def test_howto_error_example_is_what_a_typo_prints(tmp_path, capsys):
    log = (REPLAY / "patient-c22-missed-then-late.csv").read_text()
    (tmp_path / "patient-c22-missed-then-late.csv").write_text(
        log.replace("2026-07-13,refill", "2026-07-13,refil")
    )
    (tmp_path / "missed-then-late.yaml").write_text((REPLAY / "missed-then-late.yaml").read_text())
    assert main(["validate", str(tmp_path / "missed-then-late.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"{tmp_path}/patient-c22-missed-then-late.csv:4: column event: unknown event 'refil'; "
        "did you mean 'refill'?"
    )
    # the how-to's own example of bad rows is run by the docs test; it names five of them
    shown = _howto_block("$ pumpsim validate bad.yaml  # exit 2\n").strip().splitlines()
    assert len(shown) == 5 and all(line.startswith("bad-log.csv:") for line in shown)


def test_every_shipped_scenario_validates_against_the_published_schema(capsys):
    """What `pumpsim schema scenario` gives editors must accept every shipped scenario (a
    duration published as a number would make an editor flag `duration: 2h`)."""
    import json

    import jsonschema
    import yaml
    from conftest import shipped_scenarios

    class TextDates(yaml.SafeLoader):
        """Dates stay text, as an editor sees them (JSON has no date type)."""

    TextDates.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in rules if tag != "tag:yaml.org,2002:timestamp"]
        for first, rules in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    assert main(["schema", "scenario"]) == 0
    validator = jsonschema.Draft202012Validator(json.loads(capsys.readouterr().out))
    for path in shipped_scenarios():
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=TextDates)
        errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(data)]
        assert not errors, (path.name, errors[:3])
