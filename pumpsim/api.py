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
    ``on_event(desk, event)`` that may book further events (see ``pumpsim.engine.Desk``). A
    scenario with a ``faults:`` section gets its fault streams, drawn from its seed.
    """
    if clinic is None and scenario.faults is not None:
        clinic = fault_streams(scenario)
    run = Engine(scenario, clinic=clinic).run()
    return Result(run=run, outcomes=evaluate(list(scenario.expect), run))


def fault_streams(scenario: Scenario) -> Any:
    """The fault streams a scenario's ``faults:`` section asks for (seeded by its ``seed``).

    Catheter faults, motor stalls and pump faults are booked as events; a catheter fault is
    repaired after ``repair_after``. No clinic visits are added (the scenario has its own).
    """
    from pumpsim.profile import load_device_profile
    from pumpsim.sweep.clinic import SyntheticClinic
    from pumpsim.sweep.faults import resolve_faults
    from pumpsim.sweep.streams import PatientStreams

    faults = resolve_faults(scenario.faults, load_device_profile(scenario.pump.profile))
    return SyntheticClinic(None, faults, PatientStreams(scenario.seed, 0), scenario.pump.age)
