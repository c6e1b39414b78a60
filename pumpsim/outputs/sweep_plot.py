"""The sweep figures: event-free survival per grid point beside the cause x first-alarm heat
maps, and the risk table's P x S grid (``risk_plot``). The suffix names the format."""

from __future__ import annotations

import json
import math
from typing import Any

from pumpsim.model.units import HOURS_PER_YEAR
from pumpsim.outputs.matplotlib_quiet import quiet_logger
from pumpsim.outputs.risk_plot import panel_grid, plot_risk, point_title, save_sweep_figure

#: Heat maps drawn at most (one per grid point, in rows of four); the rest are in summary.json.
MAX_HEATMAPS = 8

__all__ = ["MAX_HEATMAPS", "plot_risk", "plot_sweep", "sweep_figure"]


def plot_sweep(result: Any, path: str) -> str:
    """Draw the figure of a finished sweep (``SweepResult``) to ``path`` in the format its
    suffix names (.png, .svg, .pdf; any other is a ValueError); return the path.

    A bare file name is taken inside the sweep's output folder.
    """
    return save_sweep_figure(result, path, sweep_figure, "the sweep figure")


def sweep_figure(result: Any) -> Any:
    """The figure (a matplotlib ``Figure``): event-free survival per grid point, and a heat map
    of causes x first alarms per grid point, its counts coloured on a log scale (a colour bar
    beside them; zero cells stay white), each count written in its cell."""
    quiet_logger()  # before matplotlib's import, which warns about an unwritable config folder
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure  # no pyplot: a notebook's backend stays as it is

    doc = result.summary
    points = doc["grid_points"]
    shown = points[:MAX_HEATMAPS]
    years = doc["duration_h"] / HOURS_PER_YEAR
    rows, cols = panel_grid(len(shown))
    fig = Figure(figsize=(7.0 + 4.0 * cols, 1.0 + 4.6 * max(rows, 1)), layout="constrained")
    grid = fig.add_gridspec(rows, 1 + cols, width_ratios=[1.6] + [1.0] * cols)

    ax = fig.add_subplot(grid[:, 0])
    for point, first in zip(points, result.first_flag_h, strict=True):
        n = max(1, point["patients"])
        point_years = _years(point, years)
        xs, ys = [0.0], [1.0]
        for i, t in enumerate(first, start=1):
            xs.append(t / HOURS_PER_YEAR)
            ys.append(1.0 - i / n)
        xs.append(point_years)
        ys.append(ys[-1])
        ax.step(xs, ys, where="post", label=_label(point, doc["grid_keys"]))
    ax.set_xlim(0, max(_years(p, years) for p in points))
    low = min(
        1.0 - p["abrupt_discontinuation"]["patients_with_a_flag"] / max(1, p["patients"])
        for p in points
    )
    ax.set_ylim(max(0.0, math.floor((low - 0.02) * 20) / 20), 1.0)
    ax.set_xlabel("years from the start")
    ax.set_ylabel("patients without an abrupt-discontinuation flag")
    ax.set_title(f"{doc['sweep']}: event-free survival")
    ax.grid(alpha=0.3)
    keys = ", ".join(k.rsplit(".", 1)[-1] for k in doc["grid_keys"])
    ax.legend(
        fontsize="small",
        loc="upper center",
        bbox_to_anchor=(0.5, -0.09),
        title=f"grid point: {keys} (flags/100 py)" if keys else None,
        title_fontsize="small",
    )

    tables = [p["abrupt_discontinuation"]["cause_by_first_alarm"] for p in shown]
    causes = sorted({c for t in tables for c in t})
    alarms = sorted({a for t in tables for r in t.values() for a in r})
    if "none" in alarms:  # silent first: the column that matters most
        alarms.remove("none")
        alarms.insert(0, "none")
    top = max([1] + [v for t in tables for r in t.values() for v in r.values()])
    norm = LogNorm(vmin=1, vmax=max(10, top))
    image = None
    for k, (point, table) in enumerate(zip(shown, tables, strict=True)):
        hm = fig.add_subplot(grid[k // cols, 1 + k % cols])
        cells = [[table.get(c, {}).get(a, 0) for a in alarms] for c in causes]
        if causes and alarms:
            masked = [[v if v > 0 else math.nan for v in row] for row in cells]
            image = hm.imshow(masked, cmap="Reds", norm=norm, aspect="auto")
            for i, row in enumerate(cells):
                for j, value in enumerate(row):
                    dark = value > 0 and norm(value) > 0.6
                    hm.text(
                        j,
                        i,
                        str(value),
                        ha="center",
                        va="center",
                        color="white" if dark else "black",
                        fontsize=9,
                    )
        hm.set_xticks(
            range(len(alarms)),
            [a.replace("_", " ") for a in alarms],
            rotation=40,
            ha="right",
            fontsize=8,
        )
        first = k % cols == 0
        hm.set_yticks(
            range(len(causes)), [c.replace("_", " ") for c in causes] if first else [], fontsize=8
        )
        hm.set_xlabel("first alarm (none: silent)", fontsize=8)
        if first:
            hm.set_ylabel("cause")
        hm.set_title(point_title(point["grid_point"], point["values"], 40), fontsize=8)
    if image is not None:
        bar = fig.colorbar(image, ax=fig.axes[1:], shrink=0.8, pad=0.02)
        bar.set_label("abrupt-discontinuation flags (log scale)")
    return fig


def _years(point: dict[str, Any], default: float) -> float:
    n = point["patients"]
    return point["patient_years"] / n if n else default


def _label(point: dict[str, Any], grid_keys: list[str]) -> str:
    """``0: 20, 500, 0.03 (143)``: the point's values in the order of the legend's title."""
    values = ", ".join(v if isinstance(v, str) else json.dumps(v) for v in point["values"].values())
    rate = point["abrupt_discontinuation"]["per_100_patient_years"]
    shown = "-" if rate is None else f"{rate:.3g}"
    if not grid_keys:
        return f"all patients ({shown}/100 py)"
    return f"{point['grid_point']}: {values} ({shown})"
