"""The catheter: dead volume with plug flow, and its silent faults (contract 3.3).

The catheter is a queue of drug slugs (volume, concentration) from the pump end to the tip.
What leaves the tip is what entered ``volume_ml`` earlier, so after a concentration change the
old drug comes out first. Fluid is incompressible: the tip flow equals the inflow at every
instant; only the concentration lags.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pumpsim.model.logbook import Logbook
from pumpsim.model.setup import RETAINING_FAULTS


@dataclass(slots=True)
class FaultSpan:
    """A catheter fault, from its start to its end (None: still on at the end of the run)."""

    kind: str
    delivered_fraction: float
    start_h: float
    end_h: float | None = None
    ended_by: str | None = None  # "duration" | "repair" | "replacement" | None


@dataclass
class Fault:
    """An active catheter fault and its span in the record."""

    kind: str
    delivered_fraction: float
    since_h: float
    until_h: float | None
    span: FaultSpan

    @property
    def retains(self) -> bool:
        """Occlusion and kink hold the undelivered share back in the reservoir."""
        return self.kind in RETAINING_FAULTS


class Catheter:
    """Plug-flow dead volume plus the set of active faults."""

    def __init__(self, volume_ml: float, concentration_mcg_per_ml: float) -> None:
        self.volume_ml = volume_ml
        #: The slug whose end the next ``catheter_front`` crossing was computed for.
        self.front_slug: list[float] | None = None
        # Slugs from tip (left) to pump end (right): [volume_ml, concentration].
        self.slugs: deque[list[float]] = deque()
        #: how many times a slug came or went (the front's crossing must be asked again)
        self.jumps = 0
        if volume_ml > 0:
            self.slugs.append([volume_ml, concentration_mcg_per_ml])
        self.faults: list[Fault] = []
        #: every fault of the run, in order of onset (the record's spans)
        self.spans: list[FaultSpan] = []

    # -- contents ------------------------------------------------------------------------------
    def tip_concentration(self, reservoir_conc: float) -> float:
        """Concentration now leaving the tip (the reservoir's when there is no dead volume)."""
        return self.slugs[0][1] if self.slugs else reservoir_conc

    def content_mcg(self) -> float:
        """Drug held in the catheter."""
        return sum(v * c for v, c in self.slugs)

    def content_ml(self) -> float:
        """Fluid held in the catheter (its dead volume)."""
        return sum(v for v, _ in self.slugs)

    def front_volume_ml(self, reservoir_conc: float) -> float | None:
        """Volume still to push before the tip concentration changes; None if it never will.

        The next drug at the tip is the next slug's, or the reservoir's once the catheter has
        been flushed through.
        """
        if not self.slugs:
            return None
        if len(self.slugs) < 2 and self.slugs[0][1] == reservoir_conc:
            return None
        return self.slugs[0][0]

    def arm_front(self) -> None:
        """Remember which slug the next front crossing belongs to."""
        self.front_slug = self.slugs[0]

    def front_reached(self, t_h: float, reservoir_conc: float, logs: Logbook) -> None:
        """The boundary behind the armed slug reached the tip: the tip concentration changes."""
        slug = self.front_slug
        old = slug[1] if slug else None
        if slug is not None:
            self.drop_front(slug, reservoir_conc)
        logs.world(
            t_h,
            "catheter_front",
            from_mcg_per_ml=old,
            to_mcg_per_ml=self.tip_concentration(reservoir_conc),
        )

    def holds_other_than(self, conc: float) -> bool:
        """Whether any slug differs from ``conc`` (a bridge bolus is still needed)."""
        return any(c != conc for _, c in self.slugs)

    def push(self, volume_ml: float, conc_in: float) -> None:
        """Move ``volume_ml`` in at the pump end; as much leaves the tip.

        The caller integrates what left the tip at the tip concentration: the engine schedules
        an event whenever a slug boundary reaches the tip, so between events the tip
        concentration is constant.
        """
        if not self.slugs or volume_ml <= 0:
            return
        if self.slugs[-1][1] == conc_in:
            self.slugs[-1][0] += volume_ml
        else:
            self.slugs.append([volume_ml, conc_in])
            self.jumps += 1
        remaining = volume_ml
        while remaining > 0 and self.slugs:
            tip = self.slugs[0]
            if tip[0] > remaining:
                tip[0] -= remaining
                remaining = 0.0
            else:
                remaining -= tip[0]
                self.slugs.popleft()
                self.jumps += 1

    def drop_front(self, slug: list[float], conc_in: float) -> None:
        """The boundary behind ``slug`` reached the tip: drop what rounding left of it.

        The residue (rounding dust) joins the next slug so the dead volume stays exact.
        """
        self.jumps += 1
        if self.slugs and self.slugs[0] is slug:
            dust = self.slugs.popleft()
            if self.slugs:
                self.slugs[0][0] += dust[0]
            else:
                self.slugs.append([dust[0], conc_in])

    # -- faults -------------------------------------------------------------------------------
    def start_fault(
        self,
        t_h: float,
        kind: str,
        delivered_fraction: float,
        duration_h: float | None,
        at: Callable[..., Any],
        logs: Logbook,
    ) -> None:
        """A silent fault starts now (and ends after ``duration_h``, if given)."""
        until = None if duration_h is None else t_h + duration_h
        span = FaultSpan(kind, delivered_fraction, t_h)
        self.spans.append(span)
        fault = Fault(kind, delivered_fraction, t_h, until, span)
        self.add_fault(fault)
        logs.world(
            t_h, "catheter_fault", kind=kind, delivered_fraction=delivered_fraction, until_h=until
        )
        if until is not None:
            at(until, self._end_fault, fault, logs)

    def _end_fault(self, t_h: float, fault: Fault, logs: Logbook) -> None:
        if fault in self.faults:
            self.remove_fault(fault)
            fault.span.end_h, fault.span.ended_by = t_h, "duration"
            logs.world(t_h, "catheter_fault_ended", kind=fault.kind)

    def add_fault(self, fault: Fault) -> None:
        """Start a fault; several may be active at once (their fractions multiply)."""
        self.faults.append(fault)

    def remove_fault(self, fault: Fault) -> None:
        """End one fault (its duration ran out)."""
        if fault in self.faults:
            self.faults.remove(fault)

    def repair(self, t_h: float, logs: Logbook) -> None:
        """End every fault."""
        for fault in self.faults:
            fault.span.end_h, fault.span.ended_by = t_h, "repair"
        self.faults.clear()
        logs.world(t_h, "catheter_repair")

    def retained_fraction(self) -> float:
        """Share of the mechanism's output that leaves the reservoir (occlusion, kink hold back)."""
        share = 1.0
        for fault in self.faults:
            if fault.retains:
                share *= fault.delivered_fraction
        return share

    def leak_fraction(self) -> float:
        """Share of the catheter's flow that reaches the intrathecal space (the rest is lost)."""
        share = 1.0
        for fault in self.faults:
            if not fault.retains:
                share *= fault.delivered_fraction
        return share
