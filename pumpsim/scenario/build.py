"""Building checked scenarios from Python: a whole mapping, or a cheap variant of one.

``scenario_from_dict`` shares the YAML path's one entry point (``loader.parse_scenario``), so a
mapping gets every check a file gets. ``with_values`` copies only the models on the way to each
changed key, validates the new value where it lands (pydantic ``validate_assignment``: the
field's type and its model's validators), then re-runs only the device checks that read a
changed key (``checks.CHECKS``). Both mark their result as checked; ``pumpsim.simulate``
refuses a scenario without that mark.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError

from pumpsim.errors import ScenarioError, format_path
from pumpsim.scenario import dates, schema
from pumpsim.scenario.checks import check_against_profile
from pumpsim.scenario.loader import (
    ScenarioT,
    error_from_validation,
    parse_scenario,
    unknown_key_message,
)
from pumpsim.scenario.yamlsafe import LocatedYaml

_SEGMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)")


def scenario_from_dict(
    data: Mapping[str, Any], model: type[ScenarioT], *, source: str = "<dict>"
) -> ScenarioT:
    """A checked scenario (of class ``model``) from a mapping shaped like the YAML. Raises
    ScenarioError."""
    if not isinstance(data, Mapping):
        raise ScenarioError(
            f"a scenario is a mapping of keys, not {type(data).__name__}", file=source
        )
    return parse_scenario(LocatedYaml(data=dict(data)), source, model)


def parse_key_path(key: str) -> tuple[object, ...]:
    """``"events[2].volume_ml"`` (or ``"events.2.volume_ml"``) → ``("events", 2, "volume_ml")``."""
    if not isinstance(key, str) or not key:
        raise ScenarioError(f"a key path is a dotted string such as 'pump.accuracy', not {key!r}")
    path: list[object] = []
    for segment in key.split("."):
        if segment.isdigit():
            path.append(int(segment))
            continue
        m = _SEGMENT.fullmatch(segment)
        if m is None:
            raise ScenarioError(f"cannot read key path {key!r} (e.g. 'events[2].volume_ml')")
        path.append(m.group(1))
        path.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    return tuple(path)


def _dependency_key(path: tuple[object, ...]) -> str:
    return ".".join(str(p) for p in path if isinstance(p, str))


def _assignment_error(
    exc: ValidationError, prefix: tuple[object, ...], name: str, value: Any
) -> ScenarioError:
    return error_from_validation(exc, {name: value}, prefix=prefix)


def _unknown_key(model: type[BaseModel], name: object, prefix: tuple[object, ...]) -> ScenarioError:
    return ScenarioError(
        unknown_key_message(str(name), list(model.model_fields)), path=(*prefix, name)
    )


def _assign(
    node: BaseModel, path: tuple[object, ...], value: Any, prefix: tuple[object, ...]
) -> Any:
    """A copy of ``node`` with ``value`` at ``path``, validated where it lands."""
    name = path[0]
    model = type(node)
    if not isinstance(name, str) or name not in model.model_fields:
        raise _unknown_key(model, name, prefix)
    new_value = (
        value
        if len(path) == 1
        else _replace_in(getattr(node, name), path[1:], value, (*prefix, name))
    )
    copy = node.model_copy()
    try:
        model.__pydantic_validator__.validate_assignment(copy, name, new_value)
    except ValidationError as exc:
        raise _assignment_error(exc, prefix, name, new_value) from None
    return copy


def _replace_in(
    child: Any, path: tuple[object, ...], value: Any, prefix: tuple[object, ...]
) -> Any:
    if isinstance(child, BaseModel):
        return _assign(child, path, value, prefix)
    index = path[0]
    if isinstance(child, list):
        if not isinstance(index, int) or not 0 <= index < len(child):
            raise ScenarioError(
                f"no item {index!r} in a list of {len(child)}", path=(*prefix, index)
            )
        items = list(child)
        items[index] = (
            value
            if len(path) == 1
            else _replace_in(child[index], path[1:], value, (*prefix, index))
        )
        return items
    if isinstance(child, dict):
        items_d = dict(child)
        key = path[0]
        items_d[key] = (
            value
            if len(path) == 1
            else _replace_in(child.get(key), path[1:], value, (*prefix, key))
        )
        return items_d
    raise ScenarioError(
        f"{format_path(prefix)} is not set in this scenario: give it whole "
        f"(e.g. {{'{format_path(prefix)}': {{...}}}})",
        path=prefix,
    )


def _calendar_instants(scenario: schema.ScenarioFile, path: tuple[object, ...], value: Any) -> Any:
    """``value`` with its calendar instants (``2026-03-27``) placed on the scenario's clock, as
    the YAML path does (``pumpsim.scenario.dates``): the value is set at ``path`` in a mapping
    that holds only ``start``/``duration`` besides it, and the same pre-pass resolves it."""
    if not _may_hold_instant(path) or not _has_text(value):
        return value  # numbers, and keys that are no instant, hold no calendar date: fast path
    data: dict[str, Any] = {"start": scenario.start, "duration": f"{scenario.duration!r}h"}
    node: Any = data
    for part, after in itertools.pairwise(path):
        child: Any = [None] * (after + 1) if isinstance(after, int) else {}
        node[part] = child
        node = child
    node[path[-1]] = copy.deepcopy(value)
    try:
        dates.resolve_instants(data)
    except ScenarioError as exc:
        raise ScenarioError(exc.message, path=(*path, *exc.path[len(path) :])) from None
    node = data
    for part in path:
        node = node[part]
    return node


def _may_hold_instant(path: tuple[object, ...]) -> bool:
    """Whether the value at ``path`` is or holds an instant (``dates.instant_paths``): an
    event's or an expectation's, or the battery's ``eri_at`` (``pump.age`` is a span)."""
    if not path:
        return False
    if path[0] in ("events", "expect"):
        return True
    return path[0] == "pump" and (len(path) == 1 or path[1] == "battery")


def _has_text(value: Any) -> bool:
    """Whether ``value`` holds a string or a date anywhere (where a calendar instant could be)."""
    if isinstance(value, str | date):
        return True
    if isinstance(value, dict):
        return any(_has_text(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_text(v) for v in value)
    return False


def with_values(scenario: schema.ScenarioFile, changes: Mapping[str, Any]) -> schema.ScenarioFile:
    """A checked variant of a checked scenario with the keys in ``changes`` replaced.

    Keys are key paths (``pump.accuracy``, ``events[2].volume_ml``); values are given as in the
    YAML (durations as ``"90d"``). Raises ScenarioError naming the key path.
    """
    if not scenario.checked:
        raise ScenarioError(
            "with_values needs a checked scenario: build it with pumpsim.load_scenario or "
            "pumpsim.Scenario.from_dict"
        )
    current: schema.ScenarioFile = scenario
    changed: list[str] = []
    for key, value in changes.items():
        path = parse_key_path(key)
        value = _calendar_instants(current, path, value)
        current = _assign(current, path, value, ())
        changed.append(_dependency_key(path))
    if current is scenario:
        return scenario
    check_against_profile(current, changed)
    current._setup = None  # the copy carried the original's resolved settings
    current._checked = True
    return current
