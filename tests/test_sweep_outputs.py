"""What a sweep writes (contract section 10): breakdowns, the risk table, typed and described
columns, figures in the format their suffix names, paths checked first, progress off a
terminal, and run.log saying why a run stopped."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from conftest import ROOT

import pumpsim
from pumpsim.cli import main
from pumpsim.studies.sweep.hazard_map import hazard_map
from pumpsim.studies.sweep.risk_matrix import load_risk_matrix
from pumpsim.studies.sweep.table import have_pyarrow

BASE = ROOT / "scenarios" / "steady-state-year.yaml"

SWEEP = """\
name: outputs
base: {base}
patients: 40
seed: 6
duration: 1y
vary:
  therapy.dose_mcg_per_day: {{lognormal: {{median: 400, sigma: 0.5}}, within: [100, 2000]}}
  patient.injury_level: {{choice: {{C5: 0.5, L1: 0.5}}}}
  pump.age: {{uniform: {{low: 0d, high: 2y}}}}
grid:
  pump.reservoir_ml: [20, 40]
clinic:
  refill_every: {{normal: {{mean: 57d, sd: 10d}}}}
  missed_probability: 0.1
faults:
  catheter: {{rate_per_year: 0.4}}
  motor_stall: {{rate_per_year: 0.1}}
  pump_fault: {{rate_per_year: 0.1}}
  pocket_fill: {{per_refill: 0.05}}
{extra}"""


@pytest.fixture
def sweep_file(tmp_path: Path) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(SWEEP.format(base=BASE, extra=""), encoding="utf-8")
    return path


def test_breakdowns_by_value_by_quartile_and_by_edges(sweep_file, tmp_path):
    result = pumpsim.sweep(
        str(sweep_file),
        str(tmp_path / "o"),
        workers=2,
        parquet=False,
        by=[
            "patient.injury_level",
            "therapy.dose_mcg_per_day",
            "pump.age:0d,1y",
            "pump.reservoir_ml",
        ],
    )
    doc = result.summary
    assert doc["by"] == [
        "patient.injury_level",
        "therapy.dose_mcg_per_day",
        "pump.age",
        "pump.reservoir_ml",
    ]
    for point in doc["grid_points"]:
        rows = [r for r in result.patients if r["grid"] == point["grid_point"]]
        injury = point["by"]["patient.injury_level"]
        assert [g["value"] for g in injury] == ["C5", "L1"]
        for key, groups in point["by"].items():
            # the groups split the grid point: patients and flags add up
            assert sum(g["patients"] for g in groups) == point["patients"], key
            assert (
                sum(g["abrupt_discontinuation"]["flags"] for g in groups)
                == (point["abrupt_discontinuation"]["flags"])
            )
        c5 = [r for r in rows if r["patient.injury_level"] == "C5"]
        assert injury[0]["patients"] == len(c5)
        assert injury[0]["abrupt_discontinuation"]["flags"] == sum(
            r["n_flag_abrupt_discontinuation"] for r in c5
        )
        quartiles = point["by"]["therapy.dose_mcg_per_day"]
        assert len(quartiles) == 4 and [g["patients"] for g in quartiles] == [10, 10, 10, 10]
        ages = point["by"]["pump.age"]
        assert [g["range"] for g in ages] == [[0, 8766], [8766, None]]
        assert len(point["by"]["pump.reservoir_ml"]) == 2
    versus = doc["grid_points"][1]["by"]["patient.injury_level"][0]["abrupt_discontinuation"]
    assert "versus_grid_point_0" in versus
    text = result.text
    assert "by patient.injury_level:" in text and "by therapy.dose_mcg_per_day:" in text


def test_a_bad_by_is_refused_before_any_patient(sweep_file, tmp_path, capsys):
    out = tmp_path / "o"
    for option, words in (
        ("pump.colour", "neither drawn (vary) nor a grid key"),
        ("therapy.dose_mcg_per_day:400,200", "edges must increase"),
        ("pump.age:0,1y", "is not a duration with a unit"),
        ("patient.injury_level:1,2", "splits by value"),
    ):
        assert main(["sweep", str(sweep_file), "--out", str(out), "--by", option]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and words in err, err
    assert not out.exists()


def test_the_risk_table_maps_flags_to_hazards_and_grades_them(sweep_file, tmp_path):
    out = tmp_path / "o"
    result = pumpsim.sweep(str(sweep_file), str(out), workers=2, parquet=False)
    risk = result.summary["risk"]
    assert risk["matrix"] == "pumpsim-default" and risk["probability_from"] == "rate"
    point = risk["grid_points"][0]
    hazards = {h["hazard"]: h for h in point["hazards"]}
    catalogue = hazard_map()
    # every withdrawal flag lands on a hazard: the occurrences add up to the flags
    flags = result.summary["grid_points"][0]["abrupt_discontinuation"]["flags"]
    withdrawal = sum(
        h["occurrences"]
        for h in point["hazards"]
        if any(r[0] == "abrupt_discontinuation" and r[3] == h["hazard"] for r in catalogue.rules)
    )
    assert withdrawal == flags and not risk["unmapped_flags"]
    matrix = load_risk_matrix()
    for h in hazards.values():
        years = result.summary["grid_points"][0]["patient_years"]
        assert h["per_patient_year"] == pytest.approx(h["occurrences"] / years, rel=1e-5)
        low, high = h["per_patient_year_95ci"]
        assert low <= h["per_patient_year"] <= high
        assert h["probability"] == matrix.p_category(h["per_patient_year"]).id
        assert h["level"] == matrix.level(h["probability"], h["severity"])
        assert sum(h["severity_spread"].values()) == h["occurrences"]
        assert h["severity"] in h["severity_spread"] or not h["occurrences"]
    # catheter faults are silent: none detected at onset; a stalled motor always alarms
    catheter = [h for k, h in hazards.items() if k in ("H-UD-05", "H-UD-06", "H-UD-07")]
    assert catheter and all(h["detected"] == 0 for h in catheter if h["occurrences"])
    if hazards.get("H-HW-01", {}).get("occurrences"):
        assert hazards["H-HW-01"]["detected_share"] == 1.0
    rows = list(csv.DictReader((out / "risk.csv").open(encoding="utf-8")))
    assert len(rows) == sum(len(p["hazards"]) for p in risk["grid_points"])
    assert {r["level"] for r in rows} <= {"acceptable", "alarp", "unacceptable"}
    assert "risk table (pumpsim-default" in result.text


def test_the_shipped_matrix_marks_every_bound_assumed():
    text = (ROOT / "pumpsim" / "profiles" / "risk-matrix.yaml").read_text(encoding="utf-8")
    import yaml

    raw = yaml.safe_load(text)
    assert all("assumed" in c for c in raw["probability"]["categories"])
    assert "assumed" in raw["severity"] and "assumed" in raw["levels"]


def test_a_sweep_may_bring_its_own_risk_matrix(tmp_path):
    matrix = tmp_path / "plan-matrix.yaml"
    shipped = (ROOT / "pumpsim" / "profiles" / "risk-matrix.yaml").read_text(encoding="utf-8")
    everything_fine = shipped.replace("unacceptable", "acceptable").replace("alarp", "acceptable")
    matrix.write_text(everything_fine.replace("name: pumpsim-default", "name: our-plan"))
    path = tmp_path / "sweep.yaml"
    path.write_text(SWEEP.format(base=BASE, extra="risk_matrix: plan-matrix.yaml\n"))
    risk = pumpsim.sweep(str(path), patients=10, workers=1, parquet=False).summary["risk"]
    assert risk["matrix"] == "our-plan"
    assert {h["level"] for p in risk["grid_points"] for h in p["hazards"]} == {"acceptable"}


def test_a_bad_risk_matrix_names_its_file_and_line(tmp_path, capsys):
    matrix = tmp_path / "m.yaml"
    shipped = (ROOT / "pumpsim" / "profiles" / "risk-matrix.yaml").read_text(encoding="utf-8")
    matrix.write_text(shipped.replace("S5: [alarp, alarp,", "S5: [alarp, fine,"))
    path = tmp_path / "sweep.yaml"
    path.write_text(SWEEP.format(base=BASE, extra="risk_matrix: m.yaml\n"))
    assert main(["sweep", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    line = next(i for i, t in enumerate(shipped.splitlines(), 1) if t.startswith("  S5:"))
    assert f"m.yaml:{line}: levels.S5[1]: a level is one of" in err


@pytest.mark.skipif(not have_pyarrow(), reason="needs the parquet extra")
def test_parquet_columns_keep_their_types_units_and_descriptions(sweep_file, tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "o"
    pumpsim.sweep(str(sweep_file), str(out), workers=1, parquet=True)
    schema = pq.read_schema(out / "patients.parquet")
    types = {f.name: str(f.type) for f in schema}
    assert types["pump.reservoir_ml"] == "int64"
    assert types["therapy.dose_mcg_per_day"] == "double"
    assert types["pump.age_h"] == "double"
    assert types["patient.injury_level"] == "string"
    assert types["n_refills"] == "int64" and types["first_abrupt_alarmed"] == "bool"
    meta = {f.name: f.metadata for f in schema}
    assert meta["therapy.dose_mcg_per_day"][b"unit"] == b"mcg/day"
    assert meta["pump.age_h"][b"unit"] == b"h"
    assert b"drawn per patient" in meta["therapy.dose_mcg_per_day"][b"description"]
    assert meta["n_refills"][b"unit"] == b"count"
    assert not (out / "columns.csv").exists()
    table = pq.read_table(out / "patients.parquet")
    assert set(table.column("pump.reservoir_ml").to_pylist()) == {20, 40}
    flags = pq.read_schema(out / "flags.parquet")
    assert flags.field("start_h").metadata[b"unit"] == b"h"


def test_a_csv_table_has_columns_csv_beside_it(sweep_file, tmp_path):
    out = tmp_path / "o"
    pumpsim.sweep(str(sweep_file), str(out), workers=1, parquet=False)
    described = list(csv.DictReader((out / "columns.csv").open(encoding="utf-8")))
    assert all(d["description"] for d in described)
    for table in ("patients", "flags"):  # review D7: the flags table was not described
        header = (out / f"{table}.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
        assert [d["name"] for d in described if d["table"] == table] == header
    by_name = {d["name"]: d for d in described if d["table"] == "patients"}
    assert by_name["pump.reservoir_ml"]["type"] == "int"
    assert by_name["pump.age_h"]["unit"] == "h" and by_name["pump.age_h"]["type"] == "float"
    # a visit count is not an alarm count, though its name starts like one
    assert by_name["n_alarm_visits"]["description"].startswith("visits brought on by an alarm")
    assert by_name["n_alarm_empty_reservoir"]["description"] == "empty reservoir alarms raised"
    flags = {d["name"]: d for d in described if d["table"] == "flags"}
    assert flags["start_h"]["unit"] == "h" and flags["alarmed"]["type"] == "bool"


def test_duration_grid_values_are_hours_in_an_h_column(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text(
        f"name: d\nbase: {BASE}\npatients: 3\nfaults: none\n"
        "grid:\n  risk.csf_half_life: [1h, 90min]\n"
    )
    result = pumpsim.sweep(str(path), workers=1, parquet=False)
    assert "risk.csf_half_life_h" in result.columns
    assert {r["risk.csf_half_life_h"] for r in result.patients} == {1.0, 1.5}
    assert result.summary["grid_points"][1]["values"] == {"risk.csf_half_life": "90min"}


@pytest.mark.parametrize(
    ("suffix", "magic"), [(".svg", b"<?xml"), (".pdf", b"%PDF"), (".png", b"\x89PNG")]
)
def test_figures_are_in_the_format_their_suffix_names(sweep_file, tmp_path, suffix, magic):
    out = tmp_path / "o"
    plot = tmp_path / f"fig{suffix}"
    args = ["sweep", str(sweep_file), "--out", str(out), "--patients", "4", "--workers", "1"]
    assert main([*args, "--plot", str(plot), "-q"]) == 0
    assert plot.read_bytes().startswith(magic)
    assert (tmp_path / f"fig-risk{suffix}").read_bytes().startswith(magic)


def test_heat_maps_use_a_log_scale_with_a_colour_bar_and_counts(sweep_file, tmp_path):
    from matplotlib.colors import LogNorm

    from pumpsim.outputs.sweep_plot import sweep_figure

    result = pumpsim.sweep(str(sweep_file), workers=2, parquet=False)
    fig = sweep_figure(result)
    heat = [ax for ax in fig.axes if ax.images]
    assert len(heat) == 2 and all(isinstance(ax.images[0].norm, LogNorm) for ax in heat)
    assert any("log scale" in ax.get_ylabel() for ax in fig.axes)  # the colour bar
    table = result.summary["grid_points"][0]["abrupt_discontinuation"]["cause_by_first_alarm"]
    texts = {t.get_text() for t in heat[0].texts}
    assert {str(v) for row in table.values() for v in row.values()} <= texts


@pytest.mark.parametrize(
    ("plot", "words"),
    [
        ("fig.txt", "unknown figure format '.txt'"),
        ("fig", "unknown figure format '(none)'"),
        ("/no/such/folder/fig.png", "folder /no/such/folder does not exist"),
    ],
)
def test_bad_figure_paths_are_refused_before_the_first_patient(
    sweep_file, tmp_path, capsys, plot, words
):
    out = tmp_path / "o"
    assert main(["sweep", str(sweep_file), "--out", str(out), "--plot", plot]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and words in err, err
    assert not out.exists()  # nothing simulated


def test_an_out_path_that_is_a_file_is_refused_first(sweep_file, tmp_path, capsys):
    out = tmp_path / "file"
    out.write_text("x")
    assert main(["sweep", str(sweep_file), "--out", str(out)]) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_progress_lines_off_a_terminal_and_in_run_log(sweep_file, tmp_path, capsys):
    from pumpsim.studies.sweep.runner import run_sweep
    from pumpsim.studies.sweep.spec import load_sweep

    out = tmp_path / "o"
    spec = load_sweep(str(sweep_file))
    run_sweep(spec, str(out), workers=1, batch_size=4, progress="lines", progress_every_s=0)
    err = capsys.readouterr().err.splitlines()
    assert [line.split(" (")[0] for line in err] == [
        f"progress: {n} of 80 patients" for n in range(8, 81, 8)
    ]
    log = (out / "run.log").read_text().splitlines()
    assert sum("progress:" in line for line in log) == 10
    assert log[-1].endswith("finished")


def test_quiet_prints_nothing_but_run_log_gets_the_progress(sweep_file, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["sweep", str(sweep_file), "--out", str(out), "--workers", "1", "-q"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    log = (out / "run.log").read_text()
    assert "progress: 80 of 80 patients (100 %)" in log and "finished" in log


def test_run_log_says_why_a_run_stopped(sweep_file, tmp_path):
    from pumpsim.studies.sweep.runner import SweepInterrupted

    out = tmp_path / "o"

    def stop(index: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(SweepInterrupted):
        pumpsim.sweep(str(sweep_file), str(out), workers=1, on_batch=stop)
    assert "why: interrupted" in (out / "run.log").read_text()


def test_summary_json_keeps_the_round_2_names(sweep_file, tmp_path):
    out = tmp_path / "o"
    pumpsim.sweep(str(sweep_file), str(out), workers=1, parquet=False)
    doc = json.loads((out / "summary.json").read_text())
    point = doc["grid_points"][0]
    for key in ("values", "patients", "patient_years", "abrupt_discontinuation"):
        assert key in point
    ad = point["abrupt_discontinuation"]
    for key in (
        "flags",
        "per_100_patient_years",
        "per_100_patient_years_95ci",
        "silent",
        "silent_share",
        "silent_share_95ci",
        "silent_per_100_patient_years",
        "silent_per_100_patient_years_95ci",
        "patients_with_a_flag_per_100",
        "patients_with_a_flag_per_100_95ci",
        "cause_by_first_alarm",
    ):
        assert key in ad
    for key in ("alarms_per_100_patient_years", "visits_per_100_patient_years"):
        assert key in point and f"{key}_95ci" in point
    assert "risk" in doc and "interval_method" in doc


@pytest.mark.parametrize("grid", ["", "grid:\n  pump.reservoir_ml: [20, 40]\n"])
def test_the_risk_figure_shows_its_whole_caveat(tmp_path, grid):
    # Review D4: one grid point's figure cut its legend title ("bounds are assumed ...") on
    # both sides.
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from pumpsim.outputs.risk_plot import risk_figure

    path = tmp_path / "one.yaml"
    path.write_text(f"name: a-rather-long-sweep-name\nbase: {BASE}\npatients: 4\n{grid}")
    fig = risk_figure(pumpsim.sweep(str(path), str(tmp_path / "o"), workers=1, parquet=False))
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    title = fig.legends[0].get_title()
    box = title.get_window_extent(canvas.get_renderer())
    assert box.x0 >= 0 and box.x1 <= fig.bbox.x1 and box.y0 >= 0
    assert "gives a source" in " ".join(title.get_text().split())
