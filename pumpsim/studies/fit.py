"""``pump: {accuracy: fit}`` (contract section 7): reconstruct what really happened between visits.

For each interval between two fills the pump's accuracy is fitted to the residual withdrawn at
the visit that ends it: the reservoir truly lost the volume injected less that residual, against
what the programme should have delivered (injected less the pump's expected residual)::

    accuracy = (injected - withdrawn) / (injected - expected) - 1

The first interval starts at t = 0 with ``initial_volume_ml`` as the volume injected; after the
last fill the last fitted accuracy continues. A withdrawn residual of 0 only bounds the accuracy
from below (the reservoir may have run dry at any time before the visit): the reconstruction uses
the larger of that bound and the previous interval's accuracy, and says so. An interval without a
recorded residual keeps the previous accuracy. The fitted accuracies are set on the run's Setup
(the initial accuracy and each fill event's), so the true reservoir passes through every
measurement and the safety flags are computed on that reconstruction. The fit makes its own
record (``Fitted``): the reconstructed Setup, the run's record and the intervals.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace
from typing import Any

from pumpsim.model.engine import Engine
from pumpsim.model.record import RefillRecord, RunRecord
from pumpsim.model.setup import Fill, Setup, fills
from pumpsim.scenario import schema
from pumpsim.scenario.resolve import setup_of

#: Reconstruction passes: the closed form is exact unless the pump's own estimate floors at
#: zero or a catheter fault holds drug back; a few linear corrections then close the gap.
_CORRECTIONS = 4
#: A residual within this of the recorded one is met (mL); a withdrawn 0 is "found dry".
RESIDUAL_MATCH_ML = 1e-6

#: The least programmed volume an interval needs for its accuracy to be measured (mL; assumed):
#: clinic records give residuals to 0.01 mL, so a shorter interval's ratio is rounding (two
#: refills a minute apart fitted -100 %); it carries the previous interval's accuracy instead.
MIN_FITTED_ML = 0.1

MEASURED, LOWER_BOUND, NOT_MEASURED = "measured", "lower_bound", "not_measured"


@dataclass
class IntervalFit:
    """The fitted accuracy of one interval between two fills."""

    start_h: float
    end_h: float
    end_event_index: int | None  # the fill that ends it, in ``Setup.events``
    ends_with_refill: bool
    injected_ml: float  # into the reservoir at the start of the interval
    withdrawn_ml: float | None  # recorded at the visit that ends it
    accuracy: float = 0.0
    basis: str = NOT_MEASURED
    programmed_ml: float | None = None  # injected less the pump's expected residual
    bound: float | None = None  # the lower bound from a zero residual
    out_of_spec: bool = False  # beyond the profile's accuracy specification
    spec_fraction: float = 0.0
    empty_at_h: float | None = None  # when the reconstructed reservoir ran dry, if it did

    @property
    def delivered_ml(self) -> float | None:
        """What truly left the reservoir (injected less withdrawn), when measured."""
        return None if self.withdrawn_ml is None else self.injected_ml - self.withdrawn_ml

    def refill_fields(self) -> dict[str, Any]:
        """What the result document adds to the refill that ends this interval."""
        return {
            "fitted_accuracy": self.accuracy,
            "accuracy_basis": self.basis,
            "accuracy_lower_bound": self.bound,
            "accuracy_out_of_spec": self.out_of_spec,
            "accuracy_spec_fraction": self.spec_fraction,
            "interval_start_h": self.start_h,
            "interval_programmed_ml": self.programmed_ml,
            "interval_delivered_ml": self.delivered_ml,
            "empty_at_h": self.empty_at_h,
        }


@dataclass
class Fitted:
    """A fitted replay: the reconstructed Setup, its run's record and the intervals."""

    setup: Setup
    record: RunRecord
    intervals: list[IntervalFit]


def withdrawn_at(sc: schema.ScenarioFile, t_h: float) -> tuple[int, float] | None:
    """(position in ``expect``, residual) of the withdrawn residual recorded at ``t_h``."""
    for i, exp in enumerate(sc.expect):
        if exp.residual_withdrawn_ml is not None and exp.at == t_h:
            return i, exp.residual_withdrawn_ml
    return None


def _intervals(sc: schema.ScenarioFile, bounds: list[Fill]) -> list[IntervalFit]:
    out = []
    for before, visit in itertools.pairwise(bounds):
        found = withdrawn_at(sc, visit.at_h) if visit.is_refill else None
        out.append(
            IntervalFit(
                start_h=before.at_h,
                end_h=visit.at_h,
                end_event_index=visit.event_index,
                ends_with_refill=visit.is_refill,
                injected_ml=before.into_ml,
                withdrawn_ml=None if found is None else found[1],
            )
        )
    return out


def _with_accuracies(setup: Setup, bounds: list[Fill], fits: list[IntervalFit]) -> Setup:
    """The Setup with the initial accuracy and each fill event's accuracy set: from a fill on,
    the accuracy of the interval it opens (the last one continues)."""
    events = list(setup.events)
    for k, fill in enumerate(bounds[1:]):
        assert fill.event_index is not None
        accuracy = fits[k + 1].accuracy if k + 1 < len(fits) else fits[k].accuracy
        events[fill.event_index] = replace(events[fill.event_index], accuracy=accuracy)
    first = fits[0].accuracy if fits else 0.0
    return replace(setup, accuracy=first, events=tuple(events))


def _refill(run: RunRecord, index: int | None) -> RefillRecord | None:
    return next((r for r in run.refills if r.event_index == index and not r.missed), None)


def fit(sc: schema.ScenarioFile) -> Fitted:
    """Fit every interval of a checked ``accuracy: fit`` scenario and run the reconstruction."""
    setup = setup_of(sc)
    bounds = fills(setup)
    intervals = _intervals(sc, bounds)
    # The pump's estimate does not depend on its accuracy: one run gives every expected residual.
    base = Engine(replace(setup, accuracy=0.0)).run()
    previous = 0.0
    for f, start in zip(intervals, bounds, strict=False):
        rec = _refill(base, f.end_event_index) if f.ends_with_refill else None
        if rec is not None:
            f.programmed_ml = start.told_ml - float(rec.expected_residual_ml)
        if f.withdrawn_ml is None or not f.programmed_ml or f.programmed_ml < MIN_FITTED_ML:
            f.accuracy, f.basis = previous, NOT_MEASURED
        else:
            ratio = (f.injected_ml - f.withdrawn_ml) / f.programmed_ml - 1.0
            if f.withdrawn_ml <= RESIDUAL_MATCH_ML:
                f.bound = ratio
                f.accuracy, f.basis = max(ratio, previous), LOWER_BOUND
            else:
                f.accuracy, f.basis = ratio, MEASURED
        previous = f.accuracy
    fitted = _with_accuracies(setup, bounds, intervals)
    run = Engine(fitted).run()
    for _ in range(_CORRECTIONS):
        if not _correct(run, intervals):
            break
        fitted = _with_accuracies(setup, bounds, intervals)
        run = Engine(fitted).run()
    _describe(run, intervals, setup.profile.accuracy_spec_fraction)
    return Fitted(fitted, run, intervals)


def _correct(run: RunRecord, intervals: list[IntervalFit]) -> bool:
    """Rescale each measured interval whose reconstructed residual misses the recorded one;
    whether any moved."""
    moved = False
    for f in intervals:
        if f.basis != MEASURED:
            continue
        rec = _refill(run, f.end_event_index)
        assert rec is not None and f.withdrawn_ml is not None
        got = float(rec.actual_residual_ml)
        if abs(got - f.withdrawn_ml) <= RESIDUAL_MATCH_ML or got <= 0.0:
            continue
        # True loss is (1 + a) x (what the mechanism moves at a = 0): rescale to match.
        moved_ml = (f.injected_ml - got) / (1.0 + f.accuracy)
        if moved_ml > 0:
            f.accuracy = (f.injected_ml - f.withdrawn_ml) / moved_ml - 1.0
            moved = True
    return moved


def _describe(run: RunRecord, intervals: list[IntervalFit], spec: float) -> None:
    """What the reconstruction shows for each interval: beyond the specification, and when the
    reservoir ran dry (at the visit at the latest, for a zero residual)."""
    empties = [e.t_h for e in run.physical_log if e.event == "reservoir_empty"]
    for f in intervals:
        f.out_of_spec = abs(f.accuracy) > spec + 1e-12
        f.spec_fraction = spec
        if not f.ends_with_refill:
            continue
        rec = _refill(run, f.end_event_index)
        dry = [t for t in empties if f.start_h < t <= f.end_h]
        if not dry and rec is not None and float(rec.actual_residual_ml) <= RESIDUAL_MATCH_ML:
            dry = [f.end_h]
        f.empty_at_h = dry[0] if dry else None


def accuracy_text(fraction: float | None) -> str:
    """``+26.7 %``."""
    if fraction is None or not math.isfinite(fraction):
        return "-"
    return f"{fraction * 100:+.1f} %"
