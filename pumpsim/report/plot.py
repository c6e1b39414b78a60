"""One figure that shows the gap between what the pump believes and what happens.

Three panels sharing the time axis: the reservoir (the pump's estimate against the truth, with
the alarm levels), the spinal-fluid level as actual/expected with the withdrawal threshold and
flagged spans, and an alarm strip (critical in red, non-critical in amber). Curves are sampled
from the exact trajectory, not interpolated between events.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import numpy as np

from pumpsim.units import HOURS_PER_DAY

_CRITICAL = "#c62828"
_NONCRITICAL = "#f9a825"
_ESTIMATE = "#1565c0"
_TRUE = "#2e7d32"


def _samples(result: Any, t0: float, t1: float, n: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    times = set(np.linspace(t0, t1, n).tolist())
    # include every event instant (and a hair before it) so steps and kinks are drawn sharply
    for piece in result.run.trajectory.pieces:
        t = piece.t_h
        if t0 <= t <= t1:
            times.update((t, max(t0, t - 1e-6)))
    ts = np.array(sorted(times))
    traj = result.run.trajectory
    rows = [traj.at(float(t)) for t in ts]
    return ts, {key: np.array([r[key] for r in rows]) for key in rows[0]}


def figure(
    result: Any, start_h: float | None = None, end_h: float | None = None, points: int = 1500
):
    """Build the matplotlib figure for a result (optionally a time window, in hours)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sc = result.scenario
    t0 = 0.0 if start_h is None else max(0.0, start_h)
    t1 = sc.duration if end_h is None else min(sc.duration, end_h)
    if t1 <= t0:
        raise ValueError("the plot window is empty")
    ts, v = _samples(result, t0, t1, points)
    days = ts / HOURS_PER_DAY
    fig, (ax_res, ax_csf, ax_alarm) = plt.subplots(
        3, 1, figsize=(11, 7.5), sharex=True, gridspec_kw={"height_ratios": [3, 3, 1.3]}
    )
    title = sc.name + (
        f": {sc.description.strip()[:110]}…"
        if len(sc.description) > 110
        else (f": {sc.description.strip()}" if sc.description else "")
    )
    fig.suptitle(title, fontsize=10, wrap=True)

    ax_res.plot(days, v["estimated_ml"], color=_ESTIMATE, label="pump's estimate")
    ax_res.plot(days, v["true_ml"], color=_TRUE, linestyle="--", label="true reservoir")
    engine_lra = result.run.state.get("lra_ml")
    engine_empty = result.run.state.get("empty_ml")
    if engine_lra is not None:
        ax_res.axhline(
            engine_lra,
            color=_NONCRITICAL,
            linewidth=0.8,
            linestyle=":",
            label="low-reservoir level",
        )
    if engine_empty is not None:
        ax_res.axhline(
            engine_empty, color=_CRITICAL, linewidth=0.8, linestyle=":", label="empty level"
        )
    ax_res.set_ylabel("reservoir (mL)")
    ax_res.set_ylim(bottom=0)
    ax_res.legend(loc="upper right", fontsize=8)

    ratio = np.clip(v["csf_ratio"], 0.0, 3.0)
    ax_csf.plot(days, ratio, color="black", label="CSF level, actual / expected")
    theta = sc.risk.threshold
    ax_csf.axhline(
        theta,
        color=_CRITICAL,
        linestyle=":",
        linewidth=0.8,
        label=f"withdrawal threshold ({theta:g})",
    )
    ax_csf.axhline(
        1 + theta,
        color="#6a1b9a",
        linestyle=":",
        linewidth=0.8,
        label=f"overdose threshold ({1 + theta:g})",
    )
    for flag in result.flags:
        end = sc.duration if flag.end_h is None else flag.end_h
        if end < t0 or flag.start_h > t1:
            continue
        color = _CRITICAL if flag.type == "abrupt_discontinuation" else "#6a1b9a"
        if end > flag.start_h:
            ax_csf.axvspan(
                flag.start_h / HOURS_PER_DAY, end / HOURS_PER_DAY, color=color, alpha=0.12
            )
        else:
            ax_csf.axvline(flag.start_h / HOURS_PER_DAY, color=color, alpha=0.6)
        label = flag.type.replace("_", " ") + (f" ({flag.cause})" if flag.cause else "")
        if flag.alarmed is False:
            label += ", silent"
        ax_csf.annotate(
            label,
            (max(flag.start_h, t0) / HOURS_PER_DAY, 0.02),
            fontsize=7,
            rotation=90,
            va="bottom",
            ha="right",
            color=color,
        )
    ax_csf.set_ylabel("actual / expected")
    ax_csf.set_ylim(0, max(1.6, min(3.0, float(ratio.max()) * 1.05)))
    ax_csf.legend(loc="upper right", fontsize=8)

    names = sorted(
        {a.type for a in result.alarms}, key=lambda n: [a.type for a in result.alarms].index(n)
    )
    for row, name in enumerate(names):
        for a in (a for a in result.alarms if a.type == name):
            end = sc.duration if a.end_h is None else a.end_h
            if end < t0 or a.start_h > t1:
                continue
            color = _CRITICAL if a.priority == "critical" else _NONCRITICAL
            width = max(end - a.start_h, (t1 - t0) / 400) / HOURS_PER_DAY
            ax_alarm.broken_barh(
                [(a.start_h / HOURS_PER_DAY, width)], (row - 0.4, 0.8), color=color
            )
    ax_alarm.set_yticks(range(len(names)), [n.replace("_", " ") for n in names], fontsize=8)
    ax_alarm.set_ylim(-0.6, max(len(names), 1) - 0.4)
    ax_alarm.set_xlabel("days from start")
    ax_alarm.set_xlim(t0 / HOURS_PER_DAY, t1 / HOURS_PER_DAY)
    if not names:
        ax_alarm.text(
            0.5,
            0.5,
            "no alarm sounded",
            transform=ax_alarm.transAxes,
            ha="center",
            va="center",
            fontsize=8,
        )
    fig.tight_layout()
    return fig


def save_png(
    result: Any, path: str, start_h: float | None = None, end_h: float | None = None
) -> None:
    """Write the figure as PNG, whole or not at all."""
    import matplotlib.pyplot as plt

    fig = figure(result, start_h, end_h)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".pumpsim-", suffix=".png", dir=folder)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110, format="png")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    finally:
        plt.close(fig)
