"""The library entry point: simulate a validated scenario."""

from __future__ import annotations

from pumpsim.engine import Engine
from pumpsim.result import Result
from pumpsim.scenario.expectations import evaluate
from pumpsim.scenario.schema import Scenario


def simulate(scenario: Scenario) -> Result:
    """Run one scenario to its end and check its expectations.

    With ``pump: {accuracy: fit}`` the accuracy of every interval between refills is first
    fitted to the recorded residuals (``pumpsim.clinic.fit``), and the reconstruction is run.
    """
    if scenario.pump.accuracy == "fit":
        from pumpsim.clinic.fit import simulate_fitted

        return simulate_fitted(scenario)
    run = Engine(scenario).run()
    return Result(run=run, outcomes=evaluate(list(scenario.expect), run))
