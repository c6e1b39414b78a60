"""Notebook helpers: exact array sampling, pandas frames, the HTML repr, the shipped notebook."""

from __future__ import annotations

import importlib.util
import json
import sys

import numpy as np
import pytest
from conftest import ROOT, SCENARIOS, run

import pumpsim
from pumpsim.outputs import notebook

WEEKLY_FLEX = """
name: weekly
duration: 40d
start: 2026-03-04T07:30:00
pump: {reservoir_ml: 20}
drug: {concentration_mcg_per_ml: 1000}
catheter: {volume_ml: 0.2}
therapy:
  mode: flex
  steps: [{at: "00:00", dose_mcg_per_hour: 10}, {at: "08:00", dose_mcg_per_hour: 25}]
  days:
    sat: [{at: "00:00", dose_mcg_per_hour: 5}, {at: "12:30", dose_mcg_per_hour: 30}]
events:
  - {at: 3d5h, type: bolus, dose_mcg: 50, duration: 2h}
  - {at: 10d, type: refill, volume_ml: 20, concentration_mcg_per_ml: 2000}
  - {at: 15d, type: catheter_fault, kind: kink, delivered_fraction: 0.3}
  - {at: 17d, type: catheter_repair}
  - {at: 20d, type: mri, duration: 2h, recovery_delay: 3h}
  - {at: 25d, type: refill, volume_ml: 18}
"""


def _results() -> list[pumpsim.Result]:
    names = ("flex-schedule", "missed-refill", "catheter-kink", "concentration-change-no-bridge")
    out = [pumpsim.simulate(pumpsim.load_scenario(SCENARIOS / f"{n}.yaml")) for n in names]
    return [*out, run(WEEKLY_FLEX)]


RESULTS = _results()


@pytest.mark.parametrize("result", RESULTS, ids=[r.scenario.name for r in RESULTS])
def test_sample_equals_scalar_trajectory(result):
    rng = np.random.default_rng(3)
    duration = result.scenario.duration
    edges = [s.t_h for s in result.run.trajectory.segments]
    times = np.concatenate([rng.uniform(0, duration, 400), edges, [0.0, duration]])
    got = notebook.sample(result, times)
    for i, t in enumerate(times):
        want = result.run.trajectory.at(float(t))
        for key in ("estimated_ml", "true_ml", "csf_expected", "csf_actual", "csf_ratio"):
            value = getattr(want, key)
            assert got[key][i] == pytest.approx(value, rel=1e-12, abs=1e-12), (key, t)
    assert np.array_equal(got["t_h"], times)


def test_trajectory_at_an_array_is_the_notebook_sample():
    result = RESULTS[-1]
    traj = result.run.trajectory
    times = np.array([0.0, 77.7, 500.0])
    got = traj.at(times)
    want = notebook.sample(result, times)
    for key in notebook.SAMPLE_COLUMNS:
        assert np.array_equal(got[key], want[key]), key


def test_sample_rates_and_gap():
    result = RESULTS[-1]
    series = result.run.trajectory.series()
    got = notebook.sample(result, series["t_h"])
    np.testing.assert_allclose(got["programmed_ml_per_day"], series["programmed_ml_per_day"])
    np.testing.assert_allclose(got["delivered_mcg_per_day"], series["delivered_mcg_per_day"])
    np.testing.assert_allclose(got["gap_ml"], got["estimated_ml"] - got["true_ml"])
    # the kink holds drug back in the reservoir: the truth stays above the pump's estimate
    during = notebook.sample(result, [16 * 24.0])
    assert during["gap_ml"][0] < -0.1


def test_sample_keeps_shape_and_rejects_outside():
    result = RESULTS[0]
    grid = np.linspace(0, 48, 12).reshape(3, 4)
    got = notebook.sample(result, grid)
    assert all(v.shape == (3, 4) for v in got.values())
    assert notebook.sample(result, 5.0)["true_ml"].shape == ()
    for bad in ([-1.0], [result.scenario.duration + 1], [float("nan")]):
        with pytest.raises(ValueError, match="within"):
            notebook.sample(result, bad)


def test_ratio_when_nothing_is_expected():
    result = run("""
        name: zero
        duration: 2d
        drug: {concentration_mcg_per_ml: 2000}
        patient: {established: false}
        therapy: {dose_mcg_per_day: 0}
    """)
    got = notebook.sample(result, [0.0, 24.0])
    assert list(got["csf_ratio"]) == [1.0, 1.0]


needs_pandas = pytest.mark.skipif(
    importlib.util.find_spec("pandas") is None, reason="the pandas extra is not installed"
)


@needs_pandas
def test_to_frame_is_indexed_by_calendar_dates():
    import pandas as pd

    result = RESULTS[-1]
    frame = result.to_frame()
    assert list(frame.columns) == list(notebook.SAMPLE_COLUMNS)
    assert frame.index.name == "time"
    assert frame.index[0] == pd.Timestamp("2026-03-04 07:30")
    assert frame.index[-1] == pd.Timestamp("2026-03-04 07:30") + pd.Timedelta(days=40)
    assert frame.index.is_monotonic_increasing and frame.index.is_unique
    # hourly grid plus every event instant (the bolus at 3d5h is on the grid; 15d too)
    assert set(frame["t_h"]) >= {s.t_h for s in result.run.trajectory.segments}
    assert len(frame) >= 40 * 24
    picked = result.to_frame([0.5, 36.0])
    assert list(picked.index) == [
        pd.Timestamp("2026-03-04 08:00"),
        pd.Timestamp("2026-03-05 19:30"),
    ]
    assert picked["true_ml"].iloc[1] == pytest.approx(result.run.trajectory.at(36.0).true_ml)


@needs_pandas
def test_alarms_frame():
    import pandas as pd

    result = RESULTS[1]  # missed-refill: LRA on day 90, empty on day 97.5, both still sounding
    frame = result.alarms_frame()
    assert list(frame["type"]) == ["low_reservoir", "empty_reservoir"]
    assert list(frame.index) == [pd.Timestamp("2026-04-01"), pd.Timestamp("2026-04-08 12:00")]
    assert frame["end"].isna().all() and frame["end_h"].isna().all()
    assert list(frame["duration_h"]) == [110 * 24 - 90 * 24, 110 * 24 - 97.5 * 24]
    assert list(frame["tone_count"]) == [a.tone_count(result.duration_h) for a in result.alarms]


@needs_pandas
def test_flags_frame():
    import pandas as pd

    result = RESULTS[1]
    frame = result.flags_frame()
    (flag,) = result.flags
    assert list(frame["type"]) == ["abrupt_discontinuation"]
    assert frame["cause"].iloc[0] == "minimum_rate" and bool(frame["alarmed"].iloc[0])
    exact = pd.Timestamp("2026-01-01") + pd.Timedelta(hours=flag.start_h)
    assert abs(frame.index[0] - exact) <= pd.Timedelta(microseconds=1)
    assert frame["time_to_critical_alarm_h"].iloc[0] == 0.0
    assert "expected_course" not in frame.columns  # list-valued fields stay in to_dict()


@needs_pandas
def test_empty_frames_keep_their_columns():
    result = run("""
        name: quiet
        duration: 2d
        drug: {concentration_mcg_per_ml: 2000}
        therapy: {dose_mcg_per_day: 100}
    """)
    assert result.alarms_frame().empty and "priority" in result.alarms_frame().columns
    assert result.flags_frame().empty and "cause" in result.flags_frame().columns


def test_frames_name_the_extra_when_pandas_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"pumpsim\[pandas\]"):
        RESULTS[0].to_frame()
    with pytest.raises(ImportError, match=r"pumpsim\[pandas\]"):
        RESULTS[0].flags_frame()
    assert notebook.sample(RESULTS[0], [1.0])["true_ml"].shape == (1,)  # numpy only


def test_repr_html_summary_and_figure():
    result = RESULTS[1]
    text = result._repr_html_()
    assert "missed-refill" in text and "<svg" in text and "</svg>" in text
    assert "withdrawal flags</th><td>1 (0 silent)" in text
    assert "2026-04-08 12:00 (97d 12h)" in text  # calendar date with the offset beside it
    assert "expectations</th><td>5/5 passed" in text
    assert text == result._repr_html_()  # same result, same bytes
    assert len(text) < 200_000
    silent = pumpsim.simulate(pumpsim.load_scenario(SCENARIOS / "catheter-disconnection.yaml"))
    assert "SILENT" in notebook.repr_html(silent, figure=False)
    assert "<svg" not in notebook.repr_html(silent, figure=False)


def test_repr_html_escapes_text():
    result = run("""
        name: esc
        description: "<script>alert(1)</script> & more"
        duration: 1d
        drug: {concentration_mcg_per_ml: 2000}
        therapy: {dose_mcg_per_day: 100}
    """)
    text = notebook.repr_html(result, figure=False)
    assert "<script>" not in text and "&lt;script&gt;" in text


def run_notebook(path, namespace: dict) -> list[str]:
    """Run every code cell in order in one namespace, as Jupyter would; return what each cell
    displays (the last expression's ``_repr_html_`` when it has one, else its ``repr``)."""
    import ast

    nb = json.loads(path.read_text(encoding="utf-8"))
    shown = []
    for i, cell in enumerate(c for c in nb["cells"] if c["cell_type"] == "code"):
        source = "".join(cell["source"])
        tree = ast.parse(source, f"{path.name} cell {i}")
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, f"{path.name} cell {i}", "exec"), namespace)
        if last is None:
            shown.append("")
            continue
        value = eval(
            compile(ast.Expression(last.value), f"{path.name} cell {i}", "eval"), namespace
        )
        shown.append(value._repr_html_() if hasattr(value, "_repr_html_") else repr(value))
    return shown


@needs_pandas
def test_shipped_notebook_runs(tmp_path, monkeypatch):
    """Every code cell of docs/notebook.ipynb runs, in order; what it displays is right."""
    path = ROOT / "docs" / "notebook.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert cells and all(not c.get("outputs") for c in cells), "ship the notebook unexecuted"
    (tmp_path / "scenarios").symlink_to(SCENARIOS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": "__notebook__"}
    shown = run_notebook(path, namespace)
    assert "<svg" in shown[0] and "over-infusion-silent-empty" in shown[0]  # the HTML repr
    assert "reservoir_empty" in shown[4]  # the flags frame
    study = namespace["study"]
    silent = list(study["silent"]) if hasattr(study, "columns") else [r["silent"] for r in study]
    assert silent == [False, True, True, True, True, True]
