"""One figure that shows the gap between what the pump believes and what happens.

Four panels share a calendar time axis: the scenario's events (one row per kind: refills,
missed refills, faults, repairs, reprogrammings, boluses, MRI, replacements), the reservoir
(the pump's estimate against the truth, with the alarm levels), the spinal-fluid level as
actual/expected with the withdrawal threshold and the flagged spans, and the alarms drawn as
their tones (one tick per tone, two-tone for critical) with a priority key. Curves are sampled
from the exact trajectory, not interpolated between events.

The figure is a plain ``matplotlib.figure.Figure``: no pyplot state and no backend switch, so
it displays in Jupyter and saves from scripts alike. ``plot`` and ``report`` both use it.
"""

from __future__ import annotations

import io
import os
import textwrap
from dataclasses import dataclass
from typing import Any

from pumpsim.files import write_output
from pumpsim.model.clock import Clock
from pumpsim.model.units import HOURS_PER_DAY, format_duration_h
from pumpsim.outputs.report.events import EVENT_KINDS, kind_of
from pumpsim.outputs.report.guidance import alarm_label, flag_label

CRITICAL = "#c62828"
NONCRITICAL = "#ef8f00"
_CRITICAL_SECOND = "#7f0000"  # the second pitch of the two-tone
_ESTIMATE = "#1565c0"
_TRUE = "#2e7d32"
_OVERDOSE = "#6a1b9a"
_FLAG_COLOURS = {
    "abrupt_discontinuation": CRITICAL,
    "overdose_risk": _OVERDOSE,
    "refill_discrepancy": "#00695c",
    "refill_due_after_empty": "#ad6800",
}
#: Formats ``save`` writes, by file suffix.
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
_FONT_PT = 13.0
_TITLE_CHARS = 95
_DPI = 100
_MIN_TONE_SPACING_PX = 2.5  # closer than this, single ticks merge: draw the span hatched


def _samples(result: Any, t0: float, t1: float, n: int) -> tuple[list[float], dict[str, list]]:
    times = {t0 + (t1 - t0) * i / (n - 1) for i in range(n)}
    # include every event instant (and a hair before it) so steps and kinks are drawn sharply
    for segment in result.run.trajectory.segments:
        t = segment.t_h
        if t0 <= t <= t1:
            times.update((t, max(t0, t - 1e-6)))
    ts = sorted(times)
    traj = result.run.trajectory
    rows = [traj.at(t)._asdict() for t in ts]
    return ts, {key: [r[key] for r in rows] for key in rows[0]}


def title_lines(result: Any, width: int = _TITLE_CHARS) -> list[str]:
    """The figure's title: the scenario's name and its whole description, wrapped."""
    sc = result.scenario
    description = " ".join(sc.description.split())
    text = f"{sc.name}: {description}" if description else sc.name
    return textwrap.wrap(text, width) or [sc.name]


def _tone_labels(result: Any) -> dict[str, str]:
    """Each priority's tone and repeat, from the device profile (and the scenario's interval)."""
    from pumpsim.scenario.profiles import load_device_profile

    sc = result.scenario
    profile = load_device_profile(sc.pump.profile)
    critical_every = sc.pump.critical_tone_interval or profile.critical_tone_interval_h
    return {
        "critical": f"{profile.critical_tone}, every {format_duration_h(critical_every)}",
        "non_critical": (
            f"{profile.noncritical_tone}, every "
            f"{format_duration_h(profile.noncritical_tone_interval_h)}"
        ),
    }


@dataclass(frozen=True)
class _Frame:
    """The window a figure shows: hours from the start, and matplotlib's date numbers."""

    t0_h: float
    t1_h: float
    epoch: float  # matplotlib date number of the scenario's start

    def x(self, t_h: float) -> float:
        """The date number of an instant given in hours from the start."""
        return self.epoch + t_h / HOURS_PER_DAY

    def shows(self, start_h: float, end_h: float) -> bool:
        """Whether a span overlaps the window."""
        return end_h >= self.t0_h and start_h <= self.t1_h


_LEGEND = {
    "loc": "upper left",
    "bbox_to_anchor": (1.005, 1.0),
    "fontsize": _FONT_PT - 1,
    "borderaxespad": 0.0,
    "frameon": False,
}


def _note(ax: Any, text: str) -> None:
    ax.set_yticks([])
    ax.text(
        0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center",
        fontsize=_FONT_PT - 1, color="#555555",
    )  # fmt: skip


def _draw_events(ax: Any, below: list[Any], events: list[Any], kinds: list[Any], w: _Frame):
    """One row per kind of event, labelled on the left; faint lines carry them down."""
    for row, kind in enumerate(kinds):
        ts = [w.x(e.at) for e in events if kind_of(e).key == kind.key]
        ax.plot(
            ts, [row] * len(ts), linestyle="none", marker=kind.marker, markersize=11,
            color=kind.color, markeredgewidth=1.5,
        )  # fmt: skip
        for t in ts:
            for other in below:
                other.axvline(t, color=kind.color, linewidth=0.9, alpha=0.35, linestyle="--")
    ax.set_yticks(range(len(kinds)), [k.label for k in kinds], fontsize=_FONT_PT - 1)
    ax.set_ylim(len(kinds) - 0.4 if kinds else 0.6, -0.6)
    if not kinds:
        _note(ax, "no clinic or device event")
    ax.set_title("events", loc="left", fontsize=_FONT_PT, pad=4)
    top = ax.secondary_xaxis("top", functions=(lambda v: v - w.epoch, lambda d: d + w.epoch))
    top.set_xlabel("days from the start", fontsize=_FONT_PT - 1)
    top.tick_params(labelsize=_FONT_PT - 1)


def _draw_reservoir(ax: Any, result: Any, xs: list[float], v: dict, marked: bool) -> None:
    """The pump's estimate against the true reservoir, with the two alarm levels."""
    ax.plot(xs, v["estimated_ml"], color=_ESTIMATE, linewidth=2.4, label="pump's estimate")
    ax.plot(xs, v["true_ml"], color=_TRUE, linestyle="--", linewidth=2.4, label="true reservoir")
    lra = result.run.setup.low_reservoir_alarm_ml
    empty = result.run.setup.empty_reservoir_alarm_ml
    if lra is not None:
        ax.axhline(
            lra, color=NONCRITICAL, linewidth=2.2, linestyle=":",
            label=f"low-reservoir alarm level ({lra:g} mL)",
        )  # fmt: skip
    if empty is not None:
        ax.axhline(
            empty, color=CRITICAL, linewidth=2.2, linestyle=":",
            label=f"empty-reservoir alarm level ({empty:g} mL)",
        )  # fmt: skip
    if marked:
        ax.plot([], [], color="#888888", linestyle="--", linewidth=0.9, label="an event")
    ax.set_ylabel("reservoir (mL)", fontsize=_FONT_PT)
    ax.set_ylim(bottom=0)
    ax.set_title("what the pump believes vs what is there", loc="left", fontsize=_FONT_PT)
    ax.legend(**_LEGEND)


def _draw_csf(ax: Any, result: Any, xs: list[float], v: dict, w: _Frame) -> None:
    """The spinal-fluid ratio, the two thresholds and the flagged spans."""
    sc = result.scenario
    ratio = [min(3.0, max(0.0, r)) for r in v["csf_ratio"]]
    ax.plot(xs, ratio, color="black", linewidth=2.2, label="actual / expected")
    theta = sc.risk.threshold
    ax.axhline(
        theta, color=CRITICAL, linestyle=":", linewidth=2.2,
        label=f"withdrawal threshold ({theta:g})",
    )  # fmt: skip
    ax.axhline(
        1 + theta, color=_OVERDOSE, linestyle=":", linewidth=2.2,
        label=f"overdose threshold ({1 + theta:g})",
    )  # fmt: skip
    seen: set[str] = set()
    for flag in result.flags:
        end = sc.duration if flag.end_h is None else flag.end_h
        if not w.shows(flag.start_h, end):
            continue
        color = _FLAG_COLOURS.get(flag.type, _OVERDOSE)
        label = flag_label(flag.type)
        if flag.cause:
            label += f":\n  {flag.cause.replace('_', ' ')}"
        if flag.type == "abrupt_discontinuation" and flag.alarmed is False:
            label += ", SILENT (no alarm)"
        shown = label if label not in seen else None
        seen.add(label)
        lo, hi = w.x(max(flag.start_h, w.t0_h)), w.x(min(end, w.t1_h))
        if hi - lo > (w.x(w.t1_h) - w.x(w.t0_h)) / 600:
            ax.axvspan(lo, hi, color=color, alpha=0.18, label=shown)
        else:
            ax.axvline(lo, color=color, linewidth=3, alpha=0.6, label=shown)
    ax.set_ylabel("CSF baclofen,\nactual / expected", fontsize=_FONT_PT)
    ax.set_ylim(0, max(1.6, min(3.0, max(ratio) * 1.05)))
    ax.set_title("spinal-fluid level and safety flags", loc="left", fontsize=_FONT_PT)
    ax.legend(**_LEGEND)


def _draw_alarms(ax: Any, result: Any, names: list[str], w: _Frame, width_in: float) -> None:
    """Each alarm as its tones: a tick per tone (two-tone for critical) and a priority key."""
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    sc = result.scenario
    px_per_h = width_in * _DPI * 0.75 / (w.t1_h - w.t0_h)  # the axes take ~3/4 of the width
    hatched = False
    for row, name in enumerate(names):
        for a in (a for a in result.alarms if a.type == name):
            end = sc.duration if a.end_h is None else a.end_h
            if not w.shows(a.start_h, end):
                continue
            critical = a.priority == "critical"
            color = CRITICAL if critical else NONCRITICAL
            lo, hi = max(a.start_h, w.t0_h), min(end, w.t1_h)
            span = [(w.x(lo), max(hi - lo, 1e-9) / HOURS_PER_DAY)]
            ax.broken_barh(span, (row - 0.32, 0.64), color=color, alpha=0.22, linewidth=0)
            if a.tone_interval_h * px_per_h >= _MIN_TONE_SPACING_PX:
                tones = [w.x(t) for t in a.tone_times(sc.duration) if w.t0_h <= t <= w.t1_h]
                if critical:  # two pitches: upper and lower half-ticks in two shades
                    upper = [((t, row - 0.32), (t, row)) for t in tones]
                    lower = [((t, row), (t, row + 0.32)) for t in tones]
                    ax.add_collection(LineCollection(upper, colors=color, linewidths=1.6))
                    ax.add_collection(
                        LineCollection(lower, colors=_CRITICAL_SECOND, linewidths=1.6)
                    )
                else:
                    ticks = [((t, row - 0.32), (t, row + 0.32)) for t in tones]
                    ax.add_collection(LineCollection(ticks, colors=color, linewidths=1.6))
            else:  # tones too close to draw one by one: hatch the span in the tone's rhythm
                hatched = True
                ax.broken_barh(
                    span, (row - 0.32, 0.64), facecolor="none", edgecolor=color,
                    hatch="||||" if critical else "|", linewidth=1.2,
                )  # fmt: skip
            if a.start_h >= w.t0_h:
                ax.plot(
                    [w.x(a.start_h)], [row], marker=">", markersize=10, color=color,
                    markeredgecolor="black", markeredgewidth=0.8,
                )  # fmt: skip
    ax.set_yticks(range(len(names)), [alarm_label(n) for n in names], fontsize=_FONT_PT - 1)
    ax.set_ylim(len(names) - 0.5 if names else 0.5, -0.5)
    if not names:
        _note(ax, "no alarm sounded")
    ax.set_title(
        "alarms: one tick per tone"
        + ("; hatched where too close to draw (zoom in to see them)" if hatched else ""),
        loc="left",
        fontsize=_FONT_PT,
    )
    tones = _tone_labels(result)
    key = [
        Patch(facecolor=CRITICAL, alpha=0.8, label="critical: " + tones["critical"]),
        Patch(facecolor=NONCRITICAL, alpha=0.8, label="non-critical: " + tones["non_critical"]),
        Line2D(
            [], [], marker=">", linestyle="none", color="#777777", markeredgecolor="black",
            markersize=10, label="alarm raised",
        ),
    ]  # fmt: skip
    ax.legend(handles=key, title="priority", title_fontsize=_FONT_PT - 1, **_LEGEND)


def figure(
    result: Any, start_h: float | None = None, end_h: float | None = None, points: int = 1500
) -> Any:
    """Build the figure for a result (optionally a time window, in hours from the start).

    Returns a ``matplotlib.figure.Figure`` built without pyplot and without changing the
    backend, so it shows in Jupyter and saves anywhere (see ``render``). The time axis and the
    window it shows are in ``fig.pumpsim_time_axis`` (for overlays such as the report's
    cursor; see ``time_axis_box``).
    """
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure

    sc = result.scenario
    t0 = 0.0 if start_h is None else max(0.0, start_h)
    t1 = sc.duration if end_h is None else min(sc.duration, end_h)
    if t1 <= t0:
        raise ValueError("the plot window is empty")
    w = _Frame(t0, t1, float(mdates.date2num(sc.start.replace(tzinfo=None))))

    events = [e for e in sc.events if t0 <= e.at <= t1]
    kinds = [k for k in EVENT_KINDS if any(kind_of(e).key == k.key for e in events)]
    names: list[str] = []
    for a in result.alarms:
        if a.type not in names:
            names.append(a.type)
    titles = title_lines(result)

    heights = [0.45 + 0.32 * max(1, len(kinds)), 3.2, 3.0, 0.5 + 0.42 * max(1, len(names))]
    fig = Figure(
        figsize=(14, sum(heights) + 1.3 + 0.3 * len(titles)), dpi=_DPI, layout="constrained"
    )
    fig.get_layout_engine().set(h_pad=0.06, w_pad=0.12, hspace=0.03)
    axes = fig.subplots(4, 1, sharex=True, gridspec_kw={"height_ratios": heights})
    ax_ev, ax_res, ax_csf, ax_alarm = axes
    fig.suptitle(
        "\n".join(titles),
        fontsize=_FONT_PT + 1,
        x=0.01,
        ha="left",
        fontweight="bold",
        parse_math=False,  # a "$" in a description is a dollar, not mathtext
    )
    for ax in axes:
        ax.tick_params(labelsize=_FONT_PT - 1)
        ax.grid(axis="x", color="#dddddd", linewidth=0.8)

    ts_h, values = _samples(result, t0, t1, points)
    xs = [w.x(t) for t in ts_h]
    _draw_events(ax_ev, [ax_res, ax_csf], events, kinds, w)
    _draw_reservoir(ax_res, result, xs, values, marked=bool(kinds))
    _draw_csf(ax_csf, result, xs, values, w)
    _draw_alarms(ax_alarm, result, names, w, fig.get_figwidth())

    locator = mdates.AutoDateLocator(minticks=5, maxticks=12)
    ax_alarm.xaxis.set_major_locator(locator)
    dates = mdates.ConciseDateFormatter(locator)
    dates.offset_formats = ["", "%Y", "%Y", "%Y", "%Y", "%Y"]
    ax_alarm.xaxis.set_major_formatter(dates)
    ax_alarm.set_xlim(w.x(t0), w.x(t1))
    ax_alarm.set_xlabel(
        f"date (the scenario starts {Clock.of(sc.start).wall(0).strftime('%Y-%m-%d %H:%M')})",
        fontsize=_FONT_PT,
    )
    fig.pumpsim_time_axis = {"t0_h": t0, "t1_h": t1, "axes": ax_alarm}
    return fig


def time_axis_box(fig: Any) -> dict[str, float]:
    """Where the time axis lies in the figure, as fractions (0 = left/bottom, 1 = right/top).

    ``x0``/``x1``: the left and right ends of the time axis; ``y0``/``y1``: the bottom of the
    lowest panel and the top of the highest. Valid once the figure is laid out (after
    ``render``).
    """
    axes = fig.pumpsim_time_axis["axes"]
    box = axes.get_position()
    top = max(ax.get_position().y1 for ax in axes.get_shared_x_axes().get_siblings(axes))
    return {"x0": float(box.x0), "x1": float(box.x1), "y0": float(box.y0), "y1": float(top)}


def _save_kwargs(fmt: str) -> dict[str, Any]:
    if fmt == "svg":
        return {"metadata": {"Date": None}}
    if fmt == "pdf":
        return {"metadata": {"CreationDate": None, "ModDate": None}}
    return {"dpi": _DPI, "metadata": {"Software": None}}


def render(fig: Any, fmt: str) -> bytes:
    """The figure as bytes in ``png``, ``svg`` or ``pdf``: same figure, same bytes."""
    import matplotlib

    with matplotlib.rc_context({"svg.hashsalt": "pumpsim", "svg.id": "pumpsim-figure"}):
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, **_save_kwargs(fmt))
    return buf.getvalue()


def save(result: Any, path: str, start_h: float | None = None, end_h: float | None = None) -> None:
    """Write the figure whole or not at all, in the format of the suffix (.png, .svg, .pdf)."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"{path}: unknown figure format {suffix or '(none)'!r}; use .png, .svg or .pdf"
        )
    data = render(figure(result, start_h, end_h), FORMATS[suffix])
    write_output(path, data)
