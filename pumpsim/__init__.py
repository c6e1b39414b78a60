"""pumpsim: an event-driven simulator of implantable intrathecal baclofen pumps.

>>> import pumpsim
>>> scenario = pumpsim.load_scenario("scenarios/missed-refill.yaml")   # doctest: +SKIP
>>> result = pumpsim.simulate(scenario)                                 # doctest: +SKIP
>>> result.to_dict()["passed"]                                          # doctest: +SKIP
True
>>> variant = scenario.with_values({"pump.accuracy": 0.1})              # doctest: +SKIP

Scenarios built in code (``pumpsim.Scenario.from_dict(mapping)``, ``scenario.with_values``) get
every check a YAML file gets, device-profile limits included; ``simulate`` refuses any other.
Bad input raises ``ScenarioError`` (one line: file, key path, line); an output that cannot be
written raises ``OutputError``.
"""

from __future__ import annotations

from pumpsim.version import __version__

__all__ = [
    "OutputError",
    "Result",
    "Scenario",
    "ScenarioError",
    "__version__",
    "load_scenario",
    "load_scenario_text",
    "simulate",
    "sweep",
]


def __getattr__(name: str):
    # Lazy: `pumpsim --help` must not pay for pydantic, simpy and numpy.
    if name in ("load_scenario", "load_scenario_text"):
        from pumpsim.scenario import checked

        return getattr(checked, name)
    if name == "simulate":
        from pumpsim.outputs.api import simulate

        return simulate
    if name == "sweep":
        import importlib

        return importlib.import_module("pumpsim.studies.sweep")
    if name == "Result":
        from pumpsim.outputs.result import Result

        return Result
    if name == "Scenario":
        from pumpsim.scenario.checked import Scenario

        return Scenario
    if name == "ScenarioError":
        from pumpsim.errors import ScenarioError

        return ScenarioError
    if name == "OutputError":
        from pumpsim.errors import OutputError

        return OutputError
    raise AttributeError(f"module 'pumpsim' has no attribute {name!r}")
