"""Cheap, checked scenario variants: the base scenario with some key paths replaced.

The base is validated once (every check of the YAML path); each patient's variant is
``base.with_values(...)``, which re-checks only what changed and its dependants, so a drawn value
that the contract forbids is reported, never simulated.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pumpsim.errors import ScenarioError
from pumpsim.scenario.checked import Scenario
from pumpsim.scenario.loader import parse_scenario
from pumpsim.scenario.yamlsafe import LocatedYaml


def yaml_value(value: Any, is_duration: bool) -> Any:
    """A drawn value as a YAML file would give it: durations as an exact ``<hours>h`` string
    (the shortest decimal that reads back as the same float, never in exponent form)."""
    if not is_duration:
        return value
    text = repr(float(value))
    if "e" in text:
        text = format(Decimal(text), "f")
    if text.endswith(".0"):
        text = text[:-2]
    return f"{text}h"


def set_path(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``data`` with the dotted ``path`` set (only the mappings on the path copied)."""
    parts = path.split(".")
    root = dict(data)
    node: Any = root
    for part in parts[:-1]:
        child = node.get(part)
        child = dict(child) if isinstance(child, dict) else {}
        node[part] = child
        node = child
    node[parts[-1]] = value
    return root


class ScenarioFactory:
    """Builds checked scenarios from one base (plain YAML data) and key-path values."""

    def __init__(
        self, base_data: dict[str, Any], file: str, lines: dict[Any, int] | None = None
    ) -> None:
        self.base_data = base_data
        self.file = file
        self.lines = lines or {}  # key path -> line in ``file`` (for messages)
        self._base: Scenario | None = None  # the checked base, built on first use
        self._base_valid = True  # False: the base is only valid with the sweep's values

    def checked(self, values: dict[str, Any], context: tuple[object, ...] = ()) -> Scenario:
        """The base with ``values`` (key path -> YAML value) applied, fully validated.

        Raises ScenarioError naming the base file and the scenario key path.
        """
        if self._base is None and self._base_valid:
            try:
                self._base = parse_scenario(
                    LocatedYaml(data=self.base_data, lines=self.lines), self.file, Scenario
                )
            except ScenarioError:
                self._base_valid = False
        if self._base is not None:
            return self._base.with_values(values) if values else self._base
        data = self.base_data
        for path, value in values.items():
            data = set_path(data, path, value)
        return parse_scenario(LocatedYaml(data=data, lines=self.lines), self.file, Scenario)
