"""Exact trajectories between events, and the figure for people."""

import pytest
from conftest import SCENARIOS

import pumpsim
from pumpsim.cli import main

FILES = sorted(SCENARIOS.glob("*.yaml"))


@pytest.mark.parametrize("path", FILES[::3], ids=lambda p: p.stem)
def test_trajectory_agrees_with_probes(path):
    # every value expectation was read by a probe event; the trajectory must give the same value
    r = pumpsim.simulate(pumpsim.load_scenario(str(path)))
    for t, snap in r.run.snapshots.items():
        v = r.run.trajectory.at(t)
        assert v["estimated_ml"] == pytest.approx(snap.reservoir_estimated_ml, abs=1e-9)
        assert v["true_ml"] == pytest.approx(snap.reservoir_true_ml, abs=1e-9)
        if snap.csf_ratio is not None:
            assert v["csf_ratio"] == pytest.approx(snap.csf_ratio, rel=1e-9, abs=1e-12)


def test_trajectory_between_events_is_exact():
    text = """
name: t
duration: 20d
drug: {concentration_mcg_per_ml: 2000}
therapy: {dose_mcg_per_day: 300}
events: [{at: 12d, type: catheter_fault, kind: disconnection}]
"""
    r = pumpsim.simulate(pumpsim.load_scenario_text(text))
    v = r.run.trajectory.at(12 * 24 + 3.0)  # two half-lives after the disconnection
    assert v["csf_ratio"] == pytest.approx(0.25)
    assert v["estimated_ml"] == pytest.approx(20 - 0.15 * 12.125)


def test_plot_writes_a_png(tmp_path, capsys):
    out = tmp_path / "f.png"
    assert (
        main(
            [
                "plot",
                str(SCENARIOS / "missed-refill.yaml"),
                "-o",
                str(out),
                "--from",
                "95d",
                "--to",
                "100d",
            ]
        )
        == 0
    )
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    assert not list(tmp_path.glob(".pumpsim-*"))


def test_plot_bad_window_is_exit_2(tmp_path, capsys):
    out = tmp_path / "f.png"
    assert (
        main(["plot", str(SCENARIOS / "missed-refill.yaml"), "-o", str(out), "--from", "95"]) == 2
    )
    assert "bare number" in capsys.readouterr().err
    assert (
        main(
            [
                "plot",
                str(SCENARIOS / "missed-refill.yaml"),
                "-o",
                str(out),
                "--from",
                "9d",
                "--to",
                "2d",
            ]
        )
        == 2
    )
    assert not out.exists()
