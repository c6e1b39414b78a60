"""The safety detectors (contract section 4): when a flag opens or closes, and why.

* ``abrupt_discontinuation``: actual/expected CSF level below ``threshold`` (a crossing the
  coordinator schedules exactly), or a reprogramming cut of more than ``max_daily_reduction``;
* ``overdose_risk``: the ratio above ``1 + threshold``, or a pocket fill (``clinic.refill``);
* ``refill_due_after_empty``: the clinic's projection against the next booked refill;
* ``refill_discrepancy`` is raised by the refill procedure (``clinic.refill``).

Detectors read the components (what the pump shows, what is physically there) but never change
them; they only write flags.
"""

from __future__ import annotations

import math
from bisect import bisect_right, insort
from datetime import date, datetime
from typing import Any

from pumpsim.model.clock import Clock
from pumpsim.model.flags import Flag, FlagBook
from pumpsim.model.flows import Flows
from pumpsim.model.parts.alarms import AlarmBook
from pumpsim.model.parts.catheter import Catheter
from pumpsim.model.parts.csf import CsfLevels
from pumpsim.model.parts.drive import Drive
from pumpsim.model.parts.reservoir import Crossing, Reservoir
from pumpsim.model.schedule import Schedule
from pumpsim.model.units import HOURS_PER_DAY, SECONDS_PER_HOUR, hour_of_day


def project_alarm_h(
    schedule: Schedule, t_h: float, estimate_ml: float, level_ml: float, pump_mcg_per_ml: float
) -> float:
    """When the pump's estimate reaches ``level_ml`` under a programme, as a programmer projects
    it at a visit: from the estimate and the programme only (no boluses, stalls or PTM: the
    programmer cannot know them). inf: never. The one formula: the refill-due detector, the
    printed alarm date of a visit and the sweep's clinic all use it."""
    to_go = max(0.0, estimate_ml - level_ml)
    return schedule.time_to_amount(t_h, 1.0 / pump_mcg_per_ml, 0.0, to_go)


_SECONDS_PER_DAY = round(HOURS_PER_DAY * SECONDS_PER_HOUR)
#: Beyond this many hours (about 9,000 years) an instant is past every calendar (``date.max``).
_CALENDAR_END_H = 8e7


class Detectors:
    """Every flag rule, reading the components it names."""

    def __init__(
        self,
        flags: FlagBook,
        threshold: float,
        max_daily_reduction: float,
        severity: str,
        start: datetime,
        refill_times_h: list[float],
        alarms: AlarmBook,
        reservoir: Reservoir,
        drive: Drive,
        catheter: Catheter,
    ) -> None:
        self.flags = flags
        self.theta = threshold
        self.max_daily_reduction = max_daily_reduction
        self.severity = severity
        self.start = start
        self.clock = Clock.of(start).pump()  # the pump's own clock: no daylight-saving time
        # seconds from the start of the start's day on that clock (calendar days are counted
        # from there: the pump's clock keeps one UTC offset, so every day is 86,400 s)
        self._day_offset_s = round(hour_of_day(start) * SECONDS_PER_HOUR)
        self.refill_times_h = sorted(refill_times_h)  # the booked visits the clinic knows of
        self.alarms = alarms
        self.reservoir = reservoir
        self.drive = drive
        self.catheter = catheter

    # -- causes -------------------------------------------------------------------------------
    def abrupt_cause(self) -> str:
        """Why the spinal fluid is running dry, from the most to the least specific."""
        active = self.alarms.active
        res = self.reservoir
        if "eos" in active:
            return "end_of_service"
        if "critical_memory_error" in active or "low_battery_reset" in active:
            return "pump_fault"
        if self.drive.stalled:
            return "motor_stall"
        if res.true_ml <= 0.0:
            return "reservoir_empty"
        if "empty_reservoir" in active:
            return "minimum_rate"
        if self.catheter.faults:
            return "catheter"
        tip = self.catheter.tip_concentration(res.conc_mcg_per_ml)
        if tip != res.pump_conc_mcg_per_ml:
            return "catheter_transit" if tip != res.conc_mcg_per_ml else "concentration_mismatch"
        if self.drive.accuracy < 0:
            return "under_infusion"
        return "other"

    def overdose_cause(self) -> str:
        """Why more drug than expected reaches the spinal fluid."""
        res = self.reservoir
        tip = self.catheter.tip_concentration(res.conc_mcg_per_ml)
        if tip != res.pump_conc_mcg_per_ml:
            return "catheter_transit" if tip != res.conc_mcg_per_ml else "concentration_mismatch"
        if self.drive.accuracy > 0:
            return "over_infusion"
        return "other"

    def withdrawal_flag(self, t_h: float, cause: str, **details: Any) -> Flag:
        """An abrupt_discontinuation flag raised now (not yet recorded)."""
        return Flag(
            type="abrupt_discontinuation",
            start_h=t_h,
            end_h=None,
            cause=cause,
            alarmed=self.alarms.critical_active(),
            severity=self.severity,
            details=details,
        )

    # -- CSF ratio ----------------------------------------------------------------------------
    def crossings(
        self,
        t_h: float,
        end_h: float,
        csf: CsfLevels,
        schedule: Schedule,
        flows: Flows,
        out: list[Crossing],
    ) -> None:
        """Append when the CSF ratio next crosses the withdrawal or the overdose threshold."""
        exp_, act = flows.expected, flows.delivered
        open_ = self.flags.open
        hit = csf.crossing(
            schedule, t_h, end_h, exp_, act, self.theta, "abrupt_discontinuation" not in open_
        )
        if hit is not None:
            out.append((hit, "abrupt"))
        hit = csf.crossing(
            schedule, t_h, end_h, exp_, act, 1.0 + self.theta, "overdose_risk" in open_
        )
        if hit is not None:
            out.append((hit, "overdose"))

    def toggle_abrupt(self, t_h: float) -> None:
        """The ratio crossed the withdrawal threshold: open or close the flag."""
        if self.flags.is_open("abrupt_discontinuation"):
            self.flags.close("abrupt_discontinuation", t_h)
            return
        self.flags.raise_flag(
            self.withdrawal_flag(t_h, self.abrupt_cause(), ratio_threshold=self.theta)
        )

    def toggle_overdose(self, t_h: float) -> None:
        """The ratio crossed the overdose threshold: open or close the flag."""
        if self.flags.is_open("overdose_risk"):
            self.flags.close("overdose_risk", t_h)
            return
        self.flags.raise_flag(
            Flag(
                "overdose_risk",
                t_h,
                None,
                cause=self.overdose_cause(),
                alarmed=self.alarms.critical_active(),
            )
        )

    # -- programme and clinic rules -----------------------------------------------------------
    def check_programme_change(self, t_h: float, before: Schedule, after: Schedule) -> None:
        """The reprogramming rule for a change now from ``before`` (the programme in force
        24 h earlier) to ``after``: by daily dose when both are alike every day, else day by
        day."""
        if before.period_h == HOURS_PER_DAY and after.period_h == HOURS_PER_DAY:
            self.check_reduction(t_h, before.daily_dose_mcg, after.daily_dose_mcg)
        else:
            self.check_reduction_by_day(t_h, before, after)

    def check_reduction(self, t_h: float, reference_mcg: float, new_mcg: float) -> None:
        """The reprogramming rule: a cut of more than max_daily_reduction against the daily
        dose in force 24 h earlier (``reference_mcg``)."""
        limit = 1.0 - self.max_daily_reduction
        if reference_mcg > 0 and new_mcg < reference_mcg * limit * (1 - 1e-12):
            flag = self.withdrawal_flag(
                t_h,
                "reprogramming",
                daily_dose_before_mcg=reference_mcg,
                daily_dose_after_mcg=new_mcg,
                reduction=1.0 - new_mcg / reference_mcg,
            )
            flag.end_h = t_h  # an instant: the cut itself is the event
            self.flags.raise_flag(flag, keep_open=False)

    def check_reduction_by_day(self, t_h: float, before: Schedule, after: Schedule) -> None:
        """The reprogramming rule for weekday programmes (contract section 4): on each of the
        next 7 calendar days (from the day of the change), what ``after`` delivers against
        what ``before`` (the programme in force 24 h earlier) would have delivered that day.
        The flag reports the day with the deepest cut."""
        # midnight of the day of the change, on the wall clock of start: (offset or not)
        since_midnight_h = hour_of_day(self.start)
        day0_h = (
            math.floor((t_h + since_midnight_h) / HOURS_PER_DAY) * HOURS_PER_DAY - since_midnight_h
        )
        limit = 1.0 - self.max_daily_reduction
        worst: tuple[float, float, float, int] | None = None  # (reduction, before, after, day)
        for day in range(7):
            a = day0_h + day * HOURS_PER_DAY
            old = before.integral(a, a + HOURS_PER_DAY)
            new = after.integral(a, a + HOURS_PER_DAY)
            if old > 0 and new < old * limit * (1 - 1e-12):
                cut = 1.0 - new / old
                if worst is None or cut > worst[0]:
                    worst = (cut, old, new, day)
        if worst is None:
            return
        cut, old, new, day = worst
        flag = self.withdrawal_flag(
            t_h,
            "reprogramming",
            daily_dose_before_mcg=old,
            daily_dose_after_mcg=new,
            reduction=cut,
            day=self._date(day0_h + day * HOURS_PER_DAY).isoformat(),
        )
        flag.end_h = t_h  # an instant: the cut itself is the event
        self.flags.raise_flag(flag, keep_open=False)

    def know_visit(self, at_h: float) -> None:
        """A refill visit booked during the run (a reactive clinic): later projections compare
        with it as with the scenario's own refill events."""
        insort(self.refill_times_h, at_h)

    def project_refill_due(self, t_h: float, schedule: Schedule) -> None:
        """refill_due_after_empty (contract section 4), checked at t = 0 and at every refill
        event, missed or not: the pump's estimate and programme project the day the estimate
        reaches the empty-reservoir alarm; if the next refill event (the next booked visit)
        falls on a later calendar day, a flag opens now and ends at that visit. No later visit
        booked: no flag."""
        kind = "refill_due_after_empty"
        flag = self.flags.open.get(kind)
        if flag is not None:
            if t_h < flag.details["refill_at_h"]:
                return  # one flag while it is open (another check at the same instant)
            self.flags.close(kind, t_h)  # the visit it was about has come
        i = bisect_right(self.refill_times_h, t_h)
        if i == len(self.refill_times_h):
            return
        upcoming = self.refill_times_h[i]
        res = self.reservoir
        projected = project_alarm_h(
            schedule, t_h, res.est_ml, res.empty_alarm_ml, res.pump_conc_mcg_per_ml
        )
        # The programmer gives an alarm *date*: a refill on that date is not "after" it.
        if self._day(upcoming) > self._day(projected):
            self.flags.raise_flag(
                Flag(
                    kind,
                    t_h,
                    None,
                    details={"refill_at_h": upcoming, "projected_empty_alarm_h": projected},
                )
            )

    def _day(self, t_h: float) -> float:
        """The calendar day of scenario time t on the pump's clock, counted from the start's day
        (to the second, as ``_date`` rounds); inf for an instant beyond any calendar."""
        if not math.isfinite(t_h) or t_h > _CALENDAR_END_H:
            return math.inf
        return (round(t_h * SECONDS_PER_HOUR) + self._day_offset_s) // _SECONDS_PER_DAY

    def _date(self, t_h: float) -> date:
        """Calendar date of scenario time t (day-level comparisons); far future stays far."""
        wall = self.clock.wall(t_h)
        return date.max if wall is None else wall.date()
