"""The risk table's P x S grid (contract section 10): the matrix's cells coloured by level,
each hazard placed in its cell (one panel per grid point, at most ``MAX_PANELS``)."""

from __future__ import annotations

import json
import math
import os
import textwrap
from typing import Any

from pumpsim.files import write_output
from pumpsim.outputs.matplotlib_quiet import quiet_logger
from pumpsim.outputs.report.plot import render
from pumpsim.studies.sweep.risk_matrix import load_risk_matrix

#: Figure formats by suffix.
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
#: Grid points drawn at most (in rows of ``PANELS_PER_ROW``); the rest are in risk.csv.
MAX_PANELS = 8
PANELS_PER_ROW = 4
#: Characters of the legend's title (small type) per inch of figure width, with a margin.
TITLE_CHARS_PER_IN = 11
#: Cell colours by level (colour-blind-safe greens, ambers, reds).
LEVEL_COLOURS = {"acceptable": "#c7e9c0", "alarp": "#fdd49e", "unacceptable": "#fc9272"}


def figure_format(path: str) -> str:
    """The format a figure path's suffix names; ValueError for any other suffix."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"{path}: unknown figure format {suffix or '(none)'!r}; use .png, .svg or .pdf"
        )
    return FORMATS[suffix]


def point_title(index: int, values: dict[str, Any], width: int = 44) -> str:
    """``grid point 1`` and its values (each key by its last part), wrapped to ``width``."""
    shown = ", ".join(
        f"{key.rsplit('.', 1)[-1]}={v if isinstance(v, str) else json.dumps(v)}"
        for key, v in values.items()
    )
    head = f"grid point {index}" if values else "all patients"
    return "\n".join([head, *textwrap.wrap(shown, width)])


def panel_grid(count: int) -> tuple[int, int]:
    """(rows, columns) for ``count`` panels."""
    cols = min(count, PANELS_PER_ROW)
    return math.ceil(count / cols), cols


def save_sweep_figure(result: Any, path: str, draw: Any, what: str) -> str:
    """Write ``draw(result)`` to ``path`` in the format its suffix names (a bare file name is
    taken inside the sweep's output folder); return the path."""
    fmt = figure_format(path)
    if not os.path.isabs(path) and os.path.dirname(path) == "":
        path = os.path.join(result.out_dir, path)
    write_output(path, render(draw(result), fmt), what=what)
    return path


def plot_risk(result: Any, path: str) -> str:
    """Draw the P x S grid of a finished sweep (``SweepResult``) to ``path``; return it."""
    return save_sweep_figure(result, path, risk_figure, "the risk figure")


def risk_figure(result: Any) -> Any:
    """The P x S grid of a finished sweep as a matplotlib Figure (one panel per grid point)."""
    quiet_logger()  # before matplotlib's import, which warns about an unwritable config folder
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    risk = result.summary["risk"]
    points = risk["grid_points"][:MAX_PANELS]
    labels = {p["grid_point"]: p["values"] for p in result.summary["grid_points"]}
    matrix = result.risk_matrix or load_risk_matrix()
    p_ids = [c.id for c in reversed(matrix.probability)]  # P1 ... P5, left to right
    s_ids = [c.id for c in matrix.severity]  # S1 ... S5, bottom to top
    rows, cols = panel_grid(len(points))
    width_in = 1.5 + 4.6 * cols
    fig = Figure(figsize=(width_in, 0.8 + 4.9 * rows), layout="constrained")
    for k, point in enumerate(points):
        ax = fig.add_subplot(rows, cols, k + 1)
        for si, s_id in enumerate(s_ids):
            for pi, p_id in enumerate(p_ids):
                level = matrix.level(p_id, s_id)
                ax.add_patch(_cell(pi, si, LEVEL_COLOURS[level]))
        cells: dict[tuple[int, int], list[str]] = {}
        for h in point["hazards"]:
            if h["severity"] is None:
                continue
            key = (p_ids.index(h["probability"]), s_ids.index(h["severity"]))
            cells.setdefault(key, []).append(h["hazard"])
        for (pi, si), names in cells.items():
            ax.text(pi + 0.5, si + 0.5, "\n".join(names), ha="center", va="center", fontsize=7.5)
        names = {c.id: c.name for c in (*matrix.probability, *matrix.severity)}
        ax.set_xlim(0, len(p_ids))
        ax.set_ylim(0, len(s_ids))
        ax.set_xticks([i + 0.5 for i in range(len(p_ids))], [f"{p}\n{names[p]}" for p in p_ids])
        first = k % cols == 0
        ax.set_yticks(
            [i + 0.5 for i in range(len(s_ids))],
            [f"{s} {names[s]}" if first else "" for s in s_ids],
        )
        ax.set_xlabel(f"probability per patient-year (from the {risk['probability_from']})")
        if first:
            ax.set_ylabel("severity")
        values = labels.get(point["grid_point"], {})
        ax.set_title(point_title(point["grid_point"], values), fontsize=9)
    fig.legend(
        handles=[Patch(color=c, label=lvl) for lvl, c in LEVEL_COLOURS.items()],
        loc="outside lower center",
        ncols=3,
        fontsize="small",
        # wrapped to the figure: one grid point's figure is narrower than the caveat
        title=textwrap.fill(
            f"{result.summary['sweep']}: hazards on the risk matrix {risk['matrix']} "
            "(its bounds are assumed unless its file gives a source)",
            int(width_in * TITLE_CHARS_PER_IN),
        ),
        title_fontsize="small",
    )
    return fig


def _cell(x: int, y: int, colour: str) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), 1, 1, facecolor=colour, edgecolor="white", linewidth=2)
