"""Wire a scenario into a SimPy environment and run it, event by event.

Between two events every flow in the model is an affine function ``alpha*f(t) + beta`` of the
programme's dose rate ``f`` (see ``pumpsim.schedule``): the pump's programmed flow, the
mechanism's true flow, the catheter's flow, the drug reaching the spinal fluid, the expected
dose, the battery's drain. After each event the engine recomputes those coefficients and asks,
in closed form, when the next threshold is crossed (an alarm level, an empty reservoir, a drug
front reaching the catheter tip, the battery's ERI, a CSF ratio crossing); exactly that instant
is scheduled. Nothing is sampled on a clock.

Two truths are kept apart: ``est_ml``/``pump_conc`` (what the pump believes) and
``true_ml``/``reservoir_conc``/the catheter (what is physically there).
"""

from __future__ import annotations

import math
from bisect import bisect_right, insort
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

import simpy

from pumpsim.body.catheter import Catheter, Fault
from pumpsim.device.alarms import AlarmBook
from pumpsim.profile import DeviceProfile, load_device_profile, load_drug_profile
from pumpsim.safety.flags import Flag, FlagBook, risk_factors, severity
from pumpsim.scenario import schema
from pumpsim.schedule import Schedule
from pumpsim.units import HOURS_PER_DAY

_EPS_ML = 1e-9


def _setting(value: float | None, default: float) -> float:
    """A scenario override, or the profile's value when the scenario leaves it out."""
    return default if value is None else value


@dataclass
class Affine:
    """A flow ``alpha*f(t) + beta`` (f in mcg/h; the flow's own unit per hour)."""

    alpha: float = 0.0
    beta: float = 0.0

    def scaled(self, factor: float) -> Affine:
        """This flow times a constant."""
        return Affine(self.alpha * factor, self.beta * factor)


@dataclass(frozen=True)
class Flows:
    """Every flow between two events, for the state after the last one."""

    mode: str  # normal | minimum_rate | stalled | stopped
    expected: Affine  # mcg/h the programme asks for (with requested boluses)
    motor: Affine  # mL/h the pump is programmed to move
    est_debit: Affine  # mL/h taken off the estimate
    mech: Affine  # mL/h that truly leave the reservoir (and enter the catheter)
    delivered: Affine  # mcg/h reaching the intrathecal space
    battery: Affine  # battery fraction per hour
    tip_conc: float  # mcg/mL leaving the catheter tip
    leak: float  # share of the catheter flow reaching the intrathecal space


@dataclass(frozen=True)
class Piece:
    """The state just after an event and the flows until the next: enough to evaluate any
    instant in between in closed form (see ``Trajectory``)."""

    t_h: float
    est_ml: float
    true_ml: float
    csf_expected: float
    csf_actual: float
    flows: Flows
    schedule: Schedule


class Trajectory:
    """Exact values at any instant, from the pieces the engine recorded (no re-simulation)."""

    def __init__(self, pieces: list[Piece], k: float) -> None:
        self.pieces = pieces
        self.k = k
        self._starts = [p.t_h for p in pieces]

    def series(self) -> dict[str, list[float]]:
        """One row per engine event: the state just after it and the rates then in force."""
        cols: dict[str, list[float]] = {
            k: []
            for k in (
                "t_h",
                "estimated_ml",
                "true_ml",
                "programmed_ml_per_day",
                "delivered_mcg_per_day",
                "csf_expected",
                "csf_actual",
            )
        }
        for p in self.pieces:
            f_now = p.schedule.rate_at(p.t_h)
            motor, delivered = p.flows.motor, p.flows.delivered
            cols["t_h"].append(p.t_h)
            cols["estimated_ml"].append(p.est_ml)
            cols["true_ml"].append(p.true_ml)
            cols["programmed_ml_per_day"].append((motor.alpha * f_now + motor.beta) * HOURS_PER_DAY)
            cols["delivered_mcg_per_day"].append(
                (delivered.alpha * f_now + delivered.beta) * HOURS_PER_DAY
            )
            cols["csf_expected"].append(p.csf_expected)
            cols["csf_actual"].append(p.csf_actual)
        return cols

    def at(self, t_h: float) -> dict[str, float]:
        """Estimated and true volume, both CSF levels and their ratio at ``t_h``."""
        i = max(0, bisect_right(self._starts, t_h) - 1)
        p = self.pieces[i]
        fl = p.flows
        dt = t_h - p.t_h
        F = p.schedule.integral(p.t_h, t_h)
        est = max(0.0, p.est_ml - (fl.est_debit.alpha * F + fl.est_debit.beta * dt))
        true = max(0.0, p.true_ml - (fl.mech.alpha * F + fl.mech.beta * dt))
        sched = p.schedule
        exp_ = sched.level_at(
            p.csf_expected, p.t_h, t_h, fl.expected.alpha, fl.expected.beta, self.k
        )
        act = sched.level_at(
            p.csf_actual, p.t_h, t_h, fl.delivered.alpha, fl.delivered.beta, self.k
        )
        ratio = act / exp_ if exp_ > 0 else (1.0 if act <= 0 else math.inf)
        return {
            "estimated_ml": est,
            "true_ml": true,
            "csf_expected": exp_,
            "csf_actual": act,
            "csf_ratio": ratio,
        }


@dataclass
class Bolus:
    """An active bolus (clinician or PTM) on top of the programme."""

    source: str
    dose_mcg: float
    mcg_per_h: float
    start_h: float
    end_h: float


@dataclass
class _Token:
    cancelled: bool = False


@dataclass
class Totals:
    """Running totals: every mL and every mcg is somewhere."""

    programmed_mcg: float = 0.0  # expected input: programme + requested boluses
    pumped_programmed_ml: float = 0.0  # what the motor was told to move
    estimate_debited_ml: float = 0.0
    left_reservoir_ml: float = 0.0
    delivered_intrathecal_ml: float = 0.0
    delivered_intrathecal_mcg: float = 0.0
    delivered_elsewhere_ml: float = 0.0
    delivered_elsewhere_mcg: float = 0.0
    injected_ml: float = 0.0
    injected_mcg: float = 0.0
    pocket_ml: float = 0.0
    pocket_mcg: float = 0.0
    withdrawn_ml: float = 0.0
    withdrawn_mcg: float = 0.0


@dataclass
class Snapshot:
    """The state at one instant (for expectations that read a value ``at`` a time)."""

    t_h: float
    reservoir_estimated_ml: float
    reservoir_true_ml: float
    csf_ratio: float | None
    delivered_intrathecal_mcg: float
    programmed_mcg: float


@dataclass
class RunOutput:
    """Everything the engine observed; ``pumpsim.result`` turns it into the result document."""

    scenario: schema.Scenario
    profile: DeviceProfile
    alarms: AlarmBook
    flags: FlagBook
    refills: list[dict[str, Any]]
    totals: Totals
    pump_log: list[dict[str, Any]]
    physical_log: list[dict[str, Any]]
    trajectory: Trajectory
    snapshots: dict[float, Snapshot]
    final: dict[str, float]
    engine_events: int
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def series(self) -> dict[str, list[float]]:
        """Breakpoint columns, one row per engine event (derived from the trajectory)."""
        return self.trajectory.series()


# ----------------------------------------------------------------------------------------------
# The clinic hook: an outside policy (e.g. a sweep's synthetic clinic) that watches alarms and
# applied events and books further events. With ``clinic=None`` nothing of this runs.
# ----------------------------------------------------------------------------------------------
class Clinic(Protocol):
    """What ``Engine(scenario, clinic=...)`` calls. Every method may ``desk.book`` events."""

    def start(self, desk: Desk) -> None:
        """Called once at t = 0, before anything runs."""

    def on_alarm(self, desk: Desk, alarm: str) -> None:
        """An alarm was just raised (``desk.now_h`` is when)."""

    def on_event(self, desk: Desk, event: Any) -> None:
        """A scenario or booked event (the schema model) was just applied."""


class Desk:
    """The clinic's view of one running engine: the clock, the pump's size, and a diary."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.duration_h: float = engine.sc.duration

    @property
    def now_h(self) -> float:
        """The current scenario time (h)."""
        return float(self._engine.env.now)

    @property
    def reservoir_ml(self) -> float:
        """The reservoir size (mL) of the pump implanted now."""
        return self._engine.reservoir_ml

    def book(self, at_h: float, event: Any) -> None:
        """Apply a schema event at ``at_h`` as if it were a scenario event (its ``at`` is ignored).

        Booked events run after the scenario's own events at the same instant; an event beyond
        the duration is ignored; an instant before now is a programming error (ValueError).
        """
        self._engine._book(at_h, event)


class Engine:
    """One simulated patient with one pump, driven by a scenario (and optionally a clinic)."""

    def __init__(self, scenario: schema.Scenario, clinic: Clinic | None = None) -> None:
        sc = scenario
        self.sc = sc
        self.clinic = clinic
        self.desk: Desk | None = None
        self._applied: list[Any] = []
        self._booked = 0
        self.profile = load_device_profile(sc.pump.profile)
        prof = self.profile
        self.drug = load_drug_profile(sc.drug.name)
        self.env = simpy.Environment()

        pump = sc.pump
        self.lra_ml = _setting(pump.low_reservoir_alarm_ml, prof.low_reservoir_alarm_ml)
        self.empty_ml = _setting(pump.empty_reservoir_alarm_ml, prof.empty_reservoir_alarm_ml)
        self.min_rate_ml_per_h = (
            _setting(pump.min_rate_ml_per_day, prof.min_rate_ml_per_day) / HOURS_PER_DAY
        )
        self.eos_after_eri_h = _setting(pump.battery.eos_after_eri, prof.eos_after_eri_h)
        tone_h = _setting(pump.critical_tone_interval, prof.critical_tone_interval_h)
        self.alarms = AlarmBook(prof, tone_h)
        self.flags = FlagBook()
        half_life = _setting(sc.risk.csf_half_life, self.drug.csf_half_life_h)
        self.k = math.log(2.0) / half_life
        self.theta = sc.risk.threshold
        self.severity = severity(sc.patient)
        self.risk_factors = risk_factors(sc.patient)

        # Pump (belief) and reservoir (truth)
        self.reservoir_ml = pump.reservoir_ml
        self.true_ml = (
            pump.initial_volume_ml if pump.initial_volume_ml is not None else pump.reservoir_ml
        )
        self.est_ml = self.true_ml
        self.reservoir_conc = sc.drug.concentration_mcg_per_ml
        self.pump_conc = self.reservoir_conc
        self.accuracy = pump.accuracy
        self.catheter = Catheter(sc.catheter.volume_ml, self.reservoir_conc)
        self.totals = Totals()
        self.totals.injected_ml = self.true_ml + self.catheter.content_ml()
        self.totals.injected_mcg = self.true_ml * self.reservoir_conc + self.catheter.content_mcg()

        # Programme
        self.therapy = sc.therapy
        self.schedule = Schedule.from_therapy(sc.therapy, sc.start)
        self.programme_history: list[tuple[float, float]] = [(-math.inf, sc.therapy.daily_dose_mcg)]
        self.boluses: list[Bolus] = []
        self.ptm_granted_h: list[float] = []
        self.bridge_active = False

        # Motor, faults, battery
        self.stalled = False
        self.stall_until_h: float | None = None
        self.stall_token: _Token | None = None
        self.fault_flags: set[str] = set()
        self.implant_h = -pump.age
        self.battery_used = 0.0  # set in run(): the initial programme is assumed since implant
        self.explicit_eri_h = pump.battery.eri_at
        self.eri = False
        self.eos = False
        self.battery_tokens: list[_Token] = []

        # CSF levels (amounts, mcg): expected from the programme, actual from delivery.
        if sc.patient.established:
            level = self.schedule.steady_level(0.0, self.k)
            self.csf_exp = level
            self.csf_act = level
        else:
            self.csf_exp = 0.0
            self.csf_act = 0.0

        self.t_last = 0.0
        self.pump_log: list[dict[str, Any]] = []
        self.physical_log: list[dict[str, Any]] = []
        self.refills: list[dict[str, Any]] = []
        self.snapshots: dict[float, Snapshot] = {}
        self.pieces: list[Piece] = []
        self._front_slug: list[float] | None = None
        self.crossing_token: _Token | None = None
        self.crossing_at: tuple[float, str] | None = None
        self.engine_events = 0
        self._same_instant = (None, 0)
        self.refill_times = sorted(ev.at for ev in sc.events if isinstance(ev, schema.RefillEvent))

        self.flows = self._flows()

    # ------------------------------------------------------------------------------------------
    # Flows between events
    # ------------------------------------------------------------------------------------------
    def _delivery_mode(self) -> str:
        responses = self.alarms.responses()
        if "stop" in responses:
            return "stopped"
        if self.stalled or "no_flow" in responses:
            return "stalled"
        if "minimum_rate" in responses:
            return "minimum_rate"
        return "normal"

    def _flows(self) -> Flows:
        """Every flow as alpha*f + beta, for the state right now."""
        mode = self._delivery_mode()
        requested_bolus = sum(b.mcg_per_h for b in self.boluses)
        expected = Affine(1.0, requested_bolus)
        if mode == "normal":
            conc = self.pump_conc
            if self.bridge_active:
                conc = self.catheter.tip_concentration(self.reservoir_conc)
            motor = Affine(1.0 / conc, requested_bolus / conc)
        elif mode == "minimum_rate":
            motor = Affine(0.0, self.min_rate_ml_per_h)
        else:
            motor = Affine()
        est_debit = motor if self.est_ml > 0.0 else Affine()
        mech = motor.scaled((1.0 + self.accuracy) * self.catheter.retained_fraction())
        if self.true_ml <= 0.0:
            mech = Affine()
        tip_conc = self.catheter.tip_concentration(self.reservoir_conc)
        leak = self.catheter.leak_fraction()
        prof = self.profile
        battery = Affine(
            motor.alpha / prof.battery_volume_capacity_ml,
            1.0 / prof.battery_idle_longevity_h + motor.beta / prof.battery_volume_capacity_ml,
        )
        return Flows(
            mode=mode,
            expected=expected,
            motor=motor,
            est_debit=est_debit,
            mech=mech,
            delivered=mech.scaled(tip_conc * leak),
            battery=battery,
            tip_conc=tip_conc,
            leak=leak,
        )

    def _advance(self, t: float) -> None:
        """Integrate every flow from the last event to t (closed form)."""
        dt = t - self.t_last
        if dt <= 0.0:
            return
        fl = self.flows
        F = self.schedule.integral(self.t_last, t)

        def amount(a: Affine) -> float:
            return a.alpha * F + a.beta * dt

        tot = self.totals
        motor_ml = amount(fl.motor)
        tot.pumped_programmed_ml += motor_ml
        debit = min(amount(fl.est_debit), self.est_ml)
        self.est_ml -= debit
        tot.estimate_debited_ml += debit
        self.battery_used += amount(fl.battery)
        mech_ml = min(amount(fl.mech), self.true_ml)
        self.true_ml -= mech_ml
        tot.left_reservoir_ml += mech_ml
        tip_conc = fl.tip_conc
        leak = fl.leak
        tot.delivered_intrathecal_ml += mech_ml * leak
        tot.delivered_elsewhere_ml += mech_ml * (1.0 - leak)
        tot.delivered_intrathecal_mcg += mech_ml * tip_conc * leak
        tot.delivered_elsewhere_mcg += mech_ml * tip_conc * (1.0 - leak)
        self.catheter.push(mech_ml, self.reservoir_conc)
        expected = fl.expected
        tot.programmed_mcg += amount(expected)
        delivered = fl.delivered
        self.csf_exp = self.schedule.level_at(
            self.csf_exp, self.t_last, t, expected.alpha, expected.beta, self.k
        )
        self.csf_act = self.schedule.level_at(
            self.csf_act, self.t_last, t, delivered.alpha, delivered.beta, self.k
        )
        self.t_last = t

    # ------------------------------------------------------------------------------------------
    # Scheduling
    # ------------------------------------------------------------------------------------------
    def _at(self, t: float, fn, *args) -> _Token:
        """Run ``fn(*args)`` at scenario time t (unless the returned token is cancelled)."""
        token = _Token()
        ev = self.env.timeout(max(0.0, t - self.env.now))

        def fire(_ev: simpy.Event) -> None:
            if not token.cancelled:
                self._handle(fn, *args)

        ev.callbacks.append(fire)
        return token

    def _handle(self, fn, *args) -> None:
        t = self.env.now
        self.engine_events += 1
        last_t, n = self._same_instant
        n = n + 1 if last_t == t else 0
        self._same_instant = (t, n)
        if n > 10_000:  # pragma: no cover - a modelling bug, never a user error
            raise RuntimeError(f"engine stuck at t={t} h handling {fn.__name__}")
        self._advance(t)
        fn(*args)
        self._refresh(t)
        if self._applied:
            self._notify_applied()

    def _next_crossing(self, t: float) -> tuple[float, str] | None:
        fl = self.flows
        sched = self.schedule
        cands: list[tuple[float, str]] = []

        def when(flow: Affine, amount: float) -> float:
            return sched.time_to_amount(t, flow.alpha, flow.beta, amount)

        est = fl.est_debit
        if est.alpha > 0 or est.beta > 0:
            if "low_reservoir" not in self.alarms.active and self.est_ml > self.lra_ml:
                cands.append((when(est, self.est_ml - self.lra_ml), "estimate_low"))
            if "empty_reservoir" not in self.alarms.active and self.est_ml > self.empty_ml:
                cands.append((when(est, self.est_ml - self.empty_ml), "estimate_empty"))
            if self.est_ml > 0:
                cands.append((when(est, self.est_ml), "estimate_zero"))
        mech = fl.mech
        if (mech.alpha > 0 or mech.beta > 0) and self.true_ml > 0:
            cands.append((when(mech, self.true_ml), "true_empty"))
            front = self.catheter.front_volume_ml(self.reservoir_conc)
            if front is not None:
                self._front_slug = self.catheter.slugs[0]
                cands.append((when(mech, front), "catheter_front"))
        if not self.eri and self.explicit_eri_h is None:
            cands.append((when(fl.battery, max(0.0, 1.0 - self.battery_used)), "battery_eri"))
        end = self.sc.duration
        for kind in ("abrupt", "overdose"):
            hit = self._csf_crossing(t, end, kind)
            if hit is not None:
                cands.append((hit, kind))
        cands = [c for c in cands if c[0] <= end]
        return min(cands) if cands else None

    def _csf_crossing(self, t: float, end: float, kind: str) -> float | None:
        fl = self.flows
        exp_, act = fl.expected, fl.delivered
        if kind == "abrupt":
            w = self.theta
            g0 = self.csf_act - w * self.csf_exp
            a, b = act.alpha - w * exp_.alpha, act.beta - w * exp_.beta
            sign = -1.0 if self.flags.is_open("abrupt_discontinuation") else 1.0
        else:
            w = 1.0 + self.theta
            g0 = self.csf_act - w * self.csf_exp
            a, b = act.alpha - w * exp_.alpha, act.beta - w * exp_.beta
            sign = -1.0 if not self.flags.is_open("overdose_risk") else 1.0
        return self.schedule.first_zero_down(t, end, sign * g0, sign * a, sign * b, self.k)

    def _reschedule(self, t: float) -> None:
        nxt = self._next_crossing(t)
        if nxt == self.crossing_at and self.crossing_token and not self.crossing_token.cancelled:
            return
        if self.crossing_token is not None:
            self.crossing_token.cancelled = True
        self.crossing_at = nxt
        self.crossing_token = None
        if nxt is not None:
            self.crossing_token = self._at(nxt[0], self._on_crossing, nxt[1])

    def _on_crossing(self, kind: str) -> None:
        self.crossing_token = None
        self.crossing_at = None
        t = self.t_last
        # Snap the crossed quantity exactly onto its threshold (rounding must not re-fire it).
        if kind == "estimate_low":
            self.est_ml = min(self.est_ml, self.lra_ml)
        elif kind == "estimate_empty":
            self.est_ml = min(self.est_ml, self.empty_ml)
        elif kind == "estimate_zero":
            self.est_ml = 0.0
        elif kind == "true_empty":
            self.true_ml = 0.0
            self._physical(
                t, "reservoir_empty", note="the true reservoir is empty: no drug leaves the pump"
            )
        elif kind == "catheter_front":
            old = self._front_slug[1] if self._front_slug else None
            if self._front_slug is not None:
                self.catheter.drop_front(self._front_slug, self.reservoir_conc)
            self._physical(
                t,
                "catheter_front",
                from_mcg_per_ml=old,
                to_mcg_per_ml=self.catheter.tip_concentration(self.reservoir_conc),
            )
        elif kind == "battery_eri":
            self.battery_used = 1.0
            self._raise_eri(t)
        elif kind == "abrupt":
            self._toggle_abrupt(t)
        elif kind == "overdose":
            self._toggle_overdose(t)

    # ------------------------------------------------------------------------------------------
    # Bookkeeping after every event
    # ------------------------------------------------------------------------------------------
    def _refresh(self, t: float) -> None:
        changes = [
            ("low_reservoir", self.est_ml <= self.lra_ml + _EPS_ML),
            ("empty_reservoir", self.est_ml <= self.empty_ml + _EPS_ML),
            ("motor_stall", self.stalled),
            ("eri", self.eri),
            ("eos", self.eos),
            ("low_battery_reset", "low_battery_reset" in self.fault_flags),
            ("critical_memory_error", "critical_memory_error" in self.fault_flags),
        ]
        for name, on in changes:
            what = self.alarms.set(name, on, t)
            if what is not None:
                self._log(
                    t, f"alarm_{what}", alarm=name, priority=self.profile.alarms[name].priority
                )
                if what == "raised" and self.clinic is not None:
                    assert self.desk is not None
                    self.clinic.on_alarm(self.desk, name)
        if self.bridge_active and not self.catheter.holds_other_than(self.reservoir_conc):
            self.bridge_active = False
            self._log(t, "bridge_bolus_complete")
        self.flows = self._flows()
        self._record(t)
        self._reschedule(t)

    def _record(self, t: float) -> None:
        """Keep the state after the last event at t (the series and trajectory derive from it)."""
        if self.pieces and self.pieces[-1].t_h == t:
            self.pieces.pop()
        self.pieces.append(
            Piece(
                t, self.est_ml, self.true_ml, self.csf_exp, self.csf_act, self.flows, self.schedule
            )
        )

    def _log(self, t: float, name: str, /, **details: Any) -> None:
        """The pump's own event log: what the device records."""
        self.pump_log.append({"t_h": t, "event": name, **details})

    def _physical(self, t: float, name: str, /, **details: Any) -> None:
        """What physically happened, which the pump cannot see."""
        self.physical_log.append({"t_h": t, "event": name, **details})

    def ratio(self) -> float | None:
        """Actual/expected CSF level now (None when nothing is expected)."""
        if self.csf_exp <= 0.0:
            return None if self.csf_act <= 0.0 else math.inf
        return self.csf_act / self.csf_exp

    # ------------------------------------------------------------------------------------------
    # Flags
    # ------------------------------------------------------------------------------------------
    def _abrupt_cause(self) -> str:
        active = self.alarms.active
        if "eos" in active:
            return "end_of_service"
        if "critical_memory_error" in active or "low_battery_reset" in active:
            return "pump_fault"
        if self.stalled:
            return "motor_stall"
        if self.true_ml <= 0.0:
            return "reservoir_empty"
        if "empty_reservoir" in active:
            return "minimum_rate"
        if self.catheter.faults:
            return "catheter"
        tip = self.catheter.tip_concentration(self.reservoir_conc)
        if tip != self.pump_conc:
            return "catheter_transit" if tip != self.reservoir_conc else "concentration_mismatch"
        if self.accuracy < 0:
            return "under_infusion"
        return "other"

    def _overdose_cause(self) -> str:
        tip = self.catheter.tip_concentration(self.reservoir_conc)
        if tip != self.pump_conc:
            return "catheter_transit" if tip != self.reservoir_conc else "concentration_mismatch"
        if self.accuracy > 0:
            return "over_infusion"
        return "other"

    def _withdrawal_flag(self, t: float, cause: str, **details: Any) -> Flag:
        return Flag(
            type="abrupt_discontinuation",
            start_h=t,
            end_h=None,
            cause=cause,
            alarmed=self.alarms.critical_active(),
            severity=self.severity,
            details=details,
        )

    def _toggle_abrupt(self, t: float) -> None:
        if self.flags.is_open("abrupt_discontinuation"):
            self.flags.close("abrupt_discontinuation", t)
            return
        self.flags.raise_flag(
            self._withdrawal_flag(t, self._abrupt_cause(), ratio_threshold=self.theta)
        )

    def _toggle_overdose(self, t: float) -> None:
        if self.flags.is_open("overdose_risk"):
            self.flags.close("overdose_risk", t)
            return
        self.flags.raise_flag(
            Flag(
                "overdose_risk",
                t,
                None,
                cause=self._overdose_cause(),
                alarmed=self.alarms.critical_active(),
            )
        )

    def _check_reduction(self, t: float, therapy: schema.Therapy) -> None:
        """The reprogramming rule: a cut of more than max_daily_reduction against 24 h earlier."""
        before = [dose for (since, dose) in self.programme_history if since <= t - HOURS_PER_DAY]
        reference = before[-1] if before else self.programme_history[0][1]
        new = therapy.daily_dose_mcg
        limit = 1.0 - self.sc.risk.max_daily_reduction
        if reference > 0 and new < reference * limit * (1 - 1e-12):
            flag = self._withdrawal_flag(
                t,
                "reprogramming",
                daily_dose_before_mcg=reference,
                daily_dose_after_mcg=new,
                reduction=1.0 - new / reference,
            )
            flag.end_h = t  # an instant: the cut itself is the event
            self.flags.raise_flag(flag, keep_open=False)

    def _project_refill_due(self, t: float) -> None:
        """refill_due_after_empty: the next scheduled refill falls after the projected alarm."""
        upcoming = [r for r in self.refill_times if r > t]
        projected = self.schedule.time_to_amount(
            t, 1.0 / self.pump_conc, 0.0, max(0.0, self.est_ml - self.empty_ml)
        )
        # The programmer gives an alarm *date*: a refill on that date is not "after" it.
        late = bool(upcoming) and self._date(upcoming[0]) > self._date(projected)
        if late and not self.flags.is_open("refill_due_after_empty"):
            self.flags.raise_flag(
                Flag(
                    "refill_due_after_empty",
                    t,
                    None,
                    details={"refill_at_h": upcoming[0], "projected_empty_alarm_h": projected},
                )
            )
        elif late:
            self.flags.open["refill_due_after_empty"].details.update(
                refill_at_h=upcoming[0], projected_empty_alarm_h=projected
            )
        elif not late:
            self.flags.close("refill_due_after_empty", t)

    def _date(self, t: float) -> date:
        """Calendar date of scenario time t (for day-level comparisons); far future stays far."""
        try:
            return (self.sc.start + timedelta(hours=t)).date()
        except (OverflowError, ValueError):  # inf, or beyond year 9999
            return date.max

    # ------------------------------------------------------------------------------------------
    # Battery
    # ------------------------------------------------------------------------------------------
    def _arm_battery(self, t: float) -> None:
        for tok in self.battery_tokens:
            tok.cancelled = True
        self.battery_tokens = []
        hard_stop = self.implant_h + self.profile.hard_stop_life_h
        self.battery_tokens.append(self._at(max(t, hard_stop), self._on_hard_stop))
        if self.explicit_eri_h is not None:
            self.battery_tokens.append(self._at(max(t, self.explicit_eri_h), self._raise_eri, None))
        else:
            # However slowly the battery drains, the ERI warning precedes the hard stop by the
            # full ERI-to-EOS interval.
            latest_eri = hard_stop - self.eos_after_eri_h
            self.battery_tokens.append(self._at(max(t, latest_eri), self._raise_eri, None))

    def _raise_eri(self, t: float | None) -> None:
        t = self.t_last if t is None else t
        if self.eri:
            return
        self.eri = True
        self._physical(t, "battery_eri", battery_age_h=t - self.implant_h)
        eos_at = min(t + self.eos_after_eri_h, self.implant_h + self.profile.hard_stop_life_h)
        self.battery_tokens.append(self._at(eos_at, self._on_eos))

    def _on_eos(self) -> None:
        self.eos = True

    def _on_hard_stop(self) -> None:
        self.eri = True
        self.eos = True

    # ------------------------------------------------------------------------------------------
    # Scenario events
    # ------------------------------------------------------------------------------------------
    def _on_event(self, index: int, ev: Any) -> None:
        getattr(self, f"_ev_{ev.type}")(self.t_last, index, ev)
        if self.clinic is not None:
            self._applied.append(ev)

    def _notify_applied(self) -> None:
        """Tell the clinic about the events applied at this instant (after alarms settled)."""
        assert self.clinic is not None and self.desk is not None
        applied, self._applied = self._applied, []
        for ev in applied:
            self.clinic.on_event(self.desk, ev)

    def _book(self, at_h: float, ev: Any) -> None:
        now = self.env.now
        if at_h < now:
            raise ValueError(f"cannot book {ev.type} at {at_h} h: it is already {now} h")
        if at_h > self.sc.duration:
            return
        self._booked += 1
        if isinstance(ev, schema.RefillEvent):
            insort(self.refill_times, at_h)
        self._at(at_h, self._on_event, len(self.sc.events) + self._booked - 1, ev)

    def _set_therapy(self, t: float, therapy: schema.Therapy, reason: str) -> None:
        self._check_reduction(t, therapy)
        self.therapy = therapy
        self.schedule = Schedule.from_therapy(therapy, self.sc.start)
        self.programme_history.append((t, therapy.daily_dose_mcg))
        self._log(
            t,
            "programme_change",
            reason=reason,
            mode=therapy.mode,
            daily_dose_mcg=therapy.daily_dose_mcg,
        )

    def _ev_refill(self, t: float, index: int, ev: schema.RefillEvent) -> None:
        if ev.missed:
            self.refills.append(
                {
                    "at_h": t,
                    "missed": True,
                    "expected_residual_ml": None,
                    "actual_residual_ml": None,
                    "discrepancy_ml": None,
                }
            )
            self._log(t, "refill_missed")
            return
        assert ev.volume_ml is not None
        expected, actual = self.est_ml, self.true_ml
        discrepancy = actual - expected
        tot = self.totals
        tot.withdrawn_ml += actual
        tot.withdrawn_mcg += actual * self.reservoir_conc
        limit = self.profile.discrepancy_threshold_ml(self.reservoir_ml)
        if abs(discrepancy) > limit:
            self.flags.raise_flag(
                Flag(
                    "refill_discrepancy",
                    t,
                    t,
                    cause="more_than_expected" if discrepancy > 0 else "less_than_expected",
                    details={
                        "discrepancy_ml": discrepancy,
                        "limit_ml": limit,
                        "interpretation": (
                            "more drug left than the pump expected: under-delivery (stall, "
                            "occlusion) or a programming error"
                            if discrepancy > 0
                            else "less drug left than the pump expected: over-infusion or a "
                            "leak from the reservoir"
                        ),
                    },
                ),
                keep_open=False,
            )
        conc = ev.concentration_mcg_per_ml or self.reservoir_conc
        pocket_ml = ev.volume_ml * ev.pocket_fraction
        into_ml = ev.volume_ml - pocket_ml
        tot.injected_ml += ev.volume_ml
        tot.injected_mcg += ev.volume_ml * conc
        tot.pocket_ml += pocket_ml
        tot.pocket_mcg += pocket_ml * conc
        if pocket_ml > 0:
            self.flags.raise_flag(
                Flag(
                    "overdose_risk",
                    t,
                    t,
                    cause="pocket_fill",
                    alarmed=self.alarms.critical_active(),
                    details={"pocket_ml": pocket_ml, "pocket_mcg": pocket_ml * conc},
                ),
                keep_open=False,
            )
            self._physical(t, "pocket_fill", pocket_ml=pocket_ml, pocket_mcg=pocket_ml * conc)
        self.true_ml = into_ml
        self.est_ml = ev.volume_ml
        old_conc = self.reservoir_conc
        self.reservoir_conc = conc
        if ev.update_pump_concentration:
            self.pump_conc = conc
        self.refills.append(
            {
                "at_h": t,
                "missed": False,
                "expected_residual_ml": expected,
                "actual_residual_ml": actual,
                "discrepancy_ml": discrepancy,
                "volume_ml": ev.volume_ml,
                "concentration_mcg_per_ml": conc,
                "pocket_ml": pocket_ml,
            }
        )
        self._log(
            t,
            "refill",
            volume_ml=ev.volume_ml,
            concentration_mcg_per_ml=conc,
            pump_concentration_mcg_per_ml=self.pump_conc,
            expected_residual_ml=expected,
        )
        if ev.bridge_bolus and self.catheter.holds_other_than(conc):
            self.bridge_active = True
            self._log(
                t,
                "bridge_bolus_started",
                catheter_ml=self.catheter.content_ml(),
                catheter_mcg=self.catheter.content_mcg(),
            )
        if conc != old_conc:
            self._physical(t, "concentration_change", from_mcg_per_ml=old_conc, to_mcg_per_ml=conc)
        if ev.therapy is not None:
            self._set_therapy(t, ev.therapy, "refill")
        self._project_refill_due(t)

    def _ev_reprogram(self, t: float, index: int, ev: schema.ReprogramEvent) -> None:
        self._set_therapy(t, ev.therapy, "reprogram")
        self._project_refill_due(t)

    def _add_bolus(self, t: float, source: str, dose_mcg: float, duration_h: float) -> None:
        bolus = Bolus(source, dose_mcg, dose_mcg / duration_h, t, t + duration_h)
        self.boluses.append(bolus)
        self._log(t, f"{source}_bolus_started", dose_mcg=dose_mcg, duration_h=duration_h)
        self._at(bolus.end_h, self._end_bolus, bolus)

    def _end_bolus(self, bolus: Bolus) -> None:
        if bolus in self.boluses:
            self.boluses.remove(bolus)
            self._log(self.t_last, f"{bolus.source}_bolus_ended", dose_mcg=bolus.dose_mcg)

    def _ev_bolus(self, t: float, index: int, ev: schema.BolusEvent) -> None:
        self._add_bolus(t, "clinician", ev.dose_mcg, ev.duration)

    def _ev_ptm_bolus(self, t: float, index: int, ev: schema.PtmBolusEvent) -> None:
        ptm = self.therapy.ptm
        reason = None
        if ptm is None:
            reason = "no_ptm_programmed"
        elif self._delivery_mode() != "normal":
            reason = "pump_not_delivering"
        elif self.ptm_granted_h and t - self.ptm_granted_h[-1] < ptm.lockout:
            reason = "lockout"
        elif sum(1 for g in self.ptm_granted_h if t - g < HOURS_PER_DAY) >= ptm.max_per_day:
            reason = "daily_limit"
        if reason is not None:
            self._log(t, "ptm_refused", reason=reason)
            return
        assert ptm is not None
        self.ptm_granted_h.append(t)
        duration = ptm.duration if ptm.duration is not None else self.profile.ptm_bolus_duration_h
        self._add_bolus(t, "ptm", ptm.dose_mcg, duration)

    def _ev_catheter_fault(self, t: float, index: int, ev: schema.CatheterFaultEvent) -> None:
        until = None if ev.duration is None else t + ev.duration
        fault = Fault(ev.kind, ev.fraction, t, until)
        self.catheter.add_fault(fault)
        self._physical(
            t, "catheter_fault", kind=ev.kind, delivered_fraction=ev.fraction, until_h=until
        )
        if until is not None:
            self._at(until, self._end_fault, fault)

    def _end_fault(self, fault: Fault) -> None:
        if fault in self.catheter.faults:
            self.catheter.remove_fault(fault)
            self._physical(self.t_last, "catheter_fault_ended", kind=fault.kind)

    def _ev_catheter_repair(self, t: float, index: int, ev: schema.CatheterRepairEvent) -> None:
        self.catheter.repair()
        self._physical(t, "catheter_repair")

    def _stall(self, t: float, until: float | None, reason: str) -> None:
        if self.stalled and self.stall_until_h is None:
            return  # already stalled for good
        if self.stalled and until is not None and self.stall_until_h is not None:
            until = max(until, self.stall_until_h)
        if self.stall_token is not None:
            self.stall_token.cancelled = True
            self.stall_token = None
        self.stalled = True
        self.stall_until_h = until
        self._physical(t, "motor_stopped", reason=reason, until_h=until)
        if until is not None:
            self.stall_token = self._at(until, self._unstall)

    def _unstall(self) -> None:
        self.stalled = False
        self.stall_until_h = None
        self.stall_token = None
        self._physical(self.t_last, "motor_turning")

    def _ev_mri(self, t: float, index: int, ev: schema.MriEvent) -> None:
        self._stall(t, t + ev.duration + ev.recovery_delay, "mri")

    def _ev_motor_stall(self, t: float, index: int, ev: schema.MotorStallEvent) -> None:
        self._stall(t, None if ev.duration is None else t + ev.duration, "motor_stall")

    def _ev_pump_fault(self, t: float, index: int, ev: schema.PumpFaultEvent) -> None:
        self.fault_flags.add(ev.kind)
        self._physical(t, "pump_fault", kind=ev.kind)

    def _ev_pump_replacement(self, t: float, index: int, ev: schema.PumpReplacementEvent) -> None:
        tot = self.totals
        tot.withdrawn_ml += self.true_ml
        tot.withdrawn_mcg += self.true_ml * self.reservoir_conc
        tot.injected_ml += ev.volume_ml
        tot.injected_mcg += ev.volume_ml * self.reservoir_conc
        if ev.reservoir_ml is not None:
            self.reservoir_ml = ev.reservoir_ml
        self.true_ml = ev.volume_ml
        self.est_ml = ev.volume_ml
        self.pump_conc = self.reservoir_conc
        self.accuracy = ev.accuracy
        if self.stall_token is not None:
            self.stall_token.cancelled = True
        self.stalled = False
        self.stall_until_h = None
        self.stall_token = None
        self.fault_flags.clear()
        self.boluses.clear()
        self.bridge_active = False
        self.implant_h = t
        self.battery_used = 0.0
        self.explicit_eri_h = None
        self.eri = False
        self.eos = False
        # A new pump starts silent: alarms of the old one end here (and re-raise if still due).
        for name in list(self.alarms.active):
            self.alarms.set(name, False, t)
            self._log(t, "alarm_cleared", alarm=name, priority=self.profile.alarms[name].priority)
        self._log(t, "pump_replacement", reservoir_ml=self.reservoir_ml, volume_ml=ev.volume_ml)
        self._arm_battery(t)
        self._project_refill_due(t)

    def _probe(self, at: float) -> None:
        self.snapshots[at] = Snapshot(
            t_h=at,
            reservoir_estimated_ml=self.est_ml,
            reservoir_true_ml=self.true_ml,
            csf_ratio=self.ratio(),
            delivered_intrathecal_mcg=self.totals.delivered_intrathecal_mcg,
            programmed_mcg=self.totals.programmed_mcg,
        )

    # ------------------------------------------------------------------------------------------
    def run(self) -> RunOutput:
        """Simulate from t = 0 to the scenario's duration."""
        sc = self.sc
        for index, ev in sc.sorted_events():
            self._at(ev.at, self._on_event, index, ev)
        for at in sorted({e.at for e in sc.expect if e.at is not None}):
            if at <= sc.duration:
                self._at(at, self._probe, at)
        if self.clinic is not None:
            self.desk = Desk(self)
            self.clinic.start(self.desk)
        # Before t = 0 the battery drained at the initial programme's mean rate (assumed).
        drain = self.flows.battery
        mean_f = self.schedule.total / self.schedule.period_h
        self.battery_used = self.sc.pump.age * (drain.alpha * mean_f + drain.beta)
        self._arm_battery(0.0)
        # t = 0: alarms already due, the first projection, then the first crossing.
        self._project_refill_due(0.0)
        self._refresh(0.0)
        end = self.env.timeout(sc.duration)
        self.env.run(until=end)
        self._advance(sc.duration)
        self._record(sc.duration)
        if sc.duration not in self.snapshots:
            self._probe(sc.duration)
        return RunOutput(
            scenario=sc,
            profile=self.profile,
            alarms=self.alarms,
            flags=self.flags,
            refills=self.refills,
            totals=self.totals,
            pump_log=self.pump_log,
            physical_log=self.physical_log,
            trajectory=Trajectory(self.pieces, self.k),
            snapshots=self.snapshots,
            final={
                "reservoir_estimated_ml": self.est_ml,
                "reservoir_true_ml": self.true_ml,
                "catheter_ml": self.catheter.content_ml(),
                "catheter_mcg": self.catheter.content_mcg(),
                "reservoir_mcg": self.true_ml * self.reservoir_conc,
            },
            engine_events=self.engine_events,
            state={
                "risk_factors": self.risk_factors,
                "lra_ml": self.lra_ml,
                "empty_ml": self.empty_ml,
            },
        )
