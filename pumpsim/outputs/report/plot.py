"""One figure that shows the gap between what the pump believes and what happens.

Five panels share a calendar time axis: the key moments (each alarm's start and each flag's
start, a labelled marker whose line runs down every panel), the scenario's events (one row per
kind), the reservoir (the pump's estimate against the truth, with the alarm levels), the
spinal-fluid level as actual/expected with the withdrawal threshold and the flagged spans, and
the alarms drawn as their tones (one tick per tone, two-tone for critical). One legend sits
below the panels, so the data use the whole width; the figure is wide and short, so it fits on
a projected or laptop screen beside the report's slider panel. Curves are sampled from the exact
trajectory, not interpolated between events. Dates name their month on every axis.

The figure is a plain ``matplotlib.figure.Figure``: no pyplot state and no backend switch, so
it displays in Jupyter and saves from scripts alike. ``plot`` and ``report`` both use it; SVG
text stays text (selectable, read aloud, sized by the page).
"""

from __future__ import annotations

import io
import math
import os
import textwrap
from typing import Any

from pumpsim.files import write_output
from pumpsim.model.clock import Clock
from pumpsim.model.units import HOURS_PER_DAY, format_duration_h
from pumpsim.outputs.matplotlib_quiet import quiet_logger, quietly
from pumpsim.outputs.report import panels
from pumpsim.outputs.report.events import EVENT_KINDS, figure_events, kind_of
from pumpsim.outputs.report.moments import key_moments
from pumpsim.text import visible

#: Formats ``save`` writes, by file suffix.
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
#: The figure's width (inches); its height follows from what it has to show.
WIDTH_IN = 14.0
#: The height of one legend row (inches, at the figure's font size).
LEGEND_ROW_IN = 0.235
_TITLE_CHARS = 120
_DPI = 100
_FONT_PT = panels.FONT_PT
#: Tick labels by the locator's level (year, month, day, hour, minute, second): every level
#: names the month, in the ticks or in the offset beside the axis.
_TICK_FORMATS = ["%Y", "%b", "%d %b", "%H:%M", "%H:%M", "%S.%f"]
_ZERO_FORMATS = ["", "%b %Y", "%d %b", "%d %b", "%H:%M", "%H:%M"]
_OFFSET_FORMATS = ["", "%Y", "%Y", "%d %b %Y", "%d %b %Y", "%d %b %Y %H:%M"]


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
    # a lone surrogate (YAML's "\ud83d") is not text a font can draw, and a control character
    # would make the SVG not XML: show their escapes
    text = visible(text.encode("utf-8", "backslashreplace").decode("utf-8"))
    return textwrap.wrap(text, width) or [sc.name]


def _calendar_ticks(locator: Any, epoch: float, zone: Any = None) -> Any:
    """Date tick labels naming the month, each with its offset from the start below it (in a
    time zone: local dates)."""
    import matplotlib.dates as mdates

    class CalendarTicks(mdates.ConciseDateFormatter):
        def format_ticks(self, values: Any) -> list[str]:
            dates = super().format_ticks(values)
            return [
                f"{d}\n{_offset_text((v - epoch) * HOURS_PER_DAY)}" if v >= epoch - 1e-9 else d
                for d, v in zip(dates, values, strict=True)
            ]

    return CalendarTicks(
        locator,
        tz=zone,
        formats=_TICK_FORMATS,
        zero_formats=_ZERO_FORMATS,
        offset_formats=_OFFSET_FORMATS,
    )


def _offset_text(t_h: float) -> str:
    """Time from the start as a tick's second line (``0d``, ``97d 12h``)."""
    t_h = round(t_h, 6)
    return "0d" if t_h == 0 else format_duration_h(t_h)


def _heights(lanes: int, kinds: int, names: int) -> list[float]:
    """Panel heights (inches): key moments, events, reservoir, spinal fluid, alarms."""
    events_in = 0.18 + 0.25 * max(1, kinds)
    return [0.1 + 0.21 * lanes, events_in, 1.05, 0.95, 0.14 + 0.28 * max(1, names)]


def figure(
    result: Any,
    start_h: float | None = None,
    end_h: float | None = None,
    points: int = 1500,
    titled: bool = True,
    width_in: float = WIDTH_IN,
) -> Any:
    """Build the figure for a result (optionally a time window, in hours from the start).

    Returns a ``matplotlib.figure.Figure`` built without pyplot and without changing the
    backend, so it shows in Jupyter and saves anywhere (see ``render``). ``titled=False``
    leaves out the title (the report's page already has it); a narrower ``width_in`` gives
    larger text for its size (the quiz's, beside its question card). The time axis and the
    window it shows are in ``fig.pumpsim_time_axis`` (for overlays such as the report's cursor; see
    ``time_axis_box``); each panel's axes carry a label: ``moments``, ``events``,
    ``reservoir``, ``csf``, ``alarms``.
    """
    quiet_logger()
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure

    sc = result.scenario
    t0 = 0.0 if start_h is None else max(0.0, start_h)
    t1 = sc.duration if end_h is None else min(sc.duration, end_h)
    if t1 <= t0:
        raise ValueError("the plot window is empty")
    clock = Clock.of(sc.start)
    # In a time zone the axis is elapsed time (UTC date numbers) labelled in local time, so a
    # clock change shows as a 23 or 25 h day; otherwise the start's wall clock, as given.
    zone = clock.zone
    epoch = float(mdates.date2num(sc.start if zone else sc.start.replace(tzinfo=None)))
    w = panels.Frame(t0, t1, epoch, width_in)

    events = [e for e in figure_events(result) if t0 <= e.at <= t1]
    kinds = [k for k in EVENT_KINDS if any(kind_of(e).key == k.key for e in events)]
    names: list[str] = []
    for a in result.alarms:
        if a.type not in names:
            names.append(a.type)
    moments = [m for m in key_moments(result) if t0 <= m.t_h <= t1]
    lanes = max((lane for lane, _ in panels.moment_lanes(moments, w)), default=0) + 1
    titles = title_lines(result) if titled else []

    heights = _heights(lanes, len(kinds), len(names))
    legend_in = 0.75 + (0.22 if names else 0.0)
    fig = Figure(
        figsize=(width_in, sum(heights) + 0.75 + legend_in + 0.24 * len(titles)),
        dpi=_DPI,
        layout="constrained",
    )
    fig.get_layout_engine().set(h_pad=0.03, w_pad=0.08, hspace=0.02)
    axes = fig.subplots(5, 1, sharex=True, gridspec_kw={"height_ratios": heights})
    ax_key, ax_ev, ax_res, ax_csf, ax_alarm = axes
    for ax, label in zip(axes, ("moments", "events", "reservoir", "csf", "alarms"), strict=True):
        ax.set_label(label)
        ax.tick_params(labelsize=_FONT_PT)
        ax.grid(axis="x", color="#dddddd", linewidth=0.8)
    if titles:
        fig.suptitle(
            "\n".join(titles),
            fontsize=_FONT_PT + 1,
            x=0.01,
            ha="left",
            fontweight="bold",
            parse_math=False,  # a "$" in a description is a dollar, not mathtext
        )

    ts_h, values = _samples(result, t0, t1, points)
    xs = [w.x(t) for t in ts_h]
    panels.draw_moments(ax_key, [ax_ev, ax_res, ax_csf, ax_alarm], moments, w)
    panels.draw_events(ax_ev, [ax_res, ax_csf], events, kinds, w)
    handles = panels.draw_reservoir(ax_res, result, xs, values)
    handles += panels.draw_csf(ax_csf, result, xs, values, w)
    handles += panels.draw_alarms(ax_alarm, result, names, w, panels.tone_words(result))
    # Three columns across the full width; a narrower figure (the quiz's) takes two, and grows
    # by the rows that adds.
    ncols = 3 if width_in >= WIDTH_IN else 2
    if ncols != 3:
        extra_in = LEGEND_ROW_IN * math.ceil(len(handles) / ncols) + 0.3 - legend_in
        fig.set_size_inches(width_in, fig.get_figheight() + max(0.0, extra_in))
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=ncols,
        fontsize=_FONT_PT,
        frameon=False,
        columnspacing=1.6,
        handlelength=2.4,
    )

    locator = mdates.AutoDateLocator(minticks=5, maxticks=12, tz=zone)
    ax_alarm.xaxis.set_major_locator(locator)
    ax_alarm.xaxis.set_major_formatter(_calendar_ticks(locator, w.epoch, zone))
    ax_alarm.set_xlim(w.x(t0), w.x(t1))
    ax_alarm.xaxis.get_offset_text().set_fontsize(_FONT_PT)
    where = f" ({clock.offset_text().split(',')[0]} local time)" if zone else ""
    start = clock.wall(0.0).strftime("%d %b %Y %H:%M") + (clock.date_time(0.0)[16:] if zone else "")
    ax_alarm.set_xlabel(
        f"date{where}, and time from the start ({start})",
        fontsize=_FONT_PT,
    )
    fig.pumpsim_time_axis = {"t0_h": t0, "t1_h": t1, "axes": ax_alarm}
    return fig


def panel(fig: Any, label: str) -> Any:
    """The axes of one panel (``moments``, ``events``, ``reservoir``, ``csf``, ``alarms``)."""
    return next(ax for ax in fig.axes if ax.get_label() == label)


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
    """The figure as bytes in ``png``, ``svg`` or ``pdf``: same figure, same bytes.

    SVG keeps its text as ``<text>`` elements (``svg.fonttype: none``): real text that a screen
    reader reads and a browser sizes in CSS pixels.
    """
    import matplotlib

    settings = {"svg.hashsalt": "pumpsim", "svg.id": "pumpsim-figure", "svg.fonttype": "none"}
    with quietly(), matplotlib.rc_context(settings):
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
