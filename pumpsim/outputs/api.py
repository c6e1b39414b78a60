"""The library entry point: simulate a checked scenario."""

from __future__ import annotations

from typing import Any

from pumpsim.errors import ScenarioError
from pumpsim.model.engine import Engine
from pumpsim.outputs.expectations import evaluate
from pumpsim.outputs.findings import findings
from pumpsim.outputs.result import Result
from pumpsim.scenario.checks import clock_notes, faulty_pump_notes
from pumpsim.scenario.schema import Scenario


def simulate(scenario: Scenario, clinic: Any = None) -> Result:
    """Run one scenario to its end and check its expectations.

    The scenario must have passed every check (``pumpsim.load_scenario``,
    ``pumpsim.Scenario.from_dict`` or ``Scenario.with_values``); anything else is refused with
    a ScenarioError, so that no device limit is skipped.
    With ``pump: {accuracy: fit}`` the accuracy of every interval between refills is first
    fitted to the recorded residuals (``pumpsim.studies.fit``), and the reconstruction is run.
    ``clinic``: an optional reactive clinic with ``start(desk)``, ``on_alarm(desk, alarm)`` and
    ``on_event(desk, event)`` that books events as the run goes (see ``pumpsim.model.desk``);
    None runs the scenario's own events only. A scenario with a ``faults:`` section gets its
    fault streams, drawn from its seed.
    """
    if not isinstance(scenario, Scenario) or not scenario.checked:
        raise ScenarioError(
            "simulate() needs a checked scenario: build it with pumpsim.load_scenario, "
            "pumpsim.Scenario.from_dict or scenario.with_values (Scenario.model_validate and "
            "model_copy(update=...) skip the device checks)"
        )
    if scenario.pump.accuracy == "fit":
        if clinic is not None or scenario.faults is not None:
            raise ScenarioError(
                "a fitted replay (pump.accuracy: fit) takes no fault streams or reactive clinic",
                path=("pump", "accuracy"),
            )
        from pumpsim.studies.fit import simulate_fitted

        fitted = simulate_fitted(scenario)
        fitted.notes.extend(clock_notes(scenario))
        fitted.outcomes.extend(findings(fitted, scenario.fail_on))
        return fitted
    if scenario.faults is not None:
        if clinic is not None:
            raise ScenarioError(
                "a scenario with faults: draws its own fault streams; pass no clinic= with it "
                "(a sweep's synthetic clinic draws the faults itself)",
                path=("faults",),
            )
        clinic = fault_streams(scenario)
    run = Engine(scenario, clinic=clinic).run()
    result = Result(
        run=run,
        outcomes=evaluate(list(scenario.expect), run),
        notes=faulty_pump_notes(scenario) + clock_notes(scenario),
    )
    result.outcomes.extend(findings(result, scenario.fail_on))  # strict mode (section 11)
    return result


def fault_streams(scenario: Scenario) -> Any:
    """The fault streams a scenario's ``faults:`` section asks for (seeded by its ``seed``).

    Catheter faults, motor stalls and pump faults are booked as events; a catheter fault is
    repaired after ``repair_after``. No clinic visits are added (the scenario has its own).
    """
    from pumpsim.scenario.faults import resolve_faults
    from pumpsim.scenario.profiles import load_device_profile
    from pumpsim.studies.sweep.clinic import SyntheticClinic
    from pumpsim.studies.sweep.streams import PatientStreams

    faults = resolve_faults(scenario.faults, load_device_profile(scenario.pump.profile))
    return SyntheticClinic(None, faults, PatientStreams(scenario.seed, 0), scenario.pump.age)
