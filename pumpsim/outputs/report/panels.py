"""The figure's panels, one function each: key moments, events, reservoir, spinal fluid, alarms.

Every panel draws on a shared calendar axis (``Frame``) and returns the legend entries it adds;
the figure gathers them into one legend below the panels, so the data use the whole width.
Colours are dark enough for 3:1 contrast on white (WCAG 2.1, non-text contrast).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pumpsim.model.units import HOURS_PER_DAY, format_duration_h
from pumpsim.outputs.report.events import kind_of
from pumpsim.outputs.report.guidance import alarm_label
from pumpsim.outputs.report.moments import marker_text
from pumpsim.scenario.profiles import load_device_profile

CRITICAL = "#c62828"
NONCRITICAL = "#a55f00"  # darker than the usual amber: 5:1 on white where #ef8f00 is 2.4:1
CRITICAL_SECOND = "#7f0000"  # the second pitch of the two-tone
ESTIMATE = "#1565c0"
TRUE = "#2e7d32"
OVERDOSE = "#6a1b9a"
SILENT = "#000000"
FLAG_COLOURS = {
    "abrupt_discontinuation": CRITICAL,
    "overdose_risk": OVERDOSE,
    "refill_discrepancy": "#00695c",
    "refill_due_after_empty": "#37474f",
}
#: Every colour a data line or marker is drawn in (checked for contrast by the tests).
LINE_COLOURS = (CRITICAL, NONCRITICAL, CRITICAL_SECOND, ESTIMATE, TRUE, OVERDOSE, SILENT,
                *FLAG_COLOURS.values())  # fmt: skip
FONT_PT = 11.0
_MIN_TONE_SPACING_PX = 2.5  # closer than this, single ticks merge: draw the span hatched
_CHAR_EM = 0.56  # average glyph width of the sans-serif face, in ems (for label placement)


@dataclass(frozen=True)
class Frame:
    """The window a figure shows: hours from the start, and matplotlib's date numbers."""

    t0_h: float
    t1_h: float
    epoch: float  # matplotlib date number of the scenario's start
    width_in: float  # the figure's width

    def x(self, t_h: float) -> float:
        """The date number of an instant given in hours from the start."""
        return self.epoch + t_h / HOURS_PER_DAY

    def shows(self, start_h: float, end_h: float) -> bool:
        """Whether a span overlaps the window."""
        return end_h >= self.t0_h and start_h <= self.t1_h

    def fraction(self, t_h: float) -> float:
        """Where an instant falls across the window (0 = left edge, 1 = right edge)."""
        return (t_h - self.t0_h) / (self.t1_h - self.t0_h)


def moment_colour(moment: Any) -> str:
    """The colour of a key moment's marker: its priority's, or its flag's (black if silent)."""
    if moment.kind == "alarm":
        return CRITICAL if moment.priority == "critical" else NONCRITICAL
    return SILENT if moment.silent else FLAG_COLOURS.get(moment.name, OVERDOSE)


def moment_lanes(moments: list[Any], w: Frame) -> list[tuple[int, bool]]:
    """(lane, text to the left of the marker) for each moment, so no two labels overlap.

    Each label goes into the first lane where it fits, to the right of its marker or else to
    its left (never past the window's ends); a new lane opens only when no lane has room.
    """
    axes_in = w.width_in * 0.9  # the panels span about nine tenths of the figure's width
    taken: list[list[tuple[float, float]]] = []  # per lane, the label spans placed so far
    out = []
    for m in moments:
        width = (len(m.label) + 3) * _CHAR_EM * FONT_PT / 72.0 / axes_in
        x = w.fraction(m.t_h)
        sides = [(x, x + width, False), (x - width, x, True)]
        sides = [s for s in sides if s[0] >= 0.0 and s[1] <= 1.0] or [sides[x + width > 1.0]]
        placed = None
        for lane, spans in enumerate(taken):
            for lo, hi, left in sides:
                if all(hi < a or lo > b for a, b in spans):
                    placed = (lane, lo, hi, left)
                    break
            if placed:
                break
        if placed is None:
            lo, hi, left = sides[0]
            taken.append([])
            placed = (len(taken) - 1, lo, hi, left)
        lane, lo, hi, left = placed
        taken[lane].append((lo, hi))
        out.append((lane, left))
    return out


def draw_moments(ax: Any, others: list[Any], moments: list[Any], w: Frame) -> None:
    """Each alarm start and flag start: a labelled marker on top, a line down every panel."""
    placed = moment_lanes(moments, w)
    lanes = max((lane for lane, _ in placed), default=0) + 1
    for m, (lane, left) in zip(moments, placed, strict=True):
        colour = moment_colour(m)
        x = w.x(m.t_h)
        ax.plot([x], [lane], marker="v", markersize=8, color=colour, linestyle="none")
        ax.annotate(
            m.label, (x, lane), xytext=(-7 if left else 7, 0), textcoords="offset points",
            color=colour, ha="right" if left else "left", va="center", fontsize=FONT_PT,
            fontweight="bold" if m.silent else "normal", annotation_clip=False,
            # the other markers' lines pass behind the label, not through its words
            bbox={"boxstyle": "square,pad=0.15", "facecolor": "white", "edgecolor": "none"},
            zorder=4,
        )  # fmt: skip
        ax.axvline(x, color=colour, linewidth=1.2, alpha=0.9)
        for other in others:
            other.axvline(x, color=colour, linewidth=1.2, alpha=0.9)
    ax.set_ylim(lanes - 0.45, -0.55)
    ax.set_yticks([0], ["starts"] if moments else [""], fontsize=FONT_PT)
    ax.tick_params(axis="y", length=0)
    if not moments:
        note(ax, "no alarm sounded and no safety flag was raised")


def note(ax: Any, text: str) -> None:
    """A grey remark in the middle of an empty panel."""
    ax.text(
        0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center",
        fontsize=FONT_PT, color="#555555",
    )  # fmt: skip


def draw_events(ax: Any, below: list[Any], events: list[Any], kinds: list[Any], w: Frame) -> None:
    """One row per kind of event, labelled on the left; faint lines carry them down."""
    for row, kind in enumerate(kinds):
        ts = [w.x(e.at) for e in events if kind_of(e).key == kind.key]
        ax.plot(
            ts, [row] * len(ts), linestyle="none", marker=kind.marker, markersize=10,
            color=kind.color, markeredgewidth=1.5,
        )  # fmt: skip
        for t in ts:
            for other in below:
                other.axvline(t, color=kind.color, linewidth=0.9, alpha=0.35, linestyle="--")
    ax.set_yticks(range(len(kinds)), [k.label for k in kinds], fontsize=FONT_PT)
    ax.set_ylim(len(kinds) - 0.4 if kinds else 0.6, -0.6)
    if not kinds:
        note(ax, "no clinic or device event")


def draw_reservoir(ax: Any, result: Any, xs: list[float], v: dict) -> list[Any]:
    """The pump's estimate against the true reservoir, with the two alarm levels."""
    ax.plot(xs, v["estimated_ml"], color=ESTIMATE, linewidth=2.4, label="pump's estimate")
    ax.plot(xs, v["true_ml"], color=TRUE, linestyle="--", linewidth=2.4, label="true reservoir")
    lra = result.run.setup.low_reservoir_alarm_ml
    empty = result.run.setup.empty_reservoir_alarm_ml
    if lra is not None:
        ax.axhline(
            lra, color=NONCRITICAL, linewidth=2.2, linestyle=":",
            label=f"low-reservoir level ({lra:g} mL)",
        )  # fmt: skip
    if empty is not None:
        ax.axhline(
            empty, color=CRITICAL, linewidth=2.2, linestyle=":",
            label=f"empty-reservoir level ({empty:g} mL)",
        )  # fmt: skip
    ax.set_ylabel("reservoir\n(mL)", fontsize=FONT_PT, rotation=0, ha="right", va="center")
    ax.set_ylim(bottom=0)
    return list(ax.get_legend_handles_labels()[0])


def draw_csf(ax: Any, result: Any, xs: list[float], v: dict, w: Frame) -> list[Any]:
    """The spinal-fluid ratio, the two thresholds and the flagged spans."""
    sc = result.scenario
    ratio = [min(3.0, max(0.0, r)) for r in v["csf_ratio"]]
    ax.plot(xs, ratio, color="black", linewidth=2.2, label="CSF level, actual / expected")
    theta = sc.risk.threshold
    ax.axhline(
        theta, color=CRITICAL, linestyle=":", linewidth=2.2,
        label=f"withdrawal threshold ({theta:g})",
    )  # fmt: skip
    ax.axhline(
        1 + theta, color=OVERDOSE, linestyle=":", linewidth=2.2,
        label=f"overdose threshold ({1 + theta:g})",
    )  # fmt: skip
    seen: set[str] = set()
    for flag in result.flags:
        end = sc.duration if flag.end_h is None else flag.end_h
        if not w.shows(flag.start_h, end):
            continue
        color = FLAG_COLOURS.get(flag.type, OVERDOSE)
        label = "flagged: " + marker_text("flag", flag.type)
        if flag.type == "abrupt_discontinuation" and flag.alarmed is False:
            label += " (silent at onset)"
        shown = label if label not in seen else None
        seen.add(label)
        lo, hi = w.x(max(flag.start_h, w.t0_h)), w.x(min(end, w.t1_h))
        if hi - lo > (w.x(w.t1_h) - w.x(w.t0_h)) / 600:
            ax.axvspan(lo, hi, color=color, alpha=0.18, label=shown)
        else:
            ax.axvline(lo, color=color, linewidth=3, alpha=0.6, label=shown)
    ax.set_ylabel("CSF level\n(ratio)", fontsize=FONT_PT, rotation=0, ha="right", va="center")
    ax.set_ylim(0, max(1.6, min(3.0, max(ratio) * 1.05)))
    return list(ax.get_legend_handles_labels()[0])


def _draw_one_alarm(ax: Any, a: Any, row: int, w: Frame, px_per_h: float, until_h: float) -> bool:
    """One alarm occurrence in its row; True when its tones had to be hatched."""
    from matplotlib.collections import LineCollection

    end = until_h if a.end_h is None else a.end_h
    critical = a.priority == "critical"
    color = CRITICAL if critical else NONCRITICAL
    lo, hi = max(a.start_h, w.t0_h), min(end, w.t1_h)
    span = [(w.x(lo), max(hi - lo, 1e-9) / HOURS_PER_DAY)]
    ax.broken_barh(span, (row - 0.32, 0.64), color=color, alpha=0.22, linewidth=0)
    hatched = a.tone_interval_h * px_per_h < _MIN_TONE_SPACING_PX
    if not hatched:
        tones = [w.x(t) for t in a.tone_times(until_h) if w.t0_h <= t <= w.t1_h]
        if critical:  # two pitches: upper and lower half-ticks in two shades
            upper = [((t, row - 0.32), (t, row)) for t in tones]
            lower = [((t, row), (t, row + 0.32)) for t in tones]
            ax.add_collection(LineCollection(upper, colors=color, linewidths=1.6))
            ax.add_collection(LineCollection(lower, colors=CRITICAL_SECOND, linewidths=1.6))
        else:
            ticks = [((t, row - 0.32), (t, row + 0.32)) for t in tones]
            ax.add_collection(LineCollection(ticks, colors=color, linewidths=1.6))
    else:  # tones too close to draw one by one: hatch the span in the tone's rhythm
        ax.broken_barh(
            span, (row - 0.32, 0.64), facecolor="none", edgecolor=color,
            hatch="||||" if critical else "|", linewidth=1.2,
        )  # fmt: skip
    if a.start_h >= w.t0_h:
        ax.plot(
            [w.x(a.start_h)], [row], marker=">", markersize=10, color=color,
            markeredgecolor="black", markeredgewidth=0.8,
        )  # fmt: skip
    return hatched


def draw_alarms(ax: Any, result: Any, names: list[str], w: Frame, tones: dict) -> list[Any]:
    """Each alarm as its tones: a tick per tone (two-tone for critical) and a priority key."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    sc = result.scenario
    px_per_h = w.width_in * 100 * 0.9 / (w.t1_h - w.t0_h)  # at 100 px per inch
    hatched = False
    for row, name in enumerate(names):
        for a in (a for a in result.alarms if a.type == name):
            end = sc.duration if a.end_h is None else a.end_h
            if w.shows(a.start_h, end):
                hatched |= _draw_one_alarm(ax, a, row, w, px_per_h, sc.duration)
    ax.set_yticks(range(len(names)), [alarm_label(n) for n in names], fontsize=FONT_PT)
    ax.set_ylim(len(names) - 0.5 if names else 0.5, -0.5)
    if not names:
        note(ax, "no alarm sounded")
    ax.hatched = hatched  # read by the figure's legend title
    return [
        Patch(facecolor=CRITICAL, alpha=0.8, label="critical alarm: " + tones["critical"]),
        Patch(
            facecolor=NONCRITICAL, alpha=0.8, label="non-critical alarm: " + tones["non_critical"]
        ),
        Line2D(
            [], [], marker=">", linestyle="none", color="#777777", markeredgecolor="black",
            markersize=10, label="alarm raised; a tick per tone"
            + (" (hatched: too close)" if hatched else ""),
        ),
    ]  # fmt: skip


def tone_words(result: Any) -> dict[str, str]:
    """Each priority's tone and repeat, from the device profile (and the scenario's interval)."""
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
