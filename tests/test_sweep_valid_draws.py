"""Draws that stay valid: ``within:``, ``cases:``, ``on_invalid: stop|redraw|skip`` and
``pumpsim sweep FILE --check`` (contract section 10)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

import pumpsim
from pumpsim.cli import main
from pumpsim.errors import ScenarioError
from pumpsim.scenario.cases import parse_cases
from pumpsim.scenario.distributions import DistributionError, parse_distribution
from pumpsim.studies.sweep.spec import load_sweep

BASE = ROOT / "scenarios" / "steady-state-year.yaml"

#: A realistic dose spread at 2000 mcg/mL: the pump cannot run below 0.048 mL/day (96 mcg/day),
#: and about 1 draw in 13 falls below it.
SPREAD = """\
name: spread
base: {base}
patients: {patients}
seed: 5
duration: 180d
{on_invalid}
vary:
  therapy.dose_mcg_per_day: {{lognormal: {{median: 150, sigma: 0.4}}}}
  patient.injury_level: {{choice: {{C5: 0.5, L1: 0.5}}}}
grid:
  drug.concentration_mcg_per_ml: [500, 2000]
clinic:
  refill_every: {{normal: {{mean: 57d, sd: 10d}}}}
faults: none
"""


def spread(tmp_path: Path, on_invalid: str = "", patients: int = 40) -> str:
    path = tmp_path / "spread.yaml"
    text = SPREAD.format(base=BASE, patients=patients, on_invalid=on_invalid)
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_within_redraws_from_the_same_stream_and_refuses_an_empty_range():
    dist = parse_distribution({"lognormal": {"median": 400, "sigma": 0.4}, "within": [150, 800]})
    rng = np.random.default_rng(3)
    got = [dist.draw(rng) for _ in range(5000)]
    assert min(got) >= 150 and max(got) <= 800
    plain = parse_distribution({"lognormal": {"median": 400, "sigma": 0.4}})
    rng, plain_rng = np.random.default_rng(9), np.random.default_rng(9)
    # the first draw inside the range is the plain stream's first draw inside it
    expected = next(v for v in iter(lambda: plain.draw(plain_rng), None) if 150 <= v <= 800)
    assert dist.draw(rng) == expected
    durations = parse_distribution(
        {"normal": {"mean": "57d", "sd": "15d"}, "within": ["30d", "90d"]}
    )
    assert durations.within == (720.0, 2160.0)
    for spec, message in (
        ({"normal": {"mean": 0, "sd": 1}, "within": [10, 20]}, "holds 0 %"),
        ({"normal": {"mean": 0, "sd": 1}, "within": ["1d", 2]}, "plain numbers"),
        ({"normal": {"mean": 0, "sd": 1}, "within": [2, 1]}, "below low"),
        ({"normal": {"mean": 0, "sd": 1}, "within": 3}, "within takes"),
        ({"fixed": 5, "within": [0, 1]}, "holds 0 %"),
    ):
        with pytest.raises(DistributionError, match=message):
            parse_distribution(spec)


def test_cases_pick_by_below_at_least_and_in():
    cases = parse_cases(
        {
            "cases": [
                {"if": {"therapy.dose_mcg_per_day": {"below": 150}}, "draw": {"fixed": 500}},
                {"if": {"patient.injury_level": {"in": ["C5", "T4"]}}, "draw": {"fixed": 1000}},
                {"if": {"therapy.dose_mcg_per_day": {"at_least": 900}}, "draw": {"fixed": 4000}},
                {"draw": {"fixed": 2000}},
            ]
        }
    )
    pick = cases.pick
    assert pick({"therapy.dose_mcg_per_day": 100, "patient.injury_level": "C5"}).value == 500
    assert pick({"therapy.dose_mcg_per_day": 150, "patient.injury_level": "C5"}).value == 1000
    assert pick({"therapy.dose_mcg_per_day": 900, "patient.injury_level": "L1"}).value == 4000
    assert pick({"therapy.dose_mcg_per_day": 400, "patient.injury_level": "L1"}).value == 2000
    assert cases.keys == ("therapy.dose_mcg_per_day", "patient.injury_level")
    with pytest.raises(DistributionError, match="unknown test"):
        parse_cases({"cases": [{"if": {"a": {"above": 1}}, "draw": {"fixed": 1}}]})
    with pytest.raises(DistributionError, match="every case draws a duration"):
        parse_cases(
            {
                "cases": [
                    {"if": {"a": {"below": 1}}, "draw": {"fixed": "1d"}},
                    {"draw": {"fixed": 1}},
                ]
            }
        )


def test_a_draw_depends_on_an_earlier_key(tmp_path):
    path = tmp_path / "cases.yaml"
    path.write_text(
        f"""\
name: tied
base: {BASE}
patients: 30
seed: 2
duration: 30d
vary:
  therapy.dose_mcg_per_day: {{uniform: {{low: 100, high: 300}}}}
  drug.concentration_mcg_per_ml:
    cases:
      - {{if: {{therapy.dose_mcg_per_day: {{below: 150}}}}, draw: {{fixed: 500}}}}
      - {{draw: {{choice: {{1000: 1, 2000: 1}}}}}}
faults: none
""",
        encoding="utf-8",
    )
    rows = pumpsim.sweep(str(path), workers=1, parquet=False).patients
    for row in rows:
        conc = row["drug.concentration_mcg_per_ml"]
        if row["therapy.dose_mcg_per_day"] < 150:
            assert conc == 500
        else:
            assert conc in (1000, 2000)
    assert {r["drug.concentration_mcg_per_ml"] for r in rows} == {500, 1000, 2000}


def test_cases_may_only_test_earlier_or_grid_keys(tmp_path):
    path = tmp_path / "later.yaml"
    path.write_text(
        f"""\
name: later
base: {BASE}
patients: 3
vary:
  drug.concentration_mcg_per_ml:
    cases:
      - {{if: {{therapy.dose_mcg_per_day: {{below: 150}}}}, draw: {{fixed: 500}}}}
      - {{draw: {{fixed: 2000}}}}
  therapy.dose_mcg_per_day: {{uniform: {{low: 100, high: 300}}}}
""",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError, match="not drawn before") as info:
        load_sweep(str(path))
    assert info.value.line == 7


def test_stop_names_the_patient_the_grid_point_the_key_and_the_reason(tmp_path, capsys):
    path = spread(tmp_path)
    code = main(["sweep", path, "--out", str(tmp_path / "o"), "--workers", "1", "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert err.startswith(f"{path}:8: vary.therapy.dose_mcg_per_day: patient ")
    assert "(grid point 1), drawn therapy.dose_mcg_per_day=" in err and ", is invalid: " in err
    assert "outside the synchromed-ii programmable range" in err
    log = (tmp_path / "o" / "run.log").read_text()
    assert "why: invalid input:" in log and "therapy.dose_mcg_per_day" in log


def test_redraw_completes_and_keeps_each_patient_the_same_at_every_grid_point(tmp_path):
    result = pumpsim.sweep(spread(tmp_path, "on_invalid: redraw"), workers=2, parquet=False)
    rows = result.patients
    assert len(rows) == 80
    by_point = [[r for r in rows if r["grid"] == g] for g in (0, 1)]
    for a, b in zip(*by_point, strict=True):
        assert a["patient"] == b["patient"]
        assert a["therapy.dose_mcg_per_day"] == b["therapy.dose_mcg_per_day"]
        assert a["patient.injury_level"] == b["patient.injury_level"]
        assert a["n_redraws"] == b["n_redraws"]
        assert b["therapy.dose_mcg_per_day"] >= 96  # valid at 2000 mcg/mL too
    redrawn = sum(1 for r in by_point[0] if r["n_redraws"])
    assert 0 < redrawn < 40
    point = result.summary["grid_points"][1]
    assert point["redrawn_patients"] == redrawn
    assert point["redraws"] == sum(r["n_redraws"] for r in by_point[0])
    assert result.summary["on_invalid"] == "redraw"


def test_skip_leaves_the_patient_out_at_every_grid_point(tmp_path):
    result = pumpsim.sweep(spread(tmp_path, "on_invalid: skip"), workers=1, parquet=False)
    kept = [{r["patient"] for r in result.patients if r["grid"] == g} for g in (0, 1)]
    assert kept[0] == kept[1] and 0 < len(kept[0]) < 40
    for point in result.summary["grid_points"]:
        assert point["patients"] == len(kept[0])
        assert point["skipped_patients"] == 40 - len(kept[0])
        assert point["patient_years"] == pytest.approx(len(kept[0]) * 180 / 365.25, rel=1e-5)
    text = result.text
    assert f"({40 - len(kept[0])} skipped: invalid draws)" in text


def test_run_log_counts_only_the_patients_simulated(tmp_path):
    # Review D8: with on_invalid: skip the log counted every patient slot as simulated.
    out = tmp_path / "o"
    result = pumpsim.sweep(spread(tmp_path, "on_invalid: skip"), str(out), workers=1)
    kept = sum(p["patients"] for p in result.summary["grid_points"])
    years = sum(p["patient_years"] for p in result.summary["grid_points"])
    log = (out / "run.log").read_text(encoding="utf-8")
    assert f"simulated {kept} patients ({years:.1f} patient-years)" in log
    assert f"; {80 - kept} skipped (invalid draws, on_invalid: skip)" in log


def test_check_with_no_invalid_patient_says_so_in_a_whole_sentence(tmp_path, capsys):
    path = tmp_path / "fine.yaml"
    path.write_text(f"name: fine\nbase: {BASE}\npatients: 20\n")
    assert main(["sweep", str(path), "--check"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.endswith(
        "0 of 20 patients would be invalid (drawn at 1 grid point); every patient can be simulated"
    )


def test_check_counts_invalid_patients_without_simulating(tmp_path, capsys):
    path = spread(tmp_path, patients=400)
    code = main(["sweep", path, "--check"])
    out = capsys.readouterr().out
    assert code == 0
    first = out.splitlines()[0]
    count = int(first.split(": ")[1].split(" of ")[0])
    assert f"{count} of 400 patients would be invalid" in first
    assert 400 * 0.07 < count < 400 * 0.2  # lognormal(150, 0.4) below 96: about 13 %
    assert "therapy.dose_mcg_per_day" in out and "programmable range" in out
    assert not list(tmp_path.glob("*/batches"))  # nothing simulated, nothing written
    # the count is the patients that stop (or redraw or skip) when the sweep runs
    result = pumpsim.sweep(
        spread(tmp_path, "on_invalid: skip", patients=400), workers=2, parquet=False
    )
    assert result.summary["grid_points"][0]["skipped_patients"] == count


def test_check_refuses_an_invalid_sweep_file(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(f"name: bad\nbase: {BASE}\npatients: 3\non_invalid: retry\n")
    assert main(["sweep", str(path), "--check"]) == 2
    err = capsys.readouterr().err
    assert ":4: on_invalid:" in err and "stop, redraw, skip" in err


def test_within_that_can_never_hold_is_refused_with_its_line(tmp_path, capsys):
    path = tmp_path / "narrow.yaml"
    path.write_text(
        f"name: n\nbase: {BASE}\npatients: 3\nvary:\n"
        "  therapy.dose_mcg_per_day: {normal: {mean: 400, sd: 10}, within: [900, 1000]}\n"
    )
    assert main(["sweep", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert ":5: vary.therapy.dose_mcg_per_day.within:" in err and "holds 0 %" in err


def test_summary_json_says_what_on_invalid_did(tmp_path):
    out = tmp_path / "o"
    pumpsim.sweep(spread(tmp_path, "on_invalid: redraw", patients=10), str(out), workers=1)
    doc = json.loads((out / "summary.json").read_text())
    assert doc["on_invalid"] == "redraw" and "redraws" in doc["grid_points"][0]
