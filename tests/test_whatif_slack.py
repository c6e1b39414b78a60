"""What-if and slack on a replayed history (contract section 11), against hand computations.

The hand model: a 20 mL reservoir at 400 mcg/day of 2000 mcg/mL drains 0.2 mL/day. From full,
the estimate reaches the empty-reservoir alarm (0.5 mL) after 19.5 / 0.2 = 97.5 days; the pump
then runs at its minimum rate (0.006 mL/day, 3 % of the programme), and the CSF ratio
0.03 + 0.97 e^(-kt) (half-life 1.5 h) falls below 0.5 after 1.5 h x log2(0.97 / 0.47) = 1.5679 h:
the abrupt-discontinuation flag (cause minimum_rate, alarmed).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import pumpsim
from pumpsim.cli import main
from pumpsim.errors import ScenarioError
from pumpsim.model.engine import Engine
from pumpsim.studies.slack import slacks, visit_slack
from pumpsim.studies.whatif import differences, parse_what_if, reconstruction, what_if

ROOT = Path(__file__).resolve().parent.parent
FLAG_AFTER_ALARM_H = 1.5 * math.log2(0.97 / 0.47)

HAND = """\
name: slack-hand
duration: 150d
start: 2026-01-01
pump: {reservoir_ml: 20}
drug: {concentration_mcg_per_ml: 2000}
therapy: {dose_mcg_per_day: 400}
events:
  - {at: 30d, type: refill, volume_ml: 20}
  - {at: 110d, type: refill, volume_ml: 20}
"""


@pytest.fixture
def hand(tmp_path):
    path = tmp_path / "hand.yaml"
    path.write_text(HAND, encoding="utf-8")
    return pumpsim.load_scenario(str(path)), path


def test_the_hand_model_constant():
    assert pytest.approx(1.5679, abs=1e-4) == FLAG_AFTER_ALARM_H


def test_slack_of_a_hand_computed_visit_to_the_hour(hand):
    scenario, _ = hand
    first, second = slacks(reconstruction(scenario))
    # Without the day-30 visit the empty alarm comes at 97.5 d (2,340 h): the flag follows
    # 1.568 h later; the visit at 720 h could have waited 1,621 whole hours.
    assert first.flag_at_h == pytest.approx(2340.0 + FLAG_AFTER_ALARM_H, abs=1e-6)
    assert first.slack_h == math.floor(2340.0 + FLAG_AFTER_ALARM_H - 720.0) == 1621
    # Without the day-110 visit: full at day 30, empty alarm at day 127.5 (3,060 h).
    assert second.slack_h == math.floor(3060.0 + FLAG_AFTER_ALARM_H - 2640.0) == 421
    assert not first.late and not second.late


def test_slack_reaching_the_next_visit_is_none(tmp_path):
    text = HAND.replace(
        "  - {at: 110d, type: refill, volume_ml: 20}\n",
        "  - {at: 60d, type: refill, volume_ml: 20}\n  - {at: 90d, type: refill, volume_ml: 20}\n",
    )
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    found = slacks(reconstruction(pumpsim.load_scenario(str(path))))
    # without the day-60 visit the day-30 fill lasts to day 127.5: past the day-90 visit; the
    # day-30 one likewise (the start's fill lasts to day 97.5); the day-90 fill lasts to the end
    assert [s.slack_h for s in found] == [None, None, None]


def test_a_visit_after_a_flag_has_no_slack():
    scenario = pumpsim.load_scenario(str(ROOT / "scenarios/replay/missed-then-late.yaml"))
    rec = reconstruction(scenario)
    late = visit_slack(rec, 161 * 24.0)  # 2026-07-13: the reservoir ran dry on 2026-07-08
    assert late.late and late.slack_h == 0


def test_slack_on_a_fitted_history():
    """missed-then-late: fitted +4.17 % ((20 - 7.5) / (20 - 8) - 1) in the first interval; without
    the 2026-04-03 visit the full start (20 mL) runs dry after 20 / (0.2 x 1.04167) = 96 days, and
    the CSF ratio, from 1.04167, halves... to 0.5 after 1.5 h x log2(1.04167 / 0.5)."""
    scenario = pumpsim.load_scenario(str(ROOT / "scenarios/replay/missed-then-late.yaml"))
    first = slacks(reconstruction(scenario))[0]
    flag_h = 96 * 24.0 + 1.5 * math.log2((25 / 24) / 0.5)
    assert first.flag_at_h == pytest.approx(flag_h, abs=1e-6)
    assert first.slack_h == math.floor(flag_h - 60 * 24.0) == 865


def test_what_if_miss_makes_the_hand_computed_flag_appear(hand):
    scenario, _ = hand
    recorded = pumpsim.simulate(scenario)
    changed, said = what_if(scenario, [parse_what_if("miss 2026-01-31")])
    assert said == ["the visit of 2026-01-31 00:00 is missed"]
    diffs = differences(recorded.run, Engine(changed).run())
    appeared = [(round(d.happening.t_h, 6), d.happening.text) for d in diffs if d.appears]
    assert appeared == [
        (720.0, "FLAG refill_due_after_empty"),  # the missed visit re-checks against day 110
        (2160.0, "ALARM low_reservoir (non-critical)"),  # 18 mL / 0.2 = day 90
        (2340.0, "ALARM empty_reservoir (critical)"),  # day 97.5
        (
            round(2340.0 + FLAG_AFTER_ALARM_H, 6),
            "FLAG abrupt_discontinuation (minimum_rate, alarmed)",
        ),
    ]
    assert not [d for d in diffs if not d.appears]


def test_what_if_late_moves_the_visit_past_the_flag(hand):
    scenario, _ = hand
    recorded = pumpsim.simulate(scenario)
    changed, said = what_if(scenario, [parse_what_if("late 2026-04-21 20d")])
    assert said == ["the visit of 2026-04-21 00:00 comes 20d later, at 2026-05-11 00:00"]
    diffs = differences(recorded.run, Engine(changed).run())
    flags = [d for d in diffs if "abrupt" in d.happening.text]
    assert [(d.appears, d.happening.t_h) for d in flags] == [
        (True, pytest.approx(3060.0 + FLAG_AFTER_ALARM_H, abs=1e-6))
    ]


def test_what_if_accuracy_from_a_visit(hand):
    scenario, _ = hand
    changed, _ = what_if(scenario, [parse_what_if("accuracy +15% from 2026-01-31")])
    second = [r for r in Engine(changed).run().refills if not r.missed][1]
    # 80 days at 0.2 x 1.15 = 0.23 mL/day from 20 mL: 1.6 mL left; the pump expects 4.0
    assert second.actual_residual_ml == pytest.approx(1.6, abs=1e-9)
    assert second.discrepancy_ml == pytest.approx(-2.4, abs=1e-9)


def test_what_if_on_a_fitted_history_uses_the_fitted_accuracies():
    scenario = pumpsim.load_scenario(str(ROOT / "scenarios/replay/missed-then-late.yaml"))
    changed, _ = what_if(scenario, [parse_what_if("miss 2026-04-03")])
    run = Engine(changed).run()
    dry = [e.t_h for e in run.physical_log if e.event == "reservoir_empty"]
    assert dry[0] == pytest.approx(96 * 24.0, abs=1e-6)  # 20 mL at 0.2 x 25/24 mL/day
    assert changed.accuracy == pytest.approx(1 / 24)  # the first interval's fitted accuracy


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("skip 2026-01-31", "use 'miss DATE'"),
        ("miss 2026-02-30", "not a calendar date-time"),
        ("miss 2026-02-01", "no visit on 2026-02-01 (visits: 2026-01-31 00:00, 2026-04-21 00:00)"),
        ("late 2026-01-31 10", "bare number"),
        ("late 2026-04-21 60d", "after the end of the scenario"),
        ("accuracy fast from 2026-01-31", "not an accuracy"),
        ("accuracy -1 from 2026-01-31", "above -1"),
    ],
)
def test_bad_what_ifs_are_invalid_input(hand, capsys, text, message):
    scenario, path = hand
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(").replace(")", r"\)")):
        what_if(scenario, [parse_what_if(text)])
    assert main(["replay", str(path), "--what-if", text]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"pumpsim: --what-if '{text}': ") and "\n" not in err


def test_replay_prints_the_what_if_and_writes_its_history(hand, tmp_path, capsys):
    _, path = hand
    out = tmp_path / "whatif.json"
    code = main(
        ["replay", str(path), "--what-if", "miss 2026-01-31", "--slack", "--json", str(out)]
    )
    assert code == 0  # the recorded history has no failed expectation
    text = capsys.readouterr().out
    assert "2026-01-31 00:00 (30d)   missed refill" in text
    assert "WHAT IF (on the reconstructed history" in text
    assert (
        "  + 2026-04-08 13:34:05 (97d 13h 34min)  FLAG abrupt_discontinuation (minimum_rate, "
        in text
    )
    assert "recorded history:\nexpectations: 0/0 passed" in text
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert [r["missed"] for r in doc["refills"]] == [True, False]
    # in the changed history the day-110 visit comes after the flag: no slack
    assert "slack_h" not in doc["refills"][0] and doc["refills"][1]["slack_h"] == 0
    assert "0 (flag before this visit)" in text


def test_replay_slack_column_and_json(hand, tmp_path, capsys):
    _, path = hand
    out = tmp_path / "r.json"
    assert main(["replay", str(path), "--slack", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "SLACK" in text.splitlines()[2]
    assert "1621 h (67d 13h)" in text and "421 h (17d 13h)" in text
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert [r["slack_h"] for r in doc["refills"]] == [1621, 421]


def test_slack_json_null_for_the_next_visit(tmp_path, capsys):
    text = HAND.replace("110d", "60d")
    (tmp_path / "s.yaml").write_text(text, encoding="utf-8")
    out = tmp_path / "r.json"
    assert main(["replay", str(tmp_path / "s.yaml"), "--slack", "--json", str(out)]) == 0
    assert ">= next visit" in capsys.readouterr().out
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["refills"][0]["slack_h"] is None
