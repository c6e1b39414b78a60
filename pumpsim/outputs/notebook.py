"""Results at home in a notebook: exact array sampling, pandas frames and an HTML summary.

``sample(result, times)`` evaluates the recorded trajectory at many instants at once, exactly
(the same closed form as ``Trajectory.at``, vectorised over the recorded segments). The frame
helpers need pandas (``pip install 'pumpsim[pandas]'``) and index every row by its calendar
date-time on the scenario's clock (``start:`` + hours). ``repr_html`` is what Jupyter shows for a
``Result``: a summary table, the alarms and flags, and the figure as inline SVG.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from pumpsim.model.clock import Clock
from pumpsim.model.segment import SAMPLE_COLUMNS

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

_PANDAS_MISSING = (
    "pandas is needed for data frames but is not installed; install the optional extra: "
    "pip install 'pumpsim[pandas]'"
)


def _pandas():
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - exercised by monkeypatching in the tests
        raise ImportError(_PANDAS_MISSING) from None
    return pd


def sample(result: Any, times: Any) -> dict[str, np.ndarray]:
    """Every ``SAMPLE_COLUMNS`` quantity at ``times`` (hours, any array shape), exactly.

    Each instant is evaluated in closed form from the segment of the run's record in force then
    (``pumpsim.model.segment``: right-continuous, like ``Trajectory.at``). Raises ``ValueError``
    for an instant outside ``[0, duration]``.
    """
    import numpy as np

    t = np.asarray(times, dtype=float)
    duration = float(result.duration_h)
    if t.size and (not np.all(np.isfinite(t)) or t.min() < 0.0 or t.max() > duration):
        raise ValueError(f"sample times must lie within [0, {duration:g}] hours")
    return result.run.trajectory.sample(t)


# -- pandas ---------------------------------------------------------------------------------------
def default_times(result: Any, step_h: float = 1.0) -> np.ndarray:
    """An even grid every ``step_h`` hours plus every engine event instant (sorted, unique)."""
    import numpy as np

    duration = float(result.scenario.duration)
    grid = np.arange(0.0, duration, step_h)
    events = [s.t_h for s in result.run.trajectory.segments]
    times = np.unique(np.concatenate([grid, events, [duration]]))
    # An event a rounding error away from a grid instant is the same instant on a calendar.
    return times[np.concatenate([[True], np.diff(times) > 1e-9])]


def _dates(result: Any, hours: Any) -> pd.DatetimeIndex:
    """Calendar date-times of instants in hours, rounded to the microsecond (float noise)."""
    import numpy as np

    pd = _pandas()
    start = pd.Timestamp(result.scenario.start)
    micros = np.round(np.asarray(hours, dtype=float) * 3.6e9)
    return pd.DatetimeIndex(start + pd.to_timedelta(micros, unit="us"))


def to_frame(result: Any, times: Any = None) -> pd.DataFrame:
    """The trajectory as a DataFrame, one row per instant, indexed by calendar date-time.

    ``times`` are hours from the start (default: every hour plus every event instant). Columns
    are ``SAMPLE_COLUMNS`` (``t_h`` kept beside the date-time index named ``time``).
    """
    pd = _pandas()
    hours = default_times(result) if times is None else times
    values = sample(result, hours)
    frame = pd.DataFrame({name: values[name].reshape(-1) for name in SAMPLE_COLUMNS})
    frame.index = pd.DatetimeIndex(_dates(result, frame["t_h"].to_numpy()), name="time")
    return frame


_ALARM_COLUMNS = ("type", "priority", "start_h", "end_h", "duration_h", "tone", "tone_count")
_FLAG_COLUMNS = ("type", "cause", "alarmed", "severity", "start_h", "end_h", "duration_h")


def _records_frame(result: Any, rows: list[dict[str, Any]], first: tuple[str, ...]):
    pd = _pandas()
    until = float(result.scenario.duration)
    for row in rows:
        end = until if row.get("end_h") is None else row["end_h"]
        row["duration_h"] = end - row["start_h"]
    scalar = [
        key
        for row in rows
        for key, value in row.items()
        if not isinstance(value, (list, dict)) and key not in first
    ]
    columns = [*first, *dict.fromkeys(scalar)]
    frame = pd.DataFrame([{c: row.get(c) for c in columns} for row in rows], columns=columns)
    for hours in ("start_h", "end_h", "duration_h"):
        frame[hours] = frame[hours].astype(float)  # an open end is NaN, not None
    frame.insert(0, "end", _dates(result, frame["end_h"].to_numpy()))
    frame.index = pd.DatetimeIndex(_dates(result, frame["start_h"].to_numpy()), name="start")
    return frame


def alarms_frame(result: Any) -> pd.DataFrame:
    """One row per alarm occurrence, indexed by the calendar date-time it was raised.

    Columns: ``end`` (date-time, NaT while still sounding at the end), then the result
    document's alarm fields (``type``, ``priority``, ``start_h``, ``end_h``, ``tone``,
    ``tone_count``...) and ``duration_h`` (until the end of the run when still sounding).
    """
    until = float(result.scenario.duration)
    rows = [a.to_dict(until) for a in result.alarms]
    return _records_frame(result, rows, _ALARM_COLUMNS)


def flags_frame(result: Any) -> pd.DataFrame:
    """One row per safety flag, indexed by the calendar date-time it was raised.

    Columns: ``end`` (date-time), ``type``, ``cause``, ``alarmed``, ``severity``, ``start_h``,
    ``end_h``, ``duration_h`` and every other scalar field of the flag in the result document
    (e.g. ``time_to_critical_alarm_h``, ``discrepancy_ml``); list-valued fields are left out.
    """
    rows = result.to_dict()["flags"]
    return _records_frame(result, rows, _FLAG_COLUMNS)


# -- HTML -----------------------------------------------------------------------------------------
def _when(result: Any, hours: float | None) -> str:
    if hours is None:
        return "still on at the end"
    return Clock.of(result.setup.start).label(hours)


def figure_svg(result: Any, points: int = 400) -> str:
    """The result's figure (``pumpsim.outputs.report.plot.figure``) as SVG text, deterministic.

    Built without pyplot, so it never switches the notebook's matplotlib backend.
    """
    # the figure module is matplotlib's home: loaded when a figure is drawn, not by every run
    from pumpsim.outputs.report.plot import figure, render

    text = render(figure(result, points=points), "svg").decode("utf-8")
    svg = text[text.index("<svg") :]
    return svg.replace("<svg ", '<svg style="max-width: 100%; height: auto" ', 1)


def repr_html(result: Any, figure: bool = True) -> str:
    """Jupyter's view of a result: a summary table, alarms and flags, and the figure (SVG)."""
    e = html.escape
    sc = result.scenario
    doc = result.to_dict()
    withdrawal = [f for f in doc["flags"] if f["type"] == "abrupt_discontinuation"]
    silent = sum(1 for f in withdrawal if f["alarmed"] is False)
    n_ok = sum(1 for o in doc["expectations"] if o["passed"])
    tot = doc["totals"]
    summary = [
        ("scenario", sc.name),
        ("description", " ".join(sc.description.split())),
        ("simulated", f"{_when(result, 0.0)} to {_when(result, float(sc.duration))}"),
        ("device", f"{doc['device_profile']}, {sc.pump.reservoir_ml:g} mL reservoir"),
        ("alarms", str(len(doc["alarms"]))),
        ("withdrawal flags", f"{len(withdrawal)} ({silent} silent)"),
        ("other flags", str(len(doc["flags"]) - len(withdrawal))),
        (
            "drug",
            f"programmed {tot['programmed_mcg']:.1f} mcg, delivered intrathecally "
            f"{tot['delivered_intrathecal_mcg']:.1f} mcg",
        ),
    ]
    if doc["expectations"]:
        verdict = "passed" if doc["passed"] else "FAILED"
        summary.append(("expectations", f"{n_ok}/{len(doc['expectations'])} {verdict}"))
    parts = ['<div class="pumpsim-result">', "<table>"]
    parts += [f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in summary if v]
    parts.append("</table>")
    events = [
        (a["start_h"], "alarm", a["type"], a["priority"].replace("_", "-"), a["end_h"])
        for a in doc["alarms"]
    ]
    for f in doc["flags"]:
        bits = [f["cause"] or "", {True: "alarmed", False: "SILENT"}.get(f["alarmed"], "")]
        events.append(
            (f["start_h"], "flag", f["type"], ", ".join(b for b in bits if b), f["end_h"])
        )
    if events:
        parts.append("<table><tr><th>raised</th><th></th><th>what</th><th></th><th>ended</th></tr>")
        for start, kind, name, note, end in sorted(events, key=lambda r: r[0]):
            parts.append(
                f"<tr><td>{e(_when(result, start))}</td><td>{kind}</td><td>{e(name)}</td>"
                f"<td>{e(note)}</td><td>{e(_when(result, end))}</td></tr>"
            )
        parts.append("</table>")
    if figure:
        parts.append(figure_svg(result))
    parts.append("</div>")
    return "\n".join(parts)
