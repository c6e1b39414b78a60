"""The pump's state, moment by moment: a compact table for the report's time slider.

Each row is one instant: the calendar time, the pump's estimate and the true reservoir, the
delivery mode (from the responses of the alarms then sounding, per the device profile), the
catheter's condition (from the scenario's events), the CSF ratio, and which alarms and flags
are active. The instants are a regular grid over the scenario plus every engine event and every
alarm and flag boundary, so nothing that happens falls between two rows.
"""

from __future__ import annotations

import math
from typing import Any

from pumpsim.model.clock import Clock

#: What each delivery mode means, from the strongest alarm response in force.
MODES = (
    ("stop", "stopped: no delivery"),
    ("no_flow", "motor stopped: no flow"),
    ("minimum_rate", "minimum-rate mode"),
    ("none", "delivering the programme"),
)
_RANK = {response: i for i, (response, _) in enumerate(MODES)}


def _active(start_h: float, end_h: float | None, t_h: float) -> bool:
    """Active from its start until (not at) its end; an instant flag is active at its instant."""
    return start_h <= t_h and (end_h is None or t_h < end_h or t_h == start_h)


def catheter_spans(result: Any) -> list[tuple[float, float, str]]:
    """(start h, end h, kind) of every catheter fault of the run (scenario events and fault
    streams alike), from the run's record; a fault still on at the end lasts to infinity."""
    return sorted(
        (span.start_h, math.inf if span.end_h is None else span.end_h, span.kind)
        for span in result.run.catheter_faults
    )


def instants(result: Any, points: int) -> list[float]:
    """The rows' instants (h): a regular grid plus every event and alarm or flag boundary."""
    duration = float(result.scenario.duration)
    times = {duration * i / (points - 1) for i in range(points)}
    for segment in result.run.trajectory.segments:
        times.add(float(segment.t_h))
    for rec in [*result.alarms, *result.flags]:
        times.add(float(rec.start_h))
        if rec.end_h is not None:
            times.add(float(rec.end_h))
    for start, end, _ in catheter_spans(result):
        times.update(t for t in (start, end) if math.isfinite(t))
    return sorted(t for t in times if 0.0 <= t <= duration)


def state_table(result: Any, points: int = 801) -> dict[str, Any]:
    """Columns of the pump's state at every instant of ``instants``, rounded for a small JSON."""
    sc = result.scenario
    profile = result.run.setup.profile
    alarms = result.alarms
    flags = result.flags
    spans = catheter_spans(result)
    cols: dict[str, list[Any]] = {
        k: [] for k in ("t_h", "when", "est", "true", "ratio", "mode", "cath", "alarms", "flags")
    }
    traj = result.run.trajectory
    for t in instants(result, points):
        v = traj.at(t)._asdict()
        on = [i for i, a in enumerate(alarms) if _active(a.start_h, a.end_h, t)]
        rank = min((_RANK[profile.alarms[alarms[i].type].response] for i in on), default=3)
        ratio = v["csf_ratio"]
        cols["t_h"].append(round(t, 6))
        cols["when"].append(Clock.of(sc.start).label(t))
        cols["est"].append(round(v["estimated_ml"], 3))
        cols["true"].append(round(v["true_ml"], 3))
        cols["ratio"].append(round(ratio, 3) if math.isfinite(ratio) else None)
        cols["mode"].append(rank)
        cols["cath"].append(next((kind for start, end, kind in spans if start <= t < end), ""))
        cols["alarms"].append(on)
        cols["flags"].append([i for i, f in enumerate(flags) if _active(f.start_h, f.end_h, t)])
    return cols
