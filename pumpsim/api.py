"""The library entry point: simulate a validated scenario."""

from __future__ import annotations

from typing import Any

from pumpsim.engine import Engine
from pumpsim.result import Result
from pumpsim.scenario.expectations import evaluate
from pumpsim.scenario.schema import Scenario


def simulate(scenario: Scenario, clinic: Any = None) -> Result:
    """Run one scenario to its end and check its expectations.

    ``clinic`` (optional) is an object with ``start(desk)``, ``on_alarm(desk, alarm)`` and
    ``on_event(desk, event)`` that may book further events (see ``pumpsim.engine.Desk``).
    """
    run = Engine(scenario, clinic=clinic).run()
    return Result(run=run, outcomes=evaluate(list(scenario.expect), run))
