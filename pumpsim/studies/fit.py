"""``pump: {accuracy: fit}`` (contract section 7): reconstruct what really happened between visits.

For each interval between two refills the pump's accuracy is fitted to the residual withdrawn at
the visit that ends it: the reservoir truly lost the volume injected less that residual, against
what the programme should have delivered (injected less the pump's expected residual)::

    accuracy = (injected - withdrawn) / (injected - expected) - 1

The first interval starts at t = 0 with ``initial_volume_ml`` as the volume injected; after the
last refill the last fitted accuracy continues. A withdrawn residual of 0 only bounds the accuracy
from below (the reservoir may have run dry at any time before the visit): the reconstruction uses
the larger of that bound and the previous interval's accuracy, and says so. An interval without a
recorded residual keeps the previous accuracy. The fitted accuracies go into the refill events
(the engine's ``accuracy`` hook), so the true reservoir passes through every measurement and the
safety flags are computed on that reconstruction.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from pumpsim.errors import ScenarioError
from pumpsim.outputs.visits import SAME_INSTANT_H, refill_at
from pumpsim.scenario import schema
from pumpsim.scenario.profiles import load_device_profile

#: Reconstruction passes: the closed form is exact unless the pump's own estimate floors at
#: zero or a catheter fault holds drug back; a few linear corrections then close the gap.
_CORRECTIONS = 4
_RESIDUAL_MATCH_ML = 1e-6

MEASURED, LOWER_BOUND, NOT_MEASURED = "measured", "lower_bound", "not_measured"


@dataclass
class IntervalFit:
    """The fitted accuracy of one interval between two visits."""

    start_h: float
    end_h: float
    ends_with_refill: bool
    injected_ml: float  # into the reservoir at the start of the interval
    withdrawn_ml: float | None  # recorded at the visit that ends it
    accuracy: float = 0.0
    basis: str = NOT_MEASURED
    programmed_ml: float | None = None  # injected less the pump's expected residual
    bound: float | None = None  # the lower bound from a zero residual

    @property
    def delivered_ml(self) -> float | None:
        """What truly left the reservoir (injected less withdrawn), when measured."""
        return None if self.withdrawn_ml is None else self.injected_ml - self.withdrawn_ml


@dataclass(frozen=True)
class _Boundary:
    index: int | None  # event index, None for t = 0
    t_h: float
    injected_true_ml: float
    injected_est_ml: float
    is_refill: bool


def is_fit(scenario: schema.Scenario) -> bool:
    """Whether the scenario asks for ``accuracy: fit``."""
    return scenario.pump.accuracy == "fit"


def _boundaries(sc: schema.Scenario) -> list[_Boundary]:
    initial = sc.pump.initial_volume_ml
    v0 = sc.pump.reservoir_ml if initial is None else initial
    out = [_Boundary(None, 0.0, v0, v0, False)]
    for index, ev in sc.sorted_events():
        if isinstance(ev, schema.RefillEvent) and not ev.missed:
            assert ev.volume_ml is not None
            into = ev.volume_ml * (1.0 - ev.pocket_fraction)
            out.append(_Boundary(index, ev.at, into, ev.volume_ml, True))
        elif isinstance(ev, schema.PumpReplacementEvent):
            out.append(_Boundary(index, ev.at, ev.volume_ml, ev.volume_ml, False))
    return out


def _withdrawn_at(sc: schema.Scenario, t_h: float) -> tuple[int, float] | None:
    for i, exp in enumerate(sc.expect):
        if (
            exp.residual_withdrawn_ml is not None
            and exp.at is not None
            and abs(exp.at - t_h) <= SAME_INSTANT_H
        ):
            return i, exp.residual_withdrawn_ml
    return None


def check_fit_inputs(sc: schema.Scenario) -> None:
    """Refuse residuals no accuracy can explain (more withdrawn than was put in).

    Raises ScenarioError with the key path of the offending ``expect`` entry.
    """
    if not is_fit(sc):
        return
    bounds = _boundaries(sc)
    for before, visit in itertools.pairwise(bounds):
        found = _withdrawn_at(sc, visit.t_h) if visit.is_refill else None
        if found is not None and found[1] > before.injected_true_ml + _RESIDUAL_MATCH_ML:
            raise ScenarioError(
                f"{found[1]:g} mL withdrawn is more than the {before.injected_true_ml:g} mL put "
                "into the reservoir at the previous visit: no pump accuracy explains it",
                path=("expect", found[0], "residual_withdrawn_ml"),
            )


def _intervals(sc: schema.Scenario) -> list[IntervalFit]:
    bounds = _boundaries(sc)
    out = []
    for before, visit in itertools.pairwise(bounds):
        found = _withdrawn_at(sc, visit.t_h) if visit.is_refill else None
        out.append(
            IntervalFit(
                start_h=before.t_h,
                end_h=visit.t_h,
                ends_with_refill=visit.is_refill,
                injected_ml=before.injected_true_ml,
                withdrawn_ml=None if found is None else found[1],
            )
        )
    return out


def _with_accuracies(sc: schema.Scenario, first: float, after: dict[int, float]) -> Any:
    """The scenario with the pump's initial accuracy and each boundary event's accuracy set."""
    events = list(sc.events)
    for index, accuracy in after.items():
        events[index] = events[index].model_copy(update={"accuracy": accuracy})
    pump = sc.pump.model_copy(update={"accuracy": first})
    return sc.model_copy(update={"pump": pump, "events": events})


def _assign(sc: schema.Scenario, fits: list[IntervalFit]) -> Any:
    bounds = _boundaries(sc)
    first = fits[0].accuracy if fits else 0.0
    after: dict[int, float] = {}
    for k, boundary in enumerate(bounds[1:]):
        assert boundary.index is not None
        # From this visit on: the accuracy of the interval it opens (the last one continues).
        after[boundary.index] = fits[k + 1].accuracy if k + 1 < len(fits) else fits[k].accuracy
    return _with_accuracies(sc, first, after)


def fit_scenario(sc: schema.Scenario) -> tuple[schema.Scenario, list[IntervalFit]]:
    """The reconstructed scenario (numeric accuracies in place of ``fit``) and the fits."""
    fitted, fits, _ = _fit(sc)
    return fitted, fits


def _fit(sc: schema.Scenario) -> tuple[schema.Scenario, list[IntervalFit], Any]:
    """Fit, and return the reconstruction's run too (the last verification run is final)."""
    from pumpsim.model.engine import Engine

    check_fit_inputs(sc)
    fits = _intervals(sc)
    # The pump's estimate does not depend on its accuracy: one run gives every expected residual.
    base = Engine(_with_accuracies(sc, 0.0, {})).run()
    previous = 0.0
    for fit in fits:
        rec = refill_at(base, fit.end_h) if fit.ends_with_refill else None
        if rec is not None:
            bounds_est = _injected_estimate(sc, fit.start_h)
            fit.programmed_ml = bounds_est - float(rec["expected_residual_ml"])
        if fit.withdrawn_ml is None or not fit.programmed_ml or fit.programmed_ml <= 0:
            fit.accuracy, fit.basis = previous, NOT_MEASURED
        else:
            ratio = (fit.injected_ml - fit.withdrawn_ml) / fit.programmed_ml - 1.0
            if fit.withdrawn_ml <= _RESIDUAL_MATCH_ML:
                fit.bound = ratio
                fit.accuracy, fit.basis = max(ratio, previous), LOWER_BOUND
            else:
                fit.accuracy, fit.basis = ratio, MEASURED
        previous = fit.accuracy
    fitted = _assign(sc, fits)
    run = None
    for _ in range(_CORRECTIONS):
        run = Engine(fitted).run()
        moved = False
        for fit in fits:
            if fit.basis != MEASURED:
                continue
            rec = refill_at(run, fit.end_h)
            assert rec is not None and fit.withdrawn_ml is not None
            got = float(rec["actual_residual_ml"])
            if abs(got - fit.withdrawn_ml) <= _RESIDUAL_MATCH_ML or got <= 0.0:
                continue
            # True loss is (1 + a) x (what the mechanism moves at a = 0): rescale to match.
            moved_ml = (fit.injected_ml - got) / (1.0 + fit.accuracy)
            if moved_ml > 0:
                fit.accuracy = (fit.injected_ml - fit.withdrawn_ml) / moved_ml - 1.0
                moved = True
        if not moved:
            return fitted, fits, run
        fitted = _assign(sc, fits)
        run = None
    return fitted, fits, run if run is not None else Engine(fitted).run()


def _injected_estimate(sc: schema.Scenario, t_h: float) -> float:
    for b in _boundaries(sc):
        if abs(b.t_h - t_h) <= SAME_INSTANT_H:
            return b.injected_est_ml
    raise AssertionError("no boundary at the interval start")  # pragma: no cover


def annotate_refills(run: Any, fits: list[IntervalFit], profile_name: str) -> None:
    """Add each interval's fit to the refill record that ends it (in place)."""
    spec = load_device_profile(profile_name).accuracy_spec_fraction
    empties = [e["t_h"] for e in run.physical_log if e["event"] == "reservoir_empty"]
    for fit in fits:
        if not fit.ends_with_refill:
            continue
        rec = refill_at(run, fit.end_h)
        if rec is None:  # pragma: no cover - every refill boundary has a record
            continue
        dry = [t for t in empties if fit.start_h < t <= fit.end_h]
        if not dry and float(rec["actual_residual_ml"]) <= _RESIDUAL_MATCH_ML:
            dry = [fit.end_h]  # dry at the visit at the latest (the zero-residual bound)
        rec.update(
            {
                "fitted_accuracy": fit.accuracy,
                "accuracy_basis": fit.basis,
                "accuracy_lower_bound": fit.bound,
                "accuracy_out_of_spec": abs(fit.accuracy) > spec + 1e-12,
                "accuracy_spec_fraction": spec,
                "interval_start_h": fit.start_h,
                "interval_programmed_ml": fit.programmed_ml,
                "interval_delivered_ml": fit.delivered_ml,
                "empty_at_h": dry[0] if dry else None,
            }
        )


def simulate_fitted(scenario: schema.Scenario) -> Any:
    """Fit, reconstruct and check a scenario with ``accuracy: fit``; returns a Result."""
    from pumpsim.outputs.expectations import evaluate
    from pumpsim.outputs.result import Result

    fitted, fits, run = _fit(scenario)
    annotate_refills(run, fits, scenario.pump.profile)
    return Result(run=run, outcomes=evaluate(list(fitted.expect), run))


def accuracy_text(fraction: float | None) -> str:
    """``+26.7 %``."""
    if fraction is None or not math.isfinite(fraction):
        return "-"
    return f"{fraction * 100:+.1f} %"
