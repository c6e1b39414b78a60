"""The library entry point: simulate a checked scenario and check its expectations."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from pumpsim.errors import ScenarioError
from pumpsim.model.engine import Engine
from pumpsim.outputs.findings import findings
from pumpsim.outputs.result import Result
from pumpsim.outputs.verdicts import evaluate
from pumpsim.scenario.checked import Scenario
from pumpsim.scenario.faults import resolve_faults
from pumpsim.scenario.resolve import event as model_event
from pumpsim.scenario.resolve import setup_of
from pumpsim.studies.fit import fit
from pumpsim.studies.sweep.clinic import fault_streams


def simulate(scenario: Scenario, clinic: Any = None) -> Result:
    """Run one scenario to its end and check its expectations.

    The scenario must have passed every check (``pumpsim.load_scenario``,
    ``pumpsim.Scenario.from_dict`` or ``Scenario.with_values``); anything else is refused with
    a ScenarioError, so that no device limit is skipped.
    With ``pump: {accuracy: fit}`` the accuracy of every interval between refills is first
    fitted to the recorded residuals (``pumpsim.studies.fit``), and the reconstruction is run.
    ``clinic``: an optional reactive clinic with ``start(desk)``, ``on_alarm(desk, alarm)`` and
    ``on_event(desk, event)`` that books events as the run goes (see ``pumpsim.model.desk``;
    it may book the scenario's own event models, e.g. ``pumpsim.scenario.schema.RefillEvent``,
    or the model's); None runs the scenario's own events only. A scenario with a ``faults:``
    section gets its fault streams, drawn from its seed.
    """
    if not isinstance(scenario, Scenario) or not scenario.checked:
        raise ScenarioError(
            "simulate() needs a checked scenario: build it with pumpsim.load_scenario, "
            "pumpsim.Scenario.from_dict or scenario.with_values (Scenario.model_validate and "
            "model_copy(update=...) skip the device checks)"
        )
    setup = setup_of(scenario)
    if scenario.pump.accuracy == "fit":
        if clinic is not None or scenario.faults is not None:
            raise ScenarioError(
                "a fitted replay (pump.accuracy: fit) takes no fault streams or reactive clinic",
                path=("pump", "accuracy"),
            )
        fitted = fit(scenario)
        result = Result(
            run=fitted.record,
            scenario=scenario,
            outcomes=evaluate(list(scenario.expect), fitted.record),
            fits=fitted.intervals,
            notes=list(fitted.setup.notes),
        )
        result.outcomes.extend(findings(result, scenario.fail_on))  # strict mode (section 11)
        return result
    if scenario.faults is not None:
        if clinic is not None:
            raise ScenarioError(
                "a scenario with faults: draws its own fault streams; pass no clinic= with it "
                "(a sweep's synthetic clinic draws the faults itself)",
                path=("faults",),
            )
        clinic = fault_streams(resolve_faults(scenario.faults, setup.profile), setup, scenario.seed)
    elif clinic is not None:
        clinic = _ScenarioEvents(clinic, setup.profile)
    run = Engine(setup, clinic=clinic).run()
    result = Result(
        run=run,
        scenario=scenario,
        outcomes=evaluate(list(scenario.expect), run),
        notes=list(setup.notes),
    )
    result.outcomes.extend(findings(result, scenario.fail_on))  # strict mode (section 11)
    return result


class _ScenarioEvents:
    """A user's reactive clinic, which may book the scenario's event models (pydantic): each is
    turned into the model's event as it is booked."""

    def __init__(self, clinic: Any, profile: Any) -> None:
        self._clinic = clinic
        self._profile = profile

    def start(self, desk: Any) -> None:
        self._clinic.start(_Desk(desk, self._profile))

    def on_alarm(self, desk: Any, alarm: str) -> None:
        self._clinic.on_alarm(_Desk(desk, self._profile), alarm)

    def on_event(self, desk: Any, event: Any) -> None:
        self._clinic.on_event(_Desk(desk, self._profile), event)


class _Desk:
    """The engine's desk, booking scenario event models as the model's events."""

    def __init__(self, desk: Any, profile: Any) -> None:
        self._desk = desk
        self._profile = profile

    def __getattr__(self, name: str) -> Any:
        return getattr(self._desk, name)

    def book(self, at_h: float, event: Any) -> None:
        """Book an event (a scenario event model or the model's own) at ``at_h``."""
        if isinstance(event, BaseModel):  # a scenario (pydantic) event
            event = model_event(event, self._profile)
        self._desk.book(at_h, event)
