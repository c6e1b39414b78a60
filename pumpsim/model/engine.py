"""The coordinator: wire one run's parts to one clock, run it, and make the run's record.

Each part owns its state, its flows between events and its next threshold crossing (see
``docs/architecture.md``): the reservoir's two truths, the drive, the battery, the firmware
(programme, boluses, alarms), the catheter, the CSF levels, the refill procedure and the safety
detectors. Between events every flow is ``alpha*f(t) + beta`` of the programme's rate
(``pumpsim.model.flows``) and the state follows one closed form (``pumpsim.model.segment``).
After each event the coordinator recomposes the flows, asks every part when it next crosses a
threshold, and makes an appointment for exactly the earliest instant. Nothing is sampled on a
clock. The engine reads a ``Setup`` (``pumpsim.model.setup``), never the scenario.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pumpsim.model.agenda import Agenda, Token
from pumpsim.model.assembly import assemble
from pumpsim.model.collector import collector_paused
from pumpsim.model.composition import compose
from pumpsim.model.crossings import Crossings
from pumpsim.model.desk import Clinic, Desk
from pumpsim.model.flows import Flows
from pumpsim.model.logbook import Logbook
from pumpsim.model.parts.drive import Drive
from pumpsim.model.procedures.replacement import replace_pump
from pumpsim.model.record import ConcentrationSpan, Final, PumpSpan, RunRecord
from pumpsim.model.segment import Segment, Trajectory
from pumpsim.model.setup import EVENT_TYPES, Programme, Refill, Setup
from pumpsim.model.units import HOURS_PER_DAY

__all__ = ["Engine"]

#: More threshold crossings than this at one instant, with no other event between them, means
#: a modelling bug (a crossing re-firing); any number of scenario events may share an instant.
_STUCK_CROSSINGS = 10_000


class Engine:
    """One simulated patient with one pump, driven by a Setup (and optionally a clinic)."""

    def __init__(self, setup: Setup, clinic: Clinic | None = None) -> None:
        self.setup = setup
        self.clinic = clinic
        self.clock = Agenda(self._handle)
        self.logs = Logbook()
        p = assemble(setup, self.clock.at, self.logs)
        self.alarms, self.flags, self.totals = p.alarms, p.flags, p.totals
        self.reservoir, self.drive, self.battery = p.reservoir, p.drive, p.battery
        self.catheter, self.firmware, self.csf = p.catheter, p.firmware, p.csf
        self.detectors, self.refill = p.detectors, p.refill
        self.crossings = Crossings(
            setup.duration_h, self.reservoir, self.catheter, self.battery, self.detectors, self.csf
        )
        self.t_last = 0.0
        self.segments: list[Segment] = []
        res = self.reservoir
        self.pumps = [PumpSpan(0.0, res.size_ml, self.drive.accuracy)]
        self.concentrations = [
            ConcentrationSpan(0.0, res.conc_mcg_per_ml, res.pump_conc_mcg_per_ml)
        ]
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
        """Move every part from the last event to t along the current segment (closed form)."""
        if t <= self.t_last:
            return
        step = self.segments[-1].step(t)
        fl, tot, res = self.flows, self.totals, self.reservoir
        F, dt = step.amount_f, step.dt_h
        tot.pumped_programmed_ml += fl.motor.alpha * F + fl.motor.beta * dt
        tot.estimate_debited_ml += step.est_debit_ml
        res.est_ml -= step.est_debit_ml
        self.battery.used += fl.battery.alpha * F + fl.battery.beta * dt
        was_ml = res.true_ml
        res.true_ml -= step.left_ml
        if res.true_ml <= 0.0 < was_ml:
            self._ran_dry(t)
        tot.deliver(step.left_ml, fl.tip_conc, fl.leak)
        self.catheter.push(step.left_ml, res.conc_mcg_per_ml)
        tot.programmed_mcg += step.programmed_mcg
        self.csf.expected, self.csf.actual = step.csf_expected, step.csf_actual
        self.t_last = t

    # -- the clock ----------------------------------------------------------------------------
    def _feed(self) -> None:
        """Put the timeline's next event on the clock (one pending at a time)."""
        item = next(self._timeline, None)
        if item is not None:
            index, ev = item
            self.clock.at_exactly(ev.at_h, self._on_scenario_event, ev, index, first=True)

    def _on_scenario_event(self, t: float, ev: Any, index: int) -> None:
        self._feed()
        self._on_event(t, ev, index)

    def _handle(self, fn: Callable[..., None], args: tuple) -> None:
        t = self.clock.now
        self.engine_events += 1
        if getattr(fn, "__func__", None) is _CROSSING:
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
        if self.flags.unsettled:
            self.flags.settle(self.alarms.critical_active())
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
        nxt = self.crossings.next(t, self.flows, self.firmware.schedule, self.alarms.active)
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
            was_ml = self.reservoir.true_ml
            self.reservoir.snap(kind)
            if kind == "true_empty" and was_ml > 0.0:
                self._ran_dry(t)

    def _ran_dry(self, t: float) -> None:
        """The true reservoir reached zero (at its crossing, or within a grid step of it at
        another event then): logged once."""
        note = "the true reservoir is empty: no drug leaves the pump"
        self.logs.world(t, "reservoir_empty", note=note)

    # -- events -------------------------------------------------------------------------------
    def _on_event(self, t: float, ev: Any, index: int | None) -> None:
        getattr(self, _HANDLERS[ev.type])(t, ev, index)
        self._applied = ev

    def _ev_reprogram(self, t: float, ev: Any, index: int | None) -> None:
        self._program(t, ev.programme, "reprogram")

    def _ev_bolus(self, t: float, ev: Any, index: int | None) -> None:
        self.firmware.add_bolus(t, "clinician", ev.dose_mcg, ev.duration_h)

    def _ev_ptm_bolus(self, t: float, ev: Any, index: int | None) -> None:
        self.firmware.request_ptm(t, self._mode())

    def _ev_catheter_fault(self, t: float, ev: Any, index: int | None) -> None:
        self.catheter.start_fault(
            t, ev.kind, ev.delivered_fraction, ev.duration_h, self.clock.at, self.logs
        )

    def _ev_catheter_repair(self, t: float, ev: Any, index: int | None) -> None:
        self.catheter.repair(t, self.logs)

    def _ev_mri(self, t: float, ev: Any, index: int | None) -> None:
        self.drive.stall(t, t + ev.duration_h + ev.recovery_delay_h, "mri")

    def _ev_motor_stall(self, t: float, ev: Any, index: int | None) -> None:
        until = None if ev.duration_h is None else t + ev.duration_h
        self.drive.stall(t, until, "motor_stall")

    def _ev_pump_fault(self, t: float, ev: Any, index: int | None) -> None:
        self.firmware.fault(t, ev.kind)

    def _program(self, t: float, programme: Programme, reason: str) -> None:
        fw = self.firmware
        schedule = programme.schedule(self.setup.start)
        day_before = t - HOURS_PER_DAY
        self.detectors.check_programme_change(t, fw.schedule_in_force(day_before), schedule)
        fw.program(t, programme, reason)

    def _ev_refill(self, t: float, ev: Refill, index: int | None) -> None:
        if ev.missed:
            self.refill.missed(t, index)
        else:
            self.refill.perform(t, ev, index)
            if ev.programme is not None:
                self._program(t, ev.programme, "refill")
        self.detectors.project_refill_due(t, self.firmware.schedule)

    def _ev_pump_replacement(self, t: float, ev: Any, index: int | None) -> None:
        replace_pump(
            t, ev, self.reservoir, self.drive, self.firmware, self.battery, self.totals, self.logs
        )
        self.battery.arm(t)

    # -- the run ------------------------------------------------------------------------------
    def _book(self, at_h: float, event: Any) -> None:
        """A clinic's booking: applied like a scenario event; a booked refill is a visit the
        clinic knows of from now on (the refill-due projection compares with it)."""
        if event.type == "refill":
            self.detectors.know_visit(at_h)
        self.clock.at_exactly(at_h, self._on_event, event, None)

    def run(self) -> RunRecord:
        """Simulate from t = 0 to the end; the run's record."""
        with collector_paused():  # cost linear in events (see pumpsim.model.collector)
            try:
                return self._run()
            finally:
                self._release()

    def _run(self) -> RunRecord:
        s = self.setup
        # The events are fed one at a time (a short queue however long the timeline), each
        # ahead of anything else due at its instant, in time order (ties in file order).
        self._timeline = iter(enumerate(s.events))
        self._feed()
        if self.clinic is not None:
            self.desk = Desk(
                s.duration_h,
                lambda: self.clock.now,
                lambda: self.reservoir.size_ml,
                self._book,
            )
            self.clinic.start(self.desk)
        # Before t = 0 the battery drained at the initial programme's mean rate (assumed).
        drain = self.flows.battery
        schedule = self.firmware.schedule
        mean_f = schedule.total / schedule.period_h
        self.battery.age(s.age_h, drain.alpha * mean_f + drain.beta)
        self.battery.arm(0.0)
        # t = 0: alarms already due, the first projection, then the first crossing.
        self.detectors.project_refill_due(0.0, schedule)
        self._refresh(0.0)
        self.clock.run(s.duration_h)
        self._advance(s.duration_h)
        self._record(s.duration_h)
        return self._record_of_run()

    def _record_of_run(self) -> RunRecord:
        res, cath = self.reservoir, self.catheter
        programmes = self.firmware.programmes
        programmes[0].start_h = 0.0  # in force from before t = 0: the record starts at t = 0
        return RunRecord(
            setup=self.setup,
            pump_log=self.logs.pump,
            physical_log=self.logs.physical,
            alarms=self.alarms.history,
            flags=self.flags.history,
            catheter_faults=cath.spans,
            programmes=programmes,
            concentrations=self.concentrations,
            pumps=self.pumps,
            refills=self.refill.records,
            trajectory=Trajectory(self.segments),
            totals=self.totals,
            final=Final(
                reservoir_estimated_ml=res.est_ml,
                reservoir_true_ml=res.true_ml,
                catheter_ml=cath.content_ml(),
                catheter_mcg=cath.content_mcg(),
                reservoir_mcg=res.true_ml * res.conc_mcg_per_ml,
            ),
            engine_events=self.engine_events,
        )

    def _release(self) -> None:
        """Break the run's reference cycles (parts and pending appointments point back at the
        engine), so a loop of runs leaves no cyclic garbage behind."""
        self.clock.release()
        self.desk = None

    def _record(self, t: float) -> None:
        """Keep the state after the last event at t: its segment, and any new span of the
        pump in place or of the concentrations."""
        res, segments, tot = self.reservoir, self.segments, self.totals
        if segments and segments[-1].t_h == t:
            segments.pop()
        segments.append(
            Segment(t, res.est_ml, res.true_ml, self.csf.expected, self.csf.actual,
                    tot.programmed_mcg, tot.delivered_intrathecal_mcg, self.flows,
                    self.firmware.schedule, self.csf.k_per_h)
        )  # fmt: skip
        pump = self.pumps[-1]
        if pump.reservoir_ml != res.size_ml or pump.accuracy != self.drive.accuracy:
            pump.end_h = t
            self.pumps.append(PumpSpan(t, res.size_ml, self.drive.accuracy))
        conc = self.concentrations[-1]
        if (
            conc.reservoir_mcg_per_ml != res.conc_mcg_per_ml
            or conc.pump_mcg_per_ml != res.pump_conc_mcg_per_ml
        ):
            conc.end_h = t
            self.concentrations.append(
                ConcentrationSpan(t, res.conc_mcg_per_ml, res.pump_conc_mcg_per_ml)
            )


#: The method that applies each type of event.
_HANDLERS = {kind: f"_ev_{kind}" for kind in EVENT_TYPES}
_CROSSING = Engine._on_crossing
