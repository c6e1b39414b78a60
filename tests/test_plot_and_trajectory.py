"""Exact trajectories between events, and the figure for people."""

import os
import subprocess
import sys

import pytest
from conftest import ROOT, SCENARIOS, run, scenario_text, shipped_scenarios

import pumpsim
from pumpsim.cli import main

FILES = shipped_scenarios()


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
    assert v.csf_ratio == pytest.approx(0.25)
    assert v.estimated_ml == pytest.approx(20 - 0.15 * 12.125)


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


@pytest.mark.parametrize(
    ("suffix", "magic"), [(".svg", b"<?xml"), (".pdf", b"%PDF-"), (".png", b"\x89PNG")]
)
def test_plot_writes_the_format_of_the_suffix(tmp_path, capsys, suffix, magic):
    out = tmp_path / f"f{suffix}"
    assert main(["plot", str(SCENARIOS / "catheter-disconnection.yaml"), "-o", str(out)]) == 0
    data = out.read_bytes()
    assert data.startswith(magic)
    if suffix == ".svg":
        assert b"<svg" in data[:2000]
    assert oct(out.stat().st_mode & 0o777) == oct(0o644)


def test_plot_unknown_suffix_is_exit_2_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "f.gif"
    assert main(["plot", str(SCENARIOS / "missed-refill.yaml"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ".png, .svg or .pdf" in err
    assert not out.exists() and not list(tmp_path.iterdir())


def test_svg_and_pdf_are_byte_identical_across_runs():
    from pumpsim.outputs.report.plot import figure, render

    r = pumpsim.simulate(pumpsim.load_scenario(str(SCENARIOS / "missed-refill.yaml")))
    for fmt in ("svg", "pdf", "png"):
        assert render(figure(r), fmt) == render(figure(r), fmt), fmt


def test_figure_does_not_touch_pyplot_or_the_backend():
    # issue 9: switching to Agg broke Jupyter. Build in a fresh interpreter with another backend.
    code = (
        "import sys, matplotlib; matplotlib.use('pdf'); import pumpsim;"
        "from pumpsim.outputs.report.plot import figure, render;"
        "from matplotlib.figure import Figure;"
        f"r = pumpsim.simulate(pumpsim.load_scenario({str(SCENARIOS / 'missed-refill.yaml')!r}));"
        "f = figure(r); render(f, 'svg');"
        "assert isinstance(f, Figure);"
        "assert matplotlib.get_backend() == 'pdf', matplotlib.get_backend();"
        "assert 'matplotlib.pyplot' not in sys.modules"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def _laid_out(result, **window):
    from pumpsim.outputs.report.plot import figure, render

    fig = figure(result, **window)
    render(fig, "png")  # lay it out
    return fig


def _boxes(fig):
    """Every visible text's box, and the legend's, in display units, once drawn."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    legend = fig.legends[0]
    inside = set(map(id, legend.findobj()))
    texts = [
        (t.get_text(), t.get_window_extent(renderer))
        for t in fig.findobj(lambda a: hasattr(a, "get_text") and hasattr(a, "get_window_extent"))
        if t.get_text() and t.get_visible() and t.figure is fig and id(t) not in inside
    ]
    return texts, legend.get_window_extent(renderer), renderer


def test_figure_title_is_whole_and_legends_hide_nothing():
    r = pumpsim.simulate(pumpsim.load_scenario(str(SCENARIOS / "eri-ignored-until-eos.yaml")))
    fig = _laid_out(r)
    title = fig._suptitle.get_text()
    assert (
        " ".join(title.split()) == f"{r.scenario.name}: {' '.join(r.scenario.description.split())}"
    )
    texts, legend, renderer = _boxes(fig)
    page = fig.bbox
    assert len(fig.legends) == 1 and all(ax.get_legend() is None for ax in fig.axes)
    assert page.x0 <= legend.x0 and legend.x1 <= page.x1 + 0.5, "legend cut at the figure's edge"
    for ax in fig.axes:  # one legend below the panels: it covers no data
        assert legend.y1 <= ax.get_window_extent(renderer).y0, ax.get_label()
    for text, box in texts:
        assert box.x1 <= page.x1 + 1 and box.y1 <= page.y1 + 1, text
        assert not box.overlaps(legend), f"{text!r} is drawn over the legend"


@pytest.mark.parametrize(
    "window",
    [{}, {"start_h": 127 * 24.0, "end_h": 160 * 24.0}, {"start_h": 97 * 24.0, "end_h": 98 * 24.0},
     {"start_h": 97.5 * 24.0, "end_h": 97.5 * 24.0 + 2}, {"start_h": 0.0, "end_h": 900 * 24.0}],
    ids=["whole", "127d-160d", "one-day", "two-hours", "to-the-end"],
)  # fmt: skip
def test_every_calendar_axis_names_its_month_and_no_label_covers_the_legend(window):
    from pumpsim.outputs.report.plot import panel

    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    r = pumpsim.simulate(pumpsim.load_scenario(str(SCENARIOS / "over-infusion-silent-empty.yaml")))
    fig = _laid_out(r, **window)
    axis = panel(fig, "alarms").xaxis
    shown = [t.get_text() for t in axis.get_ticklabels() if t.get_text()]
    shown.append(axis.get_major_formatter().get_offset())
    assert any(m in label for label in shown for m in months), shown
    # each date tick also says how long after the start it is
    assert all("\n" in label and label.split("\n")[1][0].isdigit() for label in shown[:-1]), shown
    texts, legend, _ = _boxes(fig)
    offset = axis.get_offset_text()
    assert not offset.get_window_extent().overlaps(legend) or not offset.get_text()
    for text, box in texts:
        assert not box.overlaps(legend), f"{text!r} is drawn over the legend"


def test_figure_marks_every_event_kind_and_uses_calendar_dates():
    text = scenario_text(
        duration="60d",
        therapy="{dose_mcg_per_day: 300}",
        extra="""
        events:
          - {at: 5d, type: refill, volume_ml: 20}
          - {at: 10d, type: refill, volume_ml: 20, missed: true}
          - {at: 15d, type: reprogram, therapy: {dose_mcg_per_day: 320}}
          - {at: 20d, type: bolus, dose_mcg: 50, duration: 1h}
          - {at: 25d, type: catheter_fault, kind: kink, delivered_fraction: 0.5}
          - {at: 27d, type: catheter_repair}
          - {at: 30d, type: mri, duration: 1h}
          - {at: 35d, type: motor_stall, duration: 2h}
          - {at: 40d, type: pump_fault, kind: low_battery_reset}
          - {at: 45d, type: pump_replacement, volume_ml: 20}
        """,
    )
    r = run(text)
    fig = _laid_out(r)
    from pumpsim.outputs.report.plot import panel

    ax_ev, ax_alarm = panel(fig, "events"), panel(fig, "alarms")
    labels = [t.get_text() for t in ax_ev.get_yticklabels()]
    assert labels == [
        "refill", "missed refill", "reprogramming", "clinician bolus", "catheter fault",
        "catheter repair", "MRI (motor stops)", "motor stall", "pump fault", "pump replacement",
    ]  # fmt: skip
    # the time axis shows calendar dates, starting on the scenario's start day
    ticks = [t.get_text() for t in ax_alarm.get_xticklabels() if t.get_text()]
    assert any("Jan" in t or "Feb" in t for t in ticks), ticks
    assert "01 Jan 2026 00:00" in ax_alarm.get_xlabel()


def test_alarm_strip_draws_one_tick_per_tone_when_they_fit():
    from matplotlib.collections import LineCollection

    r = pumpsim.simulate(pumpsim.load_scenario(str(SCENARIOS / "missed-refill.yaml")))
    from pumpsim.outputs.report.plot import panel

    fig = _laid_out(r, start_h=95 * 24.0, end_h=96 * 24.0)
    ax_alarm = panel(fig, "alarms")
    ticks = sum(
        len(c.get_segments()) for c in ax_alarm.collections if isinstance(c, LineCollection)
    )
    assert ticks == 25  # hourly low-reservoir tones from 95d to 96d inclusive
    key = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "critical alarm: 3-second two-tone, every 10min" in key
    assert "non-critical alarm: 1-second single tone, every 1h" in key


def test_title_with_dollars_and_markup_is_drawn_as_written():
    r = run(
        scenario_text(duration="2d").replace(
            "name: t", "name: t\ndescription: 'costs $\\frac$ <b>bold</b>'"
        )
    )
    fig = _laid_out(r)  # as mathtext, "$\\frac$" would fail to render
    assert fig._suptitle.get_text() == "t: costs $\\frac$ <b>bold</b>"


def test_alarm_strip_says_when_tones_are_hatched():
    r = pumpsim.simulate(pumpsim.load_scenario(str(SCENARIOS / "missed-refill.yaml")))

    def key(fig):
        return [t.get_text() for t in fig.legends[0].get_texts()]

    assert "alarm raised; a tick per tone (hatched: too close)" in key(_laid_out(r))
    day = key(_laid_out(r, start_h=95 * 24.0, end_h=96 * 24.0))
    assert "alarm raised; a tick per tone" in day


def test_priority_key_comes_from_the_profile_and_the_scenario():
    r = run(scenario_text(duration="2d", pump_extra="critical_tone_interval: 5min"))
    assert r.alarms == []
    key = [t.get_text() for t in _laid_out(r).legends[0].get_texts()]
    assert "critical alarm: 3-second two-tone, every 5min" in key
    assert "non-critical alarm: 1-second single tone, every 1h" in key


def test_plot_window_takes_calendar_dates(tmp_path, capsys):
    out = tmp_path / "w.png"
    args = ["plot", str(SCENARIOS / "missed-refill.yaml"), "-o", str(out)]
    assert main([*args, "--from", "2026-04-06", "--to", "2026-04-10T12:00"]) == 0
    assert out.stat().st_size > 0
    assert main([*args, "--from", "2025-04-06"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(str(SCENARIOS / "missed-refill.yaml"))
    assert "before the start of the scenario, 2026-01-01 00:00" in err


def test_trajectory_at_takes_an_array_and_agrees_with_single_instants():
    import numpy as np

    import pumpsim

    result = pumpsim.simulate(pumpsim.load_scenario(SCENARIOS / "missed-refill.yaml"))
    assert result.trajectory is result.run.trajectory
    times = np.array([[0.0, 1200.5], [2340.5, 2640.0]])
    many = result.trajectory.at(times)
    assert many["estimated_ml"].shape == times.shape
    for index in np.ndindex(times.shape):
        one = result.trajectory.at(float(times[index]))
        for key in ("estimated_ml", "true_ml", "csf_expected", "csf_actual", "csf_ratio"):
            assert many[key][index] == pytest.approx(getattr(one, key), rel=1e-12, abs=1e-12)
