"""Hostile sweep files (contract section 13): sizes past the limits, overflowing parameters,
weights that sum to infinity, a grid of durations, a thousand one-patient grid points, and
text cells a spreadsheet would run. One line, exit 2 (or a correct answer), never a hang."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest
from conftest import ROOT

import pumpsim
from pumpsim.cli import main
from pumpsim.errors import ScenarioError
from pumpsim.studies.sweep.spec import load_sweep

BASE = ROOT / "scenarios" / "steady-state-year.yaml"


def write(tmp_path: Path, body: str) -> str:
    path = tmp_path / "s.yaml"
    path.write_text(f"name: h\nbase: {BASE}\n{body}", encoding="utf-8")
    return str(path)


def refused(capsys, path: str, where: str, *words: str) -> None:
    started = time.monotonic()
    code = main(["sweep", path, "--out", str(Path(path).parent / "o")])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert where in lines[0], lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    assert time.monotonic() - started < 10
    assert not (Path(path).parent / "o").exists()


@pytest.mark.parametrize(
    ("body", "where", "words"),
    [
        ("patients: 10000001\n", ":3: patients:", ("at most 10,000,000",)),
        ("patients: " + "9" * 40 + "\n", ":3: patients:", ("at most",)),
        (
            "patients: 2\ngrid:\n"
            + "".join(f"  k{i}: [{', '.join(['0.5'] * 100)}]\n" for i in range(6)),
            ":4: grid:",
            ("1,000,000,000,000 points", "at most 10,000"),
        ),
        (
            "patients: 100000\ngrid:\n  risk.threshold: [" + ", ".join(["0.5"] * 1001) + "]\n",
            ":3: patients:",
            ("100,100,000 simulated patients", "at most 100,000,000"),
        ),
        ("patients: 2\nduration: 101y\n", ":4: duration:", ("at most",)),
        (
            "patients: 2\ngrid:\n  duration: [1d, 101y]\n",
            ":5: grid.duration:",
            ("grid point 1",),
        ),
        (
            "patients: 2\nvary:\n  therapy.dose_mcg_per_day: {lognormal: {median: 400, sigma: 1000}}\n",
            ":5: vary.therapy.dose_mcg_per_day.lognormal.sigma:",
            ("overflow",),
        ),
        (
            "patients: 2\nvary:\n  pump.accuracy: {normal: {mean: 0, sd: 1.0e+307}}\n",
            ":5: vary.pump.accuracy.normal.sd:",
            ("overflow",),
        ),
        (
            "patients: 2\nvary:\n  pump.accuracy: {uniform: {low: -1.7e+308, high: 1.7e+308}}\n",
            ":5: vary.pump.accuracy.uniform.high:",
            ("overflow",),
        ),
        (
            "patients: 2\nvary:\n  patient.injury_level: {choice: {C5: 1.0e+308, T4: 1.0e+308}}\n",
            ":5: vary.patient.injury_level.choice:",
            ("finite",),
        ),
        (
            "patients: 2\nvary:\n  patient.injury_level: {choice: {C5: 1e308, T4: 1}}\n",
            ":5: vary.patient.injury_level.choice.C5:",
            ("text to YAML", "1.0e+308"),
        ),
        ("patients: 2\non_invalid: maybe\n", ":4: on_invalid:", ("stop, redraw, skip",)),
    ],
    ids=[
        "patients",
        "patients-40-digits",
        "grid-10^12",
        "patients-x-grid",
        "duration",
        "grid-duration",
        "lognormal-sigma",
        "normal-sd",
        "uniform-span",
        "choice-weights",
        "yaml-text-number",
        "on-invalid",
    ],
)
def test_hostile_sweep_files_are_one_line_and_exit_2(tmp_path, capsys, body, where, words):
    refused(capsys, write(tmp_path, body), where, *words)


def test_a_grid_of_a_trillion_points_is_refused_without_planning_them(tmp_path):
    keys = "".join(
        f"  {k}: [{', '.join(str(v) for v in range(100))}]\n"
        for k in ("seed_a", "seed_b", "seed_c", "seed_d", "seed_e", "seed_f")
    )
    path = write(tmp_path, f"patients: 1\ngrid:\n{keys}")
    started = time.monotonic()
    with pytest.raises(ScenarioError, match="1,000,000,000,000 points"):
        load_sweep(path)
    assert time.monotonic() - started < 2


def test_one_huge_choice_weight_is_fine_while_the_weights_sum_to_a_finite_number(tmp_path):
    path = write(
        tmp_path, "patients: 2\nvary:\n  patient.injury_level: {choice: {C5: 1.0e+308, T4: 1}}\n"
    )
    # one huge weight and one small: a finite sum, and the draws follow the weights
    spec = load_sweep(path)
    assert spec.vary[0].dist.cumulative[0] == pytest.approx(1.0)


def test_a_grid_of_durations_counts_each_points_patient_years(tmp_path):
    path = write(
        tmp_path,
        "patients: 3\nfaults: none\ngrid:\n  duration: [1d, 3650d]\n"
        "clinic: {refill_every: 57d, late_by: never, missed_probability: 0}\n",
    )
    summary = pumpsim.sweep(path, workers=2, parquet=False).summary
    short, long = summary["grid_points"]
    assert short["patient_years"] == pytest.approx(3 / 365.25, rel=1e-5)
    assert long["patient_years"] == pytest.approx(3 * 3650 / 365.25, rel=1e-5)
    assert long["visits_per_100_patient_years"]["refills"] == pytest.approx(100 * 365.25 / 57, 0.01)
    assert short["visits_per_100_patient_years"]["refills"] == 0


def test_a_thousand_one_patient_grid_points_take_seconds(tmp_path):
    """Round 2 pickled the whole sweep (half a megabyte here) with every batch: 103 s."""
    values = ", ".join(f"{0.3 + i * 0.0003:.4f}" for i in range(1000))
    path = write(
        tmp_path, f"patients: 1\nduration: 2d\nfaults: none\ngrid:\n  risk.threshold: [{values}]\n"
    )
    started = time.monotonic()
    result = pumpsim.sweep(path, str(tmp_path / "o"), workers=2)
    elapsed = time.monotonic() - started
    assert len(result.summary["grid_points"]) == 1000
    assert elapsed < 45, elapsed


def test_text_cells_that_spreadsheets_run_get_a_quote_and_numbers_never_do(tmp_path):
    path = tmp_path / "inject.yaml"
    path.write_text(
        f"""\
name: inject
base: {BASE}
patients: 2
duration: 5d
faults: none
vary:
  pump.accuracy: {{uniform: {{low: -0.05, high: -0.01}}}}
grid:
  description: ["=HYPERLINK(\\"http://x\\")", "+1+1", "-2+3", "@SUM(A1)", "\\tTab", "\\rCR", "plain"]
""",
        encoding="utf-8",
    )
    out = tmp_path / "o"
    pumpsim.sweep(str(path), str(out), workers=1, parquet=False)
    rows = list(csv.DictReader((out / "patients.csv").open(encoding="utf-8", newline="")))
    cells = [r["description"] for r in rows[::2]]
    assert cells == [
        '\'=HYPERLINK("http://x")',
        "'+1+1",
        "'-2+3",
        "'@SUM(A1)",
        "'\tTab",
        "'\rCR",
        "plain",
    ]
    assert all(float(r["pump.accuracy"]) < 0 for r in rows)  # numbers keep their sign
    assert all(not r["pump.accuracy"].startswith("'") for r in rows)
