"""Results at home in a notebook: exact array sampling, pandas frames and an HTML summary.

``sample(result, times)`` evaluates the recorded trajectory at many instants at once, exactly
(the same closed form as ``Trajectory.at``, vectorised over the recorded pieces). The frame
helpers need pandas (``pip install 'pumpsim[pandas]'``) and index every row by its calendar
date-time on the scenario's clock (``start:`` + hours). ``repr_html`` is what Jupyter shows for a
``Result``: a summary table, the alarms and flags, and the figure as inline SVG.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

from pumpsim.model.units import HOURS_PER_DAY

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

    from pumpsim.outputs.result import Result

#: Columns of ``sample`` (and of ``to_frame``), in order, with their meaning and unit.
SAMPLE_COLUMNS: dict[str, str] = {
    "t_h": "hours from the scenario start",
    "estimated_ml": "the pump's estimate of its reservoir (mL)",
    "true_ml": "what is truly in the reservoir (mL)",
    "gap_ml": "estimate minus truth (mL): the pump's blind spot",
    "programmed_ml_per_day": "flow the motor is told to move at that instant (mL/day)",
    "delivered_mcg_per_day": "drug reaching the intrathecal space at that instant (mcg/day)",
    "csf_expected": "CSF level the programme should give (relative index, mcg)",
    "csf_actual": "CSF level from the drug that truly arrives (relative index, mcg)",
    "csf_ratio": "actual / expected CSF level (the withdrawal detector's signal)",
}

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


def sample(result: Result, times: Any) -> dict[str, np.ndarray]:
    """Every ``SAMPLE_COLUMNS`` quantity at ``times`` (hours, any array shape), exactly.

    Vectorised over the pieces the engine recorded: each instant is evaluated in closed form
    from the state just after the last event at or before it (right-continuous, like
    ``Trajectory.at``). Raises ``ValueError`` for an instant outside ``[0, duration]``.
    """
    import numpy as np

    t = np.asarray(times, dtype=float)
    duration = float(result.scenario.duration)
    if t.size and (not np.all(np.isfinite(t)) or t.min() < 0.0 or t.max() > duration):
        raise ValueError(f"sample times must lie within [0, {duration:g}] hours")
    return sample_trajectory(result.run.trajectory, t)


def sample_trajectory(trajectory: Any, times: Any) -> dict[str, np.ndarray]:
    """``sample`` for a bare trajectory (``.pieces`` and ``.k``), without the range check.

    This is what ``Trajectory.at`` can delegate to when it is given an array of instants.
    """
    import numpy as np

    t = np.asarray(times, dtype=float)
    shape = t.shape
    t = t.reshape(-1)
    pieces = trajectory.pieces
    k = trajectory.k
    starts = np.array([p.t_h for p in pieces])
    which = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(pieces) - 1)
    out = {name: np.empty_like(t) for name in SAMPLE_COLUMNS}
    out["t_h"] = t.copy()
    for i in np.unique(which):
        sel = which == i
        p = pieces[int(i)]
        ts = t[sel]
        fl, sched = p.flows, p.schedule
        dt = ts - p.t_h
        F = _integral(sched, p.t_h, ts)
        f_now = _rate(sched, ts)
        est = np.maximum(0.0, p.est_ml - (fl.est_debit.alpha * F + fl.est_debit.beta * dt))
        true = np.maximum(0.0, p.true_ml - (fl.mech.alpha * F + fl.mech.beta * dt))
        exp_ = _level(sched, p.csf_expected, p.t_h, ts, fl.expected.alpha, fl.expected.beta, k)
        act = _level(sched, p.csf_actual, p.t_h, ts, fl.delivered.alpha, fl.delivered.beta, k)
        out["estimated_ml"][sel] = est
        out["true_ml"][sel] = true
        out["gap_ml"][sel] = est - true
        out["programmed_ml_per_day"][sel] = (fl.motor.alpha * f_now + fl.motor.beta) * HOURS_PER_DAY
        out["delivered_mcg_per_day"][sel] = (
            fl.delivered.alpha * f_now + fl.delivered.beta
        ) * HOURS_PER_DAY
        out["csf_expected"][sel] = exp_
        out["csf_actual"][sel] = act
        # CsfLevels.ratio_of, element by element
        ratio = np.where(
            exp_ > 0, act / np.where(exp_ > 0, exp_, 1.0), np.where(act <= 0, 1.0, math.inf)
        )
        out["csf_ratio"][sel] = ratio
    return {name: values.reshape(shape) for name, values in out.items()}


def _locate(sched: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised ``Schedule._locate``: (period index, step index, offset within the period)."""
    import numpy as np

    period = sched.period_h
    q = np.floor(x / period)
    p = x - q * period
    edge = p >= period  # float edge, as in the scalar version
    q = np.where(edge, q + 1, q)
    p = np.where(edge, 0.0, p)
    j = np.maximum(np.searchsorted(np.asarray(sched.starts), p, side="right") - 1, 0)
    return q, j, p


def _cumulative(sched: Any, x: np.ndarray) -> np.ndarray:
    import numpy as np

    q, j, p = _locate(sched, x)
    starts, cum, rates = (np.asarray(a) for a in (sched.starts, sched.cum, sched.rates))
    return q * sched.total + cum[j] + rates[j] * (p - starts[j])


def _integral(sched: Any, t0: float, t1: np.ndarray) -> np.ndarray:
    """Vectorised ``Schedule.integral(t0, t1)`` (mcg)."""
    import numpy as np

    if sched.constant:
        return sched.rates[0] * (t1 - t0)
    start = _cumulative(sched, np.array([t0 + sched.phase_h]))[0]
    return _cumulative(sched, t1 + sched.phase_h) - start


def _rate(sched: Any, t: np.ndarray) -> np.ndarray:
    """Vectorised ``Schedule.rate_at`` (mcg/h, right-continuous)."""
    import numpy as np

    if sched.constant:
        return np.full_like(t, sched.rates[0])
    _, j, _ = _locate(sched, t + sched.phase_h)
    return np.asarray(sched.rates)[j]


def _steady(sched: Any, t: np.ndarray, k: float) -> np.ndarray:
    """Vectorised ``Schedule.steady_level``."""
    import numpy as np

    if sched.constant:
        return np.full_like(t, sched.rates[0] / k)
    pss = np.asarray(sched._pss_starts(k))
    _, j, p = _locate(sched, t + sched.phase_h)
    r = np.asarray(sched.rates)[j]
    return r / k + (pss[j] - r / k) * np.exp(-k * (p - np.asarray(sched.starts)[j]))


def _level(
    sched: Any, a0: float, t0: float, t1: np.ndarray, alpha: float, beta: float, k: float
) -> np.ndarray:
    """Vectorised ``Schedule.level_at``: A(t1) for A' = alpha*f + beta - kA, A(t0) = a0."""
    import numpy as np

    p0 = alpha * _steady(sched, np.array([t0]), k)[0] + beta / k
    p1 = alpha * _steady(sched, t1, k) + beta / k
    return np.where(t1 == t0, a0, p1 + (a0 - p0) * np.exp(-k * (t1 - t0)))


# -- pandas ---------------------------------------------------------------------------------------
def default_times(result: Result, step_h: float = 1.0) -> np.ndarray:
    """An even grid every ``step_h`` hours plus every engine event instant (sorted, unique)."""
    import numpy as np

    duration = float(result.scenario.duration)
    grid = np.arange(0.0, duration, step_h)
    events = [p.t_h for p in result.run.trajectory.pieces]
    times = np.unique(np.concatenate([grid, events, [duration]]))
    # An event a rounding error away from a grid instant is the same instant on a calendar.
    return times[np.concatenate([[True], np.diff(times) > 1e-9])]


def _dates(result: Result, hours: Any) -> pd.DatetimeIndex:
    """Calendar date-times of instants in hours, rounded to the microsecond (float noise)."""
    import numpy as np

    pd = _pandas()
    start = pd.Timestamp(result.scenario.start)
    micros = np.round(np.asarray(hours, dtype=float) * 3.6e9)
    return pd.DatetimeIndex(start + pd.to_timedelta(micros, unit="us"))


def to_frame(result: Result, times: Any = None) -> pd.DataFrame:
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


def _records_frame(result: Result, rows: list[dict[str, Any]], first: tuple[str, ...]):
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


def alarms_frame(result: Result) -> pd.DataFrame:
    """One row per alarm occurrence, indexed by the calendar date-time it was raised.

    Columns: ``end`` (date-time, NaT while still sounding at the end), then the result
    document's alarm fields (``type``, ``priority``, ``start_h``, ``end_h``, ``tone``,
    ``tone_count``...) and ``duration_h`` (until the end of the run when still sounding).
    """
    until = float(result.scenario.duration)
    rows = [a.to_dict(until) for a in result.alarms]
    return _records_frame(result, rows, _ALARM_COLUMNS)


def flags_frame(result: Result) -> pd.DataFrame:
    """One row per safety flag, indexed by the calendar date-time it was raised.

    Columns: ``end`` (date-time), ``type``, ``cause``, ``alarmed``, ``severity``, ``start_h``,
    ``end_h``, ``duration_h`` and every other scalar field of the flag in the result document
    (e.g. ``time_to_critical_alarm_h``, ``discrepancy_ml``); list-valued fields are left out.
    """
    rows = result.to_dict()["flags"]
    return _records_frame(result, rows, _FLAG_COLUMNS)


# -- HTML -----------------------------------------------------------------------------------------
def _when(result: Result, hours: float | None) -> str:
    from pumpsim.model.clock import Clock
    from pumpsim.model.units import format_duration_h

    if hours is None:
        return "still on at the end"
    clock = Clock.of(result.scenario.start)  # elapsed hours; local time in a time zone
    at = clock.wall(hours)
    aware = clock.aware(hours) if clock.zone is not None else None
    offset = aware.isoformat()[-6:] if aware is not None else ""  # +02:00
    return f"{at:%Y-%m-%d %H:%M}{offset} ({format_duration_h(hours)})"


def figure_svg(result: Result, points: int = 400) -> str:
    """The result's figure (``pumpsim.outputs.report.plot.figure``) as SVG text, deterministic.

    Built without pyplot, so it never switches the notebook's matplotlib backend.
    """
    from pumpsim.outputs.report.plot import figure, render

    text = render(figure(result, points=points), "svg").decode("utf-8")
    svg = text[text.index("<svg") :]
    return svg.replace("<svg ", '<svg style="max-width: 100%; height: auto" ', 1)


def repr_html(result: Result, figure: bool = True) -> str:
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
