"""The result of a run: the contract's section 6 document, plus logs and a compact series."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from pumpsim.files import write_output
from pumpsim.model.clock import Clock, calendar_fields
from pumpsim.model.collector import collector_paused
from pumpsim.model.flags import Flag
from pumpsim.model.parts.alarms import AlarmRecord
from pumpsim.model.record import RunRecord
from pumpsim.model.segment import Trajectory
from pumpsim.model.setup import Setup
from pumpsim.model.units import format_duration_h
from pumpsim.outputs import notebook
from pumpsim.outputs.outcome import Outcome
from pumpsim.version import __version__


@dataclass
class Result:
    """What a simulation produced. ``to_dict()`` is the result document."""

    run: RunRecord
    scenario: Any
    outcomes: list[Outcome]
    #: Remarks about the scenario itself (e.g. a pump beyond its accuracy specification); in the
    #: document as ``notes`` only when there are some.
    notes: list[str] = field(default_factory=list)
    #: a fitted replay's intervals (``pumpsim.studies.fit``): each refill that ends one shows
    #: its fitted accuracy in the document
    fits: list[Any] = field(default_factory=list)

    def __repr__(self) -> str:
        sc = self.scenario
        return (
            f"<Result {sc.name!r}: {format_duration_h(sc.duration)}, "
            f"{len(self.run.alarms)} alarm(s), {len(self.run.flags)} flag(s), "
            f"passed={self.passed}>"
        )

    @property
    def trajectory(self) -> Trajectory:
        """The exact state at any instant: ``result.trajectory.at(t_h)`` for one instant (floats)
        or for an array of instants (arrays)."""
        return self.run.trajectory

    @property
    def record(self) -> RunRecord:
        """What happened in the run, as typed objects (``pumpsim.model.record``)."""
        return self.run

    @property
    def setup(self) -> Setup:
        """The run's resolved settings (scenario values over the profiles' defaults)."""
        return self.run.setup

    @property
    def duration_h(self) -> float:
        """Simulated span in hours."""
        return self.run.setup.duration_h

    @property
    def alarms(self) -> list[AlarmRecord]:
        """Every alarm occurrence, in order of raising."""
        return list(self.run.alarms)

    @property
    def flags(self) -> list[Flag]:
        """Every safety flag, in order of raising."""
        return list(self.run.flags)

    @property
    def passed(self) -> bool:
        """Whether every expectation held (true when there are none)."""
        return all(o.passed for o in self.outcomes)

    def _flag_dict(self, flag: Flag) -> dict[str, Any]:
        out = flag.to_dict()
        if flag.type == "abrupt_discontinuation":
            until = math.inf if flag.end_h is None else flag.end_h
            first = self.run.first_critical_at_or_after(flag.start_h, until)
            out["time_to_critical_alarm_h"] = None if first is None else first - flag.start_h
            out["risk_factors"] = list(self.run.setup.risk_factors)
            drug = self.run.setup.drug
            out["expected_course"] = [
                {
                    "stage": s["stage"],
                    "from_h": flag.start_h + s["from_h"],
                    "to_h": None if s.get("to_h") is None else flag.start_h + s["to_h"],
                    "signs": list(s["signs"]),
                }
                for s in drug.withdrawal_course
            ]
        return out

    def _refills(self) -> list[dict[str, Any]]:
        ending = {f.end_event_index: f for f in self.fits if f.ends_with_refill}
        out = []
        for rec in self.run.refills:
            doc = rec.to_dict()
            fit = None if rec.missed else ending.get(rec.event_index)
            if fit is not None:
                doc.update(fit.refill_fields())
            out.append(doc)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The result document (contract section 6), with extra keys after the contract's."""
        with collector_paused():  # linear in events (see pumpsim.model.collector)
            return self._document()

    def _document(self) -> dict[str, Any]:
        run = self.run
        sc = self.scenario
        tot = run.totals
        until = run.setup.duration_h
        doc = {
            "scenario": sc.name,
            "seed": sc.seed,
            "duration_h": float(sc.duration),
            "pumpsim_version": __version__,
            "alarms": [a.to_dict(until) for a in self.alarms],
            "flags": [self._flag_dict(f) for f in self.flags],
            "refills": self._refills(),
            "totals": {
                "programmed_mcg": tot.programmed_mcg,
                "delivered_intrathecal_mcg": tot.delivered_intrathecal_mcg,
                "delivered_elsewhere_mcg": tot.delivered_elsewhere_mcg,
                "pocket_mcg": tot.pocket_mcg,
                "withdrawn_mcg": tot.withdrawn_mcg,
                "injected_mcg": tot.injected_mcg,
                "pumped_programmed_ml": tot.pumped_programmed_ml,
                "left_reservoir_ml": tot.left_reservoir_ml,
                "delivered_intrathecal_ml": tot.delivered_intrathecal_ml,
                "delivered_elsewhere_ml": tot.delivered_elsewhere_ml,
                "pocket_ml": tot.pocket_ml,
                "withdrawn_ml": tot.withdrawn_ml,
                "injected_ml": tot.injected_ml,
            },
            "expectations": [o.to_dict() for o in self.outcomes],
            "passed": self.passed,
            "hazard": list(sc.hazard),
            "device_profile": run.setup.profile.name,
            "final": run.final.to_dict(),
            "pump_log": [e.to_dict() for e in run.pump_log],
            "physical_log": [e.to_dict() for e in run.physical_log],
            "series": run.trajectory.series(),
            "engine_events": run.engine_events,
        } | ({"notes": list(self.notes)} if self.notes else {})
        # ISO date-times beside every instant in hours (start_at, end_at, at, ...).
        return calendar_fields(doc, Clock.of(run.setup.start))

    def to_json(self) -> str:
        """The document as JSON text (deterministic: same input, same bytes)."""
        return json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"

    def write_json(self, path: str) -> None:
        """Write the document whole or not at all (temporary file, then an atomic rename)."""
        write_output(path, self.to_json())

    def tone_times(self, until_h: float | None = None, alarm: str | None = None) -> list[float]:
        """Every instant (h from the start) at which an alarm tone sounds, in time order.

        Each alarm sounds when it is raised and then once per repeat interval while it lasts
        (``tone_interval_h``: hourly for non-critical, the critical interval for critical); a
        tone due exactly when the alarm clears does not sound. ``until_h`` (default: the
        scenario's duration) ends the alarms still sounding at the end; ``alarm`` keeps only
        one alarm type (e.g. ``"empty_reservoir"``). The tones are derived from the alarm
        intervals, never simulated as events. Returns a list.
        """
        end = self.scenario.duration if until_h is None else until_h
        times: list[float] = []
        for rec in self.alarms:
            if alarm is None or rec.type == alarm:
                times.extend(t for t in rec.tone_times(end) if t <= end)
        return sorted(times)

    # -- notebook helpers (pumpsim.outputs.notebook; pandas is an optional extra) --------------
    def _repr_html_(self) -> str:
        """Jupyter's view: a summary table, the alarms and flags, and the figure as SVG."""
        return notebook.repr_html(self)

    def to_frame(self, times=None):
        """The trajectory as a pandas DataFrame indexed by calendar date-time (see notebook)."""
        return notebook.to_frame(self, times)

    def alarms_frame(self):
        """Alarms as a pandas DataFrame indexed by the date-time each was raised."""
        return notebook.alarms_frame(self)

    def flags_frame(self):
        """Safety flags as a pandas DataFrame indexed by the date-time each was raised."""
        return notebook.flags_frame(self)
