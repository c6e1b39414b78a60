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
from typing import Any

from pumpsim.report.calendar import at
from pumpsim.report.events import EVENT_KINDS, kind_of
from pumpsim.report.guidance import alarm_label, flag_label
from pumpsim.report.output import write_bytes_atomic
from pumpsim.units import HOURS_PER_DAY, format_duration_h

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
    for piece in result.run.trajectory.pieces:
        t = piece.t_h
        if t0 <= t <= t1:
            times.update((t, max(t0, t - 1e-6)))
    ts = sorted(times)
    traj = result.run.trajectory
    rows = [traj.at(t) for t in ts]
    return ts, {key: [r[key] for r in rows] for key in rows[0]}


def title_lines(result: Any, width: int = _TITLE_CHARS) -> list[str]:
    """The figure's title: the scenario's name and its whole description, wrapped."""
    sc = result.scenario
    description = " ".join(sc.description.split())
    text = f"{sc.name}: {description}" if description else sc.name
    return textwrap.wrap(text, width) or [sc.name]


def _tone_label(result: Any, priority: str) -> str:
    for a in result.alarms:
        if a.priority == priority:
            return f"{a.tone}, every {format_duration_h(a.tone_interval_h)}"
    return ""


def figure(
    result: Any, start_h: float | None = None, end_h: float | None = None, points: int = 1500
) -> Any:
    """Build the figure for a result (optionally a time window, in hours from the start).

    Returns a ``matplotlib.figure.Figure`` (no pyplot, no backend change). Axis geometry for
    overlays (the report's time cursor) is in ``fig.pumpsim_time_axis``: the figure fractions
    of the time axis's left and right ends and the hours they stand for.
    """
    import matplotlib.dates as mdates
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    sc = result.scenario
    t0 = 0.0 if start_h is None else max(0.0, start_h)
    t1 = sc.duration if end_h is None else min(sc.duration, end_h)
    if t1 <= t0:
        raise ValueError("the plot window is empty")
    epoch = mdates.date2num(sc.start.replace(tzinfo=None))

    def x(t_h: float) -> float:
        return epoch + t_h / HOURS_PER_DAY

    events = [e for e in sc.events if t0 <= e.at <= t1]
    kinds = [k for k in EVENT_KINDS if any(kind_of(e).key == k.key for e in events)]
    alarm_names: list[str] = []
    for a in result.alarms:
        if a.type not in alarm_names:
            alarm_names.append(a.type)
    titles = title_lines(result)

    rows_events = max(1, len(kinds))
    rows_alarms = max(1, len(alarm_names))
    heights = [0.45 + 0.32 * rows_events, 3.2, 3.0, 0.5 + 0.42 * rows_alarms]
    fig_h = sum(heights) + 1.3 + 0.3 * len(titles)
    fig = Figure(figsize=(14, fig_h), dpi=_DPI, layout="constrained")
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
    legend_kw = {
        "loc": "upper left",
        "bbox_to_anchor": (1.005, 1.0),
        "fontsize": _FONT_PT - 1,
        "borderaxespad": 0.0,
        "frameon": False,
    }
    for ax in axes:
        ax.tick_params(labelsize=_FONT_PT - 1)
        ax.grid(axis="x", color="#dddddd", linewidth=0.8)

    # --- events: one row per kind, labelled on the left; faint lines carry them down ----------
    for row, kind in enumerate(kinds):
        ts = [x(e.at) for e in events if kind_of(e).key == kind.key]
        ax_ev.plot(
            ts,
            [row] * len(ts),
            linestyle="none",
            marker=kind.marker,
            markersize=11,
            color=kind.color,
            markeredgewidth=1.5,
        )
        for t in ts:
            for ax in (ax_res, ax_csf):
                ax.axvline(t, color=kind.color, linewidth=0.9, alpha=0.35, linestyle="--")
    ax_ev.set_yticks(range(len(kinds)), [k.label for k in kinds], fontsize=_FONT_PT - 1)
    ax_ev.set_ylim(len(kinds) - 0.4 if kinds else 0.6, -0.6)
    if not kinds:
        ax_ev.set_yticks([])
        ax_ev.text(
            0.5, 0.5, "no clinic or device event", transform=ax_ev.transAxes,
            ha="center", va="center", fontsize=_FONT_PT - 1, color="#555555",
        )  # fmt: skip
    ax_ev.set_title("events", loc="left", fontsize=_FONT_PT, pad=4)
    top = ax_ev.secondary_xaxis("top", functions=(lambda v: v - epoch, lambda d: d + epoch))
    top.set_xlabel("days from the start", fontsize=_FONT_PT - 1)
    top.tick_params(labelsize=_FONT_PT - 1)

    # --- reservoir ---------------------------------------------------------------------------
    ts_h, v = _samples(result, t0, t1, points)
    xs = [x(t) for t in ts_h]
    ax_res.plot(xs, v["estimated_ml"], color=_ESTIMATE, linewidth=2.4, label="pump's estimate")
    ax_res.plot(
        xs, v["true_ml"], color=_TRUE, linestyle="--", linewidth=2.4, label="true reservoir"
    )
    lra = result.run.state.get("lra_ml")
    empty = result.run.state.get("empty_ml")
    if lra is not None:
        ax_res.axhline(
            lra, color=NONCRITICAL, linewidth=2.2, linestyle=":",
            label=f"low-reservoir alarm level ({lra:g} mL)",
        )  # fmt: skip
    if empty is not None:
        ax_res.axhline(
            empty, color=CRITICAL, linewidth=2.2, linestyle=":",
            label=f"empty-reservoir alarm level ({empty:g} mL)",
        )  # fmt: skip
    if kinds:
        ax_res.plot([], [], color="#888888", linestyle="--", linewidth=0.9, label="an event")
    ax_res.set_ylabel("reservoir (mL)", fontsize=_FONT_PT)
    ax_res.set_ylim(bottom=0)
    ax_res.set_title("what the pump believes vs what is there", loc="left", fontsize=_FONT_PT)
    ax_res.legend(**legend_kw)

    # --- spinal fluid ------------------------------------------------------------------------
    ratio = [min(3.0, max(0.0, r)) for r in v["csf_ratio"]]
    ax_csf.plot(xs, ratio, color="black", linewidth=2.2, label="actual / expected")
    theta = sc.risk.threshold
    ax_csf.axhline(
        theta, color=CRITICAL, linestyle=":", linewidth=2.2,
        label=f"withdrawal threshold ({theta:g})",
    )  # fmt: skip
    ax_csf.axhline(
        1 + theta, color=_OVERDOSE, linestyle=":", linewidth=2.2,
        label=f"overdose threshold ({1 + theta:g})",
    )  # fmt: skip
    seen_flags: set[str] = set()
    for flag in result.flags:
        end = sc.duration if flag.end_h is None else flag.end_h
        if end < t0 or flag.start_h > t1:
            continue
        color = _FLAG_COLOURS.get(flag.type, _OVERDOSE)
        label = flag_label(flag.type)
        if flag.cause:
            label += f":\n  {flag.cause.replace('_', ' ')}"
        if flag.type == "abrupt_discontinuation" and flag.alarmed is False:
            label += ", SILENT (no alarm)"
        shown = label if label not in seen_flags else None
        seen_flags.add(label)
        lo, hi = x(max(flag.start_h, t0)), x(min(end, t1))
        if hi - lo > (x(t1) - x(t0)) / 600:
            ax_csf.axvspan(lo, hi, color=color, alpha=0.18, label=shown)
        else:
            ax_csf.axvline(lo, color=color, linewidth=3, alpha=0.6, label=shown)
    ax_csf.set_ylabel("CSF baclofen,\nactual / expected", fontsize=_FONT_PT)
    ax_csf.set_ylim(0, max(1.6, min(3.0, max(ratio) * 1.05)))
    ax_csf.set_title("spinal-fluid level and safety flags", loc="left", fontsize=_FONT_PT)
    ax_csf.legend(**legend_kw)

    # --- alarms as tones ---------------------------------------------------------------------
    ax_alarm.set_xlim(x(t0), x(t1))
    fig.canvas.draw_idle()
    width_px = fig.get_figwidth() * _DPI * 0.75  # the axes' share of the width, roughly
    px_per_h = width_px / (t1 - t0)
    hatched = False
    for row, name in enumerate(alarm_names):
        for a in (a for a in result.alarms if a.type == name):
            end = sc.duration if a.end_h is None else a.end_h
            if end < t0 or a.start_h > t1:
                continue
            critical = a.priority == "critical"
            color = CRITICAL if critical else NONCRITICAL
            lo, hi = max(a.start_h, t0), min(end, t1)
            ax_alarm.broken_barh(
                [(x(lo), max(hi - lo, 1e-9) / HOURS_PER_DAY)], (row - 0.32, 0.64),
                color=color, alpha=0.22, linewidth=0,
            )  # fmt: skip
            if a.tone_interval_h * px_per_h >= _MIN_TONE_SPACING_PX:
                tones = [t for t in a.tone_times(sc.duration) if t0 <= t <= t1]
                if critical:  # two pitches: upper and lower half-ticks in two shades
                    upper = [((x(t), row - 0.32), (x(t), row)) for t in tones]
                    lower = [((x(t), row), (x(t), row + 0.32)) for t in tones]
                    ax_alarm.add_collection(LineCollection(upper, colors=color, linewidths=1.6))
                    ax_alarm.add_collection(
                        LineCollection(lower, colors=_CRITICAL_SECOND, linewidths=1.6)
                    )
                else:
                    ticks = [((x(t), row - 0.32), (x(t), row + 0.32)) for t in tones]
                    ax_alarm.add_collection(LineCollection(ticks, colors=color, linewidths=1.6))
            else:  # tones too close to draw one by one: hatch the span in the tone's rhythm
                hatched = True
                ax_alarm.broken_barh(
                    [(x(lo), max(hi - lo, 1e-9) / HOURS_PER_DAY)], (row - 0.32, 0.64),
                    facecolor="none", edgecolor=color, hatch="||||" if critical else "|",
                    linewidth=1.2,
                )  # fmt: skip
            if a.start_h >= t0:
                ax_alarm.plot(
                    [x(a.start_h)], [row], marker=">", markersize=10, color=color,
                    markeredgecolor="black", markeredgewidth=0.8,
                )  # fmt: skip
    ax_alarm.set_yticks(
        range(len(alarm_names)), [alarm_label(n) for n in alarm_names], fontsize=_FONT_PT - 1
    )
    ax_alarm.set_ylim(len(alarm_names) - 0.5 if alarm_names else 0.5, -0.5)
    if not alarm_names:
        ax_alarm.set_yticks([])
        ax_alarm.text(
            0.5, 0.5, "no alarm sounded", transform=ax_alarm.transAxes,
            ha="center", va="center", fontsize=_FONT_PT, color="#555555",
        )  # fmt: skip
    ax_alarm.set_title(
        "alarms: one tick per tone"
        + ("; hatched where too close to draw (zoom in to see them)" if hatched else ""),
        loc="left",
        fontsize=_FONT_PT,
    )
    key = [
        Patch(
            facecolor=CRITICAL, alpha=0.8,
            label="critical: " + (_tone_label(result, "critical") or "3-second two-tone"),
        ),
        Patch(
            facecolor=NONCRITICAL, alpha=0.8,
            label="non-critical: " + (_tone_label(result, "non_critical") or "1-second tone"),
        ),
        Line2D(
            [], [], marker=">", linestyle="none", color="#777777", markeredgecolor="black",
            markersize=10, label="alarm raised",
        ),
    ]  # fmt: skip
    ax_alarm.legend(handles=key, title="priority", title_fontsize=_FONT_PT - 1, **legend_kw)

    locator = mdates.AutoDateLocator(minticks=5, maxticks=12)
    ax_alarm.xaxis.set_major_locator(locator)
    dates = mdates.ConciseDateFormatter(locator)
    dates.offset_formats = ["", "%Y", "%Y", "%Y", "%Y", "%Y"]
    ax_alarm.xaxis.set_major_formatter(dates)
    ax_alarm.set_xlim(x(t0), x(t1))
    ax_alarm.set_xlabel(
        f"date (the scenario starts {at(sc.start, 0).strftime('%Y-%m-%d %H:%M')})",
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
    write_bytes_atomic(path, data)
