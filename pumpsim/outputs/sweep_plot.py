"""The sweep figure: event-free survival per grid point, and the cause x first-alarm heat map."""

from __future__ import annotations

import json
import math
import os
from typing import Any

from pumpsim.files import write_output
from pumpsim.model.units import HOURS_PER_YEAR
from pumpsim.outputs.matplotlib_quiet import quiet_logger
from pumpsim.outputs.report.plot import render

#: Heat maps drawn side by side at most (one per grid point); the rest are in summary.json.
MAX_HEATMAPS = 6


def plot_sweep(result: Any, path: str) -> str:
    """Draw the figure of a finished sweep (``SweepResult``) to ``path`` (PNG); return the path.

    A relative ``path`` is taken inside the sweep's output folder.
    """
    quiet_logger()  # before matplotlib's import, which warns about an unwritable config folder
    from matplotlib.figure import Figure  # no pyplot: a notebook's backend stays as it is

    if not os.path.isabs(path) and os.path.dirname(path) == "":
        path = os.path.join(result.out_dir, path)
    doc = result.summary
    points = doc["grid_points"]
    shown = points[:MAX_HEATMAPS]
    years = doc["duration_h"] / HOURS_PER_YEAR
    fig = Figure(figsize=(6 + 4.2 * len(shown), 5.2), layout="constrained")
    grid = fig.add_gridspec(1, 1 + len(shown), width_ratios=[1.5] + [1.0] * len(shown))

    ax = fig.add_subplot(grid[0, 0])
    for point, first in zip(points, result.first_flag_h, strict=True):
        n = point["patients"]
        xs, ys = [0.0], [1.0]
        for i, t in enumerate(first, start=1):
            xs.append(t / HOURS_PER_YEAR)
            ys.append(1.0 - i / n)
        xs.append(years)
        ys.append(ys[-1])
        label = _label(point)
        ax.step(xs, ys, where="post", label=label)
    ax.set_xlim(0, years)
    low = min(
        (1.0 - p["abrupt_discontinuation"]["patients_with_a_flag"] / p["patients"]) for p in points
    )
    ax.set_ylim(max(0.0, math.floor((low - 0.02) * 20) / 20), 1.0)
    ax.set_xlabel("years from the start")
    ax.set_ylabel("patients without an abrupt-discontinuation flag")
    ax.set_title(f"{doc['sweep']}: event-free survival")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="lower left")

    causes = sorted({c for p in shown for c in p["abrupt_discontinuation"]["cause_by_first_alarm"]})
    alarms = sorted(
        {
            a
            for p in shown
            for r in p["abrupt_discontinuation"]["cause_by_first_alarm"].values()
            for a in r
        }
    )
    if "none" in alarms:  # silent first: the column that matters most
        alarms.remove("none")
        alarms.insert(0, "none")
    top = max(
        [1]
        + [
            v
            for p in shown
            for r in p["abrupt_discontinuation"]["cause_by_first_alarm"].values()
            for v in r.values()
        ]
    )
    for k, point in enumerate(shown):
        hm = fig.add_subplot(grid[0, 1 + k])
        table = point["abrupt_discontinuation"]["cause_by_first_alarm"]
        cells = [[table.get(c, {}).get(a, 0) for a in alarms] for c in causes]
        if causes and alarms:
            hm.imshow(cells, cmap="Reds", vmin=0, vmax=top, aspect="auto")
            for i, row in enumerate(cells):
                for j, value in enumerate(row):
                    colour = "white" if value > top * 0.6 else "black"
                    hm.text(j, i, str(value), ha="center", va="center", color=colour, fontsize=9)
        hm.set_xticks(
            range(len(alarms)),
            [a.replace("_", " ") for a in alarms],
            rotation=40,
            ha="right",
            fontsize=8,
        )
        hm.set_yticks(
            range(len(causes)), [c.replace("_", " ") for c in causes] if k == 0 else [], fontsize=8
        )
        hm.set_xlabel("first alarm (none: silent)")
        if k == 0:
            hm.set_ylabel("cause")
        hm.set_title(_label(point), fontsize=9)
    write_output(path, render(fig, "png"), what="the sweep figure")
    return path


def _label(point: dict[str, Any]) -> str:
    values = ", ".join(
        f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in point["values"].items()
    )
    ad = point["abrupt_discontinuation"]
    rate = f"{ad['per_100_patient_years']:.2g}/100 py"
    return f"{values or 'all patients'} ({rate})"
