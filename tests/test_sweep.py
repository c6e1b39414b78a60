"""Sweeps end to end: the same files whatever the executor, the workers or interruptions."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT

import pumpsim
from pumpsim.errors import ScenarioError
from pumpsim.studies.sweep.runner import SweepInterrupted
from pumpsim.studies.sweep.table import have_pyarrow

BASE = ROOT / "scenarios" / "steady-state-year.yaml"

SWEEP = """
name: t-sweep
base: {base}
patients: 24
seed: 3
duration: 2y
vary:
  pump.accuracy: {{normal: {{mean: 0.02, sd: 0.04}}}}
  therapy.dose_mcg_per_day: {{lognormal: {{median: 450, sigma: 0.35}}}}
  patient.injury_level: {{choice: {{C5: 0.5, L1: 0.5}}}}
grid:
  faults.catheter.model: [reinforced, silicone]
clinic:
  refill_every: {{normal: {{mean: 57d, sd: 15d}}}}
  late_by: {{exponential: {{mean: 3d}}}}
  missed_probability: 0.05
  alarm_visit_after: {{exponential: {{mean: 2d}}}}
faults:
  # rates well above the real ones, so a small sweep sees every stream
  catheter: {{rate_per_year: 0.4}}
  motor_stall: {{rate_per_year: 0.1}}
  pump_fault: {{rate_per_year: 0.1}}
  pocket_fill: {{per_refill: 0.05}}
"""


@pytest.fixture
def sweep_file(tmp_path: Path) -> str:
    path = tmp_path / "sweep.yaml"
    path.write_text(textwrap.dedent(SWEEP.format(base=BASE)), encoding="utf-8")
    return str(path)


def outputs(folder: Path) -> dict[str, bytes]:
    names = (
        "patients.csv",
        "patients.parquet",
        "flags.csv",
        "flags.parquet",
        "summary.json",
        "risk.csv",
        "columns.csv",
    )
    return {n: (folder / n).read_bytes() for n in names if (folder / n).exists()}


def run(sweep_file: str, out: Path, **kw):
    kw.setdefault("parquet", False)
    kw.setdefault("batch_size", 5)
    return pumpsim.sweep(sweep_file, str(out), **kw)


def test_sweep_writes_one_row_per_patient_and_a_summary(sweep_file, tmp_path):
    result = run(sweep_file, tmp_path / "a", workers=1)
    rows = result.patients
    assert len(rows) == 48
    assert [(r["grid"], r["patient"]) for r in rows] == [(g, i) for g in (0, 1) for i in range(24)]
    assert {r["faults.catheter.model"] for r in rows} == {"reinforced", "silicone"}
    header = (tmp_path / "a" / "patients.csv").read_text().splitlines()[0].split(",")
    for column in (
        "grid",
        "patient",
        "pump.accuracy",
        "therapy.dose_mcg_per_day",
        "patient.injury_level",
        "n_alarm_empty_reservoir",
        "n_flag_abrupt_discontinuation",
        "first_abrupt_h",
        "first_abrupt_cause",
        "first_abrupt_alarmed",
        "first_abrupt_cause_to_flag_h",
    ):
        assert column in header
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary == result.summary
    points = summary["grid_points"]
    assert [p["values"] for p in points] == [
        {"faults.catheter.model": "reinforced"},
        {"faults.catheter.model": "silicone"},
    ]
    for point in points:
        ad = point["abrupt_discontinuation"]
        flagged = [r for r in rows if r["grid"] == point["grid_point"]]
        # counting rules: every flag counts; every patient counts the full duration
        assert ad["flags"] == sum(r["n_flag_abrupt_discontinuation"] for r in flagged)
        assert point["patient_years"] == pytest.approx(24 * 2 * 365.25 / 365.25)
        # rounded to 6 significant digits
        assert ad["per_100_patient_years"] == pytest.approx(100 * ad["flags"] / 48, rel=1e-5)
        lo, hi = ad["per_100_patient_years_95ci"]
        assert lo <= ad["per_100_patient_years"] <= hi
        assert sum(sum(r.values()) for r in ad["cause_by_first_alarm"].values()) == ad["flags"]
    assert "timing" not in json.dumps(summary) and "worker" not in json.dumps(summary)
    log = (tmp_path / "a" / "run.log").read_text()
    assert "patient-years/s" in log


def test_every_stream_shows_up(sweep_file, tmp_path):
    rows = run(sweep_file, tmp_path / "a", workers=1).patients
    for tally in (
        "refills",
        "missed_refills",
        "catheter_faults",
        "motor_stalls",
        "pump_faults",
        "pump_replacements",
        "pocket_fills",
        "alarm_visits",
    ):
        assert sum(r[f"n_{tally}"] for r in rows) > 0, tally
    causes = {r["first_abrupt_cause"] for r in rows} - {None}
    assert {"catheter", "motor_stall"} <= causes


def test_serial_equals_parallel_equals_resumed(sweep_file, tmp_path):
    serial = outputs(
        run(sweep_file, tmp_path / "serial", workers=1).out_dir and tmp_path / "serial"
    )
    run(sweep_file, tmp_path / "parallel", workers=2)
    assert outputs(tmp_path / "parallel") == serial

    stops = []

    def stop_after_three(index: int) -> None:
        stops.append(index)
        if len(stops) == 3:
            raise KeyboardInterrupt

    with pytest.raises(SweepInterrupted) as info:
        run(sweep_file, tmp_path / "resumed", workers=2, on_batch=stop_after_three)
    assert info.value.done == 3 and info.value.total == 10
    assert not (tmp_path / "resumed" / "summary.json").exists()
    seen = []
    run(sweep_file, tmp_path / "resumed", workers=2, on_batch=seen.append)
    assert len(seen) == 7  # only the missing batches ran
    assert outputs(tmp_path / "resumed") == serial
    # a re-run of a finished sweep computes nothing and rewrites the same files
    again = []
    run(sweep_file, tmp_path / "resumed", workers=2, on_batch=again.append)
    assert again == [] and outputs(tmp_path / "resumed") == serial


def test_batch_size_does_not_change_results(sweep_file, tmp_path):
    a = run(sweep_file, tmp_path / "a", workers=1, batch_size=7)
    b = run(sweep_file, tmp_path / "b", workers=1, batch_size=24)
    assert outputs(Path(a.out_dir)) == outputs(Path(b.out_dir))


@pytest.mark.skipif(not have_pyarrow(), reason="needs the parquet extra")
def test_a_rerun_in_the_other_format_replaces_the_tables_only_once_written(
    sweep_file, tmp_path, monkeypatch
):
    import pumpsim.studies.sweep.table as table

    out = tmp_path / "o"
    run(sweep_file, out, parquet=False)
    csv_bytes = (out / "patients.csv").read_bytes()

    def broken_write(self, rows):  # the assembly fails half-way
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(table.TableWriter, "write", broken_write)
        with pytest.raises(KeyboardInterrupt):
            run(sweep_file, out, parquet=False)
    assert (out / "patients.csv").read_bytes() == csv_bytes  # the last good table is kept
    assert not list(out.glob(".pumpsim-*"))
    run(sweep_file, out, parquet=True)
    assert (out / "patients.parquet").exists() and not (out / "patients.csv").exists()


@pytest.mark.skipif(not have_pyarrow(), reason="needs the parquet extra")
def test_parquet_is_byte_identical_across_workers(sweep_file, tmp_path):
    import pyarrow.parquet as pq

    run(sweep_file, tmp_path / "a", workers=1, parquet=True)
    run(sweep_file, tmp_path / "b", workers=2, parquet=True)
    a, b = outputs(tmp_path / "a"), outputs(tmp_path / "b")
    assert "patients.parquet" in a and a == b
    table = pq.read_table(tmp_path / "a" / "patients.parquet")
    assert table.num_rows == 48 and table.column("patient").to_pylist()[:3] == [0, 1, 2]


def test_dask_local_cluster_gives_the_same_files(sweep_file, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    run(sweep_file, tmp_path / "serial", workers=1)
    with (
        distributed.LocalCluster(n_workers=2, processes=False, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        run(sweep_file, tmp_path / "dask", dask=client)
    assert outputs(tmp_path / "dask") == outputs(tmp_path / "serial")


def test_changed_sweep_is_refused_unless_fresh(sweep_file, tmp_path):
    out = tmp_path / "out"
    run(sweep_file, out, workers=1)
    text = Path(sweep_file).read_text()
    # a comment is not a change
    Path(sweep_file).write_text("# a new comment\n" + text)
    run(sweep_file, out, workers=1)
    Path(sweep_file).write_text(text.replace("seed: 3", "seed: 4"))
    with pytest.raises(ScenarioError, match=r"another sweep.*--fresh"):
        run(sweep_file, out, workers=1)
    fresh = run(sweep_file, out, workers=1, fresh=True)
    assert fresh.summary["seed"] == 4


def test_a_changed_base_scenario_is_a_changed_sweep(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text(BASE.read_text())
    sweep = tmp_path / "s.yaml"
    sweep.write_text("name: b\nbase: base.yaml\npatients: 3\nduration: 30d\nfaults: none\n")
    run(str(sweep), tmp_path / "out", workers=1)
    base.write_text(BASE.read_text().replace("dose_mcg_per_day: 400", "dose_mcg_per_day: 300"))
    with pytest.raises(ScenarioError, match="another sweep"):
        run(str(sweep), tmp_path / "out", workers=1)


def test_non_sweep_folder_is_refused(sweep_file, tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ScenarioError, match="not empty"):
        run(sweep_file, out, workers=1)
    assert (out / "notes.txt").read_text() == "mine"


def test_python_api_without_out_folder(sweep_file):
    result = pumpsim.sweep(sweep_file, patients=4, workers=1)
    assert len(result.patients) == 8
    assert result.summary["patients_per_grid_point"] == 4


CRN = """
name: crn
base: {base}
patients: 30
seed: 9
duration: 3y
vary:
  pump.accuracy: {{normal: {{mean: 0.0, sd: 0.03}}}}
  therapy.dose_mcg_per_day: {{lognormal: {{median: 400, sigma: 0.3}}}}
{extra}grid:
  risk.threshold: [0.3, 0.5, 0.7]
clinic:
  refill_every: {{normal: {{mean: 57d, sd: 15d}}}}
  missed_probability: 0.1
faults:
  catheter: {{rate_per_year: 0.3}}
  motor_stall: {{rate_per_year: 0.1}}
"""


def crn_rows(tmp_path: Path, extra: str = "", name: str = "crn.yaml") -> list[dict]:
    path = tmp_path / name
    path.write_text(textwrap.dedent(CRN.format(base=BASE, extra=extra)), encoding="utf-8")
    return pumpsim.sweep(str(path), workers=1, parquet=False).patients


def test_common_random_numbers_across_grid_points(tmp_path):
    rows = crn_rows(tmp_path)
    by_point = [[r for r in rows if r["grid"] == g] for g in range(3)]
    same = (
        "pump.accuracy",
        "therapy.dose_mcg_per_day",
        "n_refills",
        "n_missed_refills",
        "n_catheter_faults",
        "n_motor_stalls",
        "n_pump_replacements",
    )
    for i in range(30):
        first = by_point[0][i]
        for other in (by_point[1][i], by_point[2][i]):
            assert {k: other[k] for k in same} == {k: first[k] for k in same}
    # ...and the threshold, the only difference, moves the flags
    flags = [sum(r["n_flag_abrupt_discontinuation"] for r in p) for p in by_point]
    assert flags[0] <= flags[1] <= flags[2] and flags[0] < flags[2]


def test_adding_a_drawn_key_changes_no_other_draw(tmp_path):
    plain = crn_rows(tmp_path, name="a.yaml")
    more = crn_rows(
        tmp_path, "  patient.injury_level: {choice: {C5: 0.5, L1: 0.5}}\n", name="b.yaml"
    )
    keys = ("pump.accuracy", "therapy.dose_mcg_per_day", "n_refills", "n_catheter_faults")
    assert [{k: r[k] for k in keys} for r in plain] == [{k: r[k] for k in keys} for r in more]
    assert {r["patient.injury_level"] for r in more} == {"C5", "L1"}
