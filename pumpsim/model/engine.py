"""The coordinator: wire a scenario's components into one SimPy clock and run it.

Each component owns its state, its flows between events and its next threshold crossing (see
``docs/architecture.md``): the reservoir's two truths, the drive, the battery, the firmware
(programme, boluses, alarms), the catheter, the CSF levels, the refill procedure and the safety
detectors. Between events every flow is ``alpha*f(t) + beta`` of the programme's rate
(``pumpsim.model.flows``). After each event the coordinator recomposes the flows, asks every
component when it next crosses a threshold, and schedules exactly the earliest instant as a
SimPy event. Nothing is sampled on a clock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pumpsim.model.assembly import assemble
from pumpsim.model.collector import collector_paused
from pumpsim.model.crossings import next_crossing
from pumpsim.model.desk import Clinic, Desk
from pumpsim.model.flows import Flows, compose
from pumpsim.model.ledger import Totals
from pumpsim.model.logbook import Logbook
from pumpsim.model.parts.drive import Drive
from pumpsim.model.procedures.replacement import replace_pump
from pumpsim.model.record import RunOutput, Snapshot, snapshot_at
from pumpsim.model.schedule import Schedule
from pumpsim.model.segment import Piece, Trajectory
from pumpsim.model.simclock import SimClock, Token
from pumpsim.model.units import HOURS_PER_DAY
from pumpsim.scenario import schema

__all__ = ["Engine", "RunOutput", "Snapshot", "Totals"]

#: More threshold crossings than this at one instant, with no other event between them, means
#: a modelling bug (a crossing re-firing); any number of scenario events may share an instant.
_STUCK_CROSSINGS = 10_000


class Engine:
    """One simulated patient with one pump, driven by a scenario (and optionally a clinic)."""

    def __init__(self, scenario: schema.Scenario, clinic: Clinic | None = None) -> None:
        sc = self.sc = scenario
        self.clinic = clinic
        self.clock = SimClock(self._handle)
        self.logs = Logbook()
        p = assemble(sc, self.clock.at, self.logs)
        self.profile, self.alarms, self.flags, self.totals = p.profile, p.alarms, p.flags, p.totals
        self.reservoir, self.drive, self.battery = p.reservoir, p.drive, p.battery
        self.catheter, self.firmware, self.csf = p.catheter, p.firmware, p.csf
        self.detectors, self.refill, self.risk_factors = p.detectors, p.refill, p.risk_factors
        self._handlers: dict[str, Callable[[float, Any], None]] = {
            "refill": self._ev_refill,
            "reprogram": self._ev_reprogram,
            "bolus": lambda t, ev: self.firmware.add_bolus(
                t, "clinician", ev.dose_mcg, ev.duration
            ),
            "ptm_bolus": lambda t, ev: self.firmware.request_ptm(t, self._mode()),
            "catheter_fault": lambda t, ev: self.catheter.start_fault(
                t, ev.kind, ev.fraction, ev.duration, self.clock.at, self.logs
            ),
            "catheter_repair": lambda t, ev: self.catheter.repair(t, self.logs),
            "mri": lambda t, ev: self.drive.stall(t, t + ev.duration + ev.recovery_delay, "mri"),
            "motor_stall": lambda t, ev: self.drive.stall(
                t, None if ev.duration is None else t + ev.duration, "motor_stall"
            ),
            "pump_fault": lambda t, ev: self.firmware.fault(t, ev.kind),
            "pump_replacement": self._ev_pump_replacement,
        }
        self.t_last = 0.0
        self.pieces: list[Piece] = []
        self.snapshots: dict[float, Snapshot] = {}
        self.crossing_token: Token | None = None
        self.crossing_at: tuple[float, str] | None = None
        self.engine_events = 0
        self._instant = (-1.0, 0)  # (t, crossings handled in a row at t)
        self._applied: Any = None  # the event just applied (for the clinic)
        self.desk: Desk | None = None
        self._flows_seen: dict[tuple, Flows] = {}
        self.flows = self._compose()

    # -- flows between events -----------------------------------------------------------------
    def _mode(self) -> str:
        return Drive.mode(self.alarms.responses(), self.drive.stalled)

    def _compose(self) -> Flows:
        return compose(self._mode(), self.firmware, self.reservoir, self.catheter, self.drive,
                       self.battery, self._flows_seen)  # fmt: skip

    def _advance(self, t: float) -> None:
        """Integrate every flow from the last event to t (closed form)."""
        dt = t - self.t_last
        if dt <= 0.0:
            return
        fl, tot, res = self.flows, self.totals, self.reservoir
        schedule = self.firmware.schedule
        F = schedule.integral(self.t_last, t)
        tot.pumped_programmed_ml += fl.motor.alpha * F + fl.motor.beta * dt
        tot.estimate_debited_ml += res.debit_estimate(
            fl.est_debit.alpha * F + fl.est_debit.beta * dt
        )
        self.battery.used += fl.battery.alpha * F + fl.battery.beta * dt
        left_ml = res.draw(fl.mech.alpha * F + fl.mech.beta * dt)
        tot.deliver(left_ml, fl.tip_conc, fl.leak)
        self.catheter.push(left_ml, res.conc_mcg_per_ml)
        tot.programmed_mcg += fl.expected.alpha * F + fl.expected.beta * dt
        self.csf.advance(schedule, self.t_last, t, fl.expected, fl.delivered)
        self.t_last = t

    # -- the clock ----------------------------------------------------------------------------
    def _feed(self) -> None:
        """Put the timeline's next event on the clock (one pending at a time)."""
        ev = next(self._timeline, None)
        if ev is not None:
            self.clock.at_exactly(ev.at, self._on_scenario_event, ev, first=True)

    def _on_scenario_event(self, t: float, ev: Any) -> None:
        self._feed()
        self._on_event(t, ev)

    def _handle(self, fn: Callable[..., None], args: tuple) -> None:
        t = self.clock.now
        self.engine_events += 1
        if fn == self._on_crossing:
            last_t, n = self._instant
            n = n + 1 if last_t == t else 0
            self._instant = (t, n)
            if n > _STUCK_CROSSINGS:  # pragma: no cover - a modelling bug, never a user error
                raise RuntimeError(f"engine stuck at t={t} h: crossings keep firing")
        else:
            self._instant = (-1.0, 0)
        self._advance(t)
        fn(t, *args)
        self._refresh(t)

    def _refresh(self, t: float) -> None:
        """After every event: alarms, the bridge bolus, flows, the record, the next crossing."""
        res, battery = self.reservoir, self.battery
        raised = self.firmware.update_alarms(
            t, res.est_ml, res.low_alarm_ml, res.empty_alarm_ml, self.drive.stalled,
            battery.eri, battery.eos,
        )  # fmt: skip
        if self.firmware.bridge_active:
            self.firmware.check_bridge(t, self.catheter.holds_other_than(res.conc_mcg_per_ml))
        self.flows = self._compose()
        self._record(t)
        self._reschedule(t)
        if self.clinic is not None:
            self._tell_clinic(raised)

    def _tell_clinic(self, raised: list[str] | None) -> None:
        applied, self._applied = self._applied, None
        if applied is not None:
            self.clinic.on_event(self.desk, applied)
        for name in raised or ():
            self.clinic.on_alarm(self.desk, name)

    # -- crossings ----------------------------------------------------------------------------
    def _reschedule(self, t: float) -> None:
        nxt = next_crossing(
            t, self.sc.duration, self.flows, self.firmware.schedule, self.alarms.active,
            self.reservoir, self.catheter, self.battery, self.detectors, self.csf,
        )  # fmt: skip
        token = self.crossing_token
        if nxt == self.crossing_at and token is not None and not token.cancelled:
            return
        if token is not None:
            token.cancelled = True
        self.crossing_at = nxt
        self.crossing_token = (
            None if nxt is None else self.clock.at(nxt[0], self._on_crossing, nxt[1])
        )

    def _on_crossing(self, t: float, kind: str) -> None:
        self.crossing_token = None
        self.crossing_at = None
        if kind == "catheter_front":
            self.catheter.front_reached(t, self.reservoir.conc_mcg_per_ml, self.logs)
        elif kind == "battery_eri":
            self.battery.exhausted(t)
        elif kind == "abrupt":
            self.detectors.toggle_abrupt(t)
        elif kind == "overdose":
            self.detectors.toggle_overdose(t)
        else:
            self.reservoir.snap(kind)
            if kind == "true_empty":
                note = "the true reservoir is empty: no drug leaves the pump"
                self.logs.world(t, "reservoir_empty", note=note)

    # -- events -------------------------------------------------------------------------------
    def _on_event(self, t: float, ev: Any) -> None:
        self._handlers[ev.type](t, ev)
        self._applied = ev

    def _program(self, t: float, therapy: schema.Therapy, reason: str) -> None:
        fw = self.firmware
        schedule = Schedule.from_therapy(therapy, self.sc.start)
        day_before = t - HOURS_PER_DAY
        self.detectors.check_programme_change(t, fw.schedule_in_force(day_before), schedule)
        fw.program(t, therapy, schedule, reason)

    def _ev_refill(self, t: float, ev: schema.RefillEvent) -> None:
        if ev.missed:
            self.refill.missed(t)
        else:
            self.refill.perform(t, ev)
            if ev.therapy is not None:
                self._program(t, ev.therapy, "refill")
        self.detectors.project_refill_due(t, self.firmware.schedule)

    def _ev_reprogram(self, t: float, ev: schema.ReprogramEvent) -> None:
        self._program(t, ev.therapy, "reprogram")

    def _ev_pump_replacement(self, t: float, ev: schema.PumpReplacementEvent) -> None:
        replace_pump(
            t, ev, self.reservoir, self.drive, self.firmware, self.battery, self.totals, self.logs
        )
        self.battery.arm(t)

    def _probe(self, t: float, at: float) -> None:
        """Read the state at ``at`` for an expectation (looking never changes anything)."""
        self.snapshots[at] = snapshot_at(
            at, t, self.t_last, self.flows, self.firmware.schedule, self.reservoir, self.totals,
            self.csf,
        )  # fmt: skip

    # -- the run ------------------------------------------------------------------------------
    def _book(self, at_h: float, event: Any) -> None:
        """A clinic's booking: applied like a scenario event; a booked refill is a visit the
        clinic knows of from now on (the refill-due projection compares with it)."""
        if getattr(event, "type", None) == "refill":
            self.detectors.know_visit(at_h)
        self.clock.at_exactly(at_h, self._on_event, event)

    def run(self) -> RunOutput:
        """Simulate from t = 0 to the scenario's duration."""
        with collector_paused():  # cost linear in events (see pumpsim.model.collector)
            try:
                return self._run()
            finally:
                self._release()

    def _run(self) -> RunOutput:
        sc = self.sc
        # The scenario's events are fed one at a time (a short SimPy queue however long the
        # timeline), each ahead of anything else due at its instant, in file order.
        self._timeline = iter([ev for _, ev in sc.sorted_events()])
        self._feed()
        for at in sorted({e.at for e in sc.expect if e.at is not None}):
            if at <= sc.duration:
                self.clock.look_at(at, self._probe, at)
        if self.clinic is not None:
            self.desk = Desk(
                sc.duration,
                lambda: self.clock.now,
                lambda: self.reservoir.size_ml,
                self._book,
            )
            self.clinic.start(self.desk)
        # Before t = 0 the battery drained at the initial programme's mean rate (assumed).
        drain = self.flows.battery
        schedule = self.firmware.schedule
        mean_f = schedule.total / schedule.period_h
        self.battery.age(sc.pump.age, drain.alpha * mean_f + drain.beta)
        self.battery.arm(0.0)
        # t = 0: alarms already due, the first projection, then the first crossing.
        self.detectors.project_refill_due(0.0, schedule)
        self._refresh(0.0)
        self.clock.run(sc.duration)
        self._advance(sc.duration)
        self._record(sc.duration)
        if sc.duration not in self.snapshots:
            self._probe(sc.duration, sc.duration)
        res, cath = self.reservoir, self.catheter
        return RunOutput(
            scenario=sc,
            profile=self.profile,
            alarms=self.alarms,
            flags=self.flags,
            refills=self.refill.records,
            totals=self.totals,
            pump_log=self.logs.pump,
            physical_log=self.logs.physical,
            trajectory=Trajectory(self.pieces, self.csf.k_per_h),
            snapshots=self.snapshots,
            final={
                "reservoir_estimated_ml": res.est_ml,
                "reservoir_true_ml": res.true_ml,
                "catheter_ml": cath.content_ml(),
                "catheter_mcg": cath.content_mcg(),
                "reservoir_mcg": res.true_ml * res.conc_mcg_per_ml,
            },
            engine_events=self.engine_events,
            state={
                "risk_factors": self.risk_factors,
                "lra_ml": res.low_alarm_ml,
                "empty_ml": res.empty_alarm_ml,
            },
        )

    def _release(self) -> None:
        """Break the run's reference cycles (components and pending SimPy events point back
        at the engine), so a loop of runs leaves no cyclic garbage behind."""
        self.clock.release()
        self._handlers = {}
        self.desk = None

    def _record(self, t: float) -> None:
        """Keep the state after the last event at t (the series and trajectory derive from it)."""
        res, pieces = self.reservoir, self.pieces
        if pieces and pieces[-1].t_h == t:
            pieces.pop()
        pieces.append(
            Piece(t, res.est_ml, res.true_ml, self.csf.expected, self.csf.actual, self.flows,
                  self.firmware.schedule)
        )  # fmt: skip
