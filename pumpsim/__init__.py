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


#: The public names, loaded on first use from where they live.
_LAZY = {
    "load_scenario": "pumpsim.scenario.checked",
    "load_scenario_text": "pumpsim.scenario.checked",
    "Scenario": "pumpsim.scenario.checked",
    "simulate": "pumpsim.outputs.api",
    "Result": "pumpsim.outputs.result",
    "ScenarioError": "pumpsim.errors",
    "OutputError": "pumpsim.errors",
}


def __getattr__(name: str):
    # Lazy: `pumpsim --help` must not pay for pydantic, simpy and numpy. Looked up at each use
    # (not kept here), so that a test can patch a name where it lives.
    import importlib

    if name == "sweep":  # the package, which is also the function ``pumpsim.sweep(...)``
        value = importlib.import_module("pumpsim.studies.sweep")
    elif name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    else:
        raise AttributeError(f"module 'pumpsim' has no attribute {name!r}")
    return value
