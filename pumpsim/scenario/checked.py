"""The scenario people build and run, and its checked constructors.

``Scenario`` is the scenario file's schema (``schema.ScenarioFile``) plus the constructors that
apply every check, device-profile limits included, and mark the result as checked:
``load_scenario`` (a YAML file), ``load_scenario_text`` (YAML text), ``Scenario.from_dict``
(a mapping shaped like the YAML) and ``scenario.with_values`` (a cheap checked variant).
``pumpsim.simulate`` refuses a scenario without that mark.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pumpsim.scenario.build import scenario_from_dict, with_values
from pumpsim.scenario.loader import parse_scenario
from pumpsim.scenario.schema import ScenarioFile
from pumpsim.scenario.yamlsafe import load_yaml_file, load_yaml_text


class Scenario(ScenarioFile):
    """A scenario: build one with ``pumpsim.load_scenario`` (YAML), ``Scenario.from_dict`` (a
    mapping shaped like the YAML) or ``scenario.with_values`` (a checked variant).

    ``Scenario.model_validate`` applies the schema only and skips the device checks: such a
    scenario is not checked, and ``pumpsim.simulate`` refuses it.
    """

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<dict>") -> Scenario:
        """A checked scenario from a mapping shaped like the YAML (durations as ``"90d"``...).

        Applies every check the YAML path applies, device-profile limits included. Raises
        ScenarioError naming ``source`` and the key path.
        """
        return scenario_from_dict(data, cls, source=source)

    def with_values(self, changes: Mapping[str, Any]) -> Scenario:
        """A checked variant with some keys replaced, e.g. ``{"pump.accuracy": 0.1}``.

        Keys are dotted key paths (``events[2].volume_ml`` for list items); values are given
        as in YAML. Only what changed, and what depends on it, is checked again. Raises
        ScenarioError naming the key path.
        """
        return with_values(self, changes)


def load_scenario(path: str) -> Scenario:
    """Load and validate a scenario file. Raises ScenarioError (one line, with file and line)."""
    located, name = load_yaml_file(str(path))
    base_dir = os.path.dirname(os.path.abspath(str(path)))
    return parse_scenario(located, name, Scenario, base_dir=base_dir)


def load_scenario_text(text: str, file: str = "<text>") -> Scenario:
    """Load and validate a scenario from a YAML string."""
    return parse_scenario(load_yaml_text(text, file), file, Scenario)
