"""pytest plugin (entry point ``pytest11``): each expectation of a scenario file is a test item.

``pytest scenarios/`` collects every ``*.yaml``/``*.yml`` file that looks like a pumpsim scenario
(a top-level ``therapy:`` key, and ``expect:``, ``clinic_log:`` or ``fail_on:``) with one test
item per expectation (as ``pumpsim check --junit`` has one test case per expectation), simulates
each file once and fails an item with expected against actual when its expectation does not
hold. An invalid scenario is one failing item with the loader's message.

Items are named where their expectation is written: ``patient-017.csv:5 residual_withdrawn_ml``
for a clinic log's recorded measurement (its CSV file and row), ``scenario.yaml:12 alarm
low_reservoir`` for the scenario's own ``expect:`` entries (the YAML line), ``fail_on
silent_flag`` for each kind of strict mode (it fails on any finding of that kind).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

_THERAPY = re.compile(r"^therapy\s*:", re.M)
_CHECKED = re.compile(r"^(?:expect|clinic_log|fail_on)\s*:", re.M)


def _looks_like_scenario(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            head = fh.read(200_000)
    except OSError:
        return False
    return bool(_THERAPY.search(head) and _CHECKED.search(head))


def item_names(scenario, path: Path) -> list[str]:
    """One name per expectation: its CSV file and row, or its scenario file and YAML line."""
    from pumpsim.errors import ScenarioError
    from pumpsim.scenario.yamlsafe import load_yaml_file

    try:
        located, _ = load_yaml_file(str(path))
        line_of = located.line_of
    except ScenarioError:  # pragma: no cover - the file was just loaded
        line_of = None
    names: list[str] = []
    for index, expectation in enumerate(scenario.expect):
        target = expectation.target
        if expectation.source:  # a clinic log's row: patient-017.csv:5
            name = f"{expectation.source} {target}"
        else:
            line = line_of(("expect", index)) if line_of is not None else None
            what = getattr(expectation, target) if target in ("alarm", "flag") else None
            name = f"{path.name}:{line or '?'} {target}" + (f" {what}" if what else "")
        base, n = name, 2
        while name in names:  # two expectations on one line: keep item names unique
            name = f"{base} ({n})"
            n += 1
        names.append(name)
    return names


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    """Collect scenario YAML files."""
    if file_path.suffix in (".yaml", ".yml") and _looks_like_scenario(file_path):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFailed(Exception):
    """Some expectations did not hold."""


class ScenarioInvalid(Exception):
    """The scenario file does not validate."""


class ScenarioFile(pytest.File):
    """A scenario YAML file: one test item per expectation (one item when it has none or when
    it is invalid). The scenario is simulated once, by whichever of its items runs first."""

    def collect(self):
        import pumpsim
        from pumpsim.errors import ScenarioError

        try:
            scenario = pumpsim.load_scenario(str(self.path))
        except ScenarioError as exc:
            yield ScenarioItem.from_parent(self, name=self.path.stem, invalid=str(exc))
            return
        if not scenario.expect and not scenario.fail_on:
            yield ScenarioItem.from_parent(self, name=self.path.stem, scenario=scenario)
            return
        for index, name in enumerate(item_names(scenario, self.path)):
            yield ScenarioItem.from_parent(self, name=name, scenario=scenario, index=index)
        for kind in scenario.fail_on:  # strict mode: one item per kind, failing on any finding
            yield ScenarioItem.from_parent(
                self, name=f"fail_on {kind}", scenario=scenario, kind=kind
            )

    def result(self, scenario):
        """The scenario's result, simulated on first use."""
        cached = getattr(self, "_pumpsim_result", None)
        if cached is None:
            import pumpsim

            cached = pumpsim.simulate(scenario)
            self._pumpsim_result = cached
        return cached


class ScenarioItem(pytest.Item):
    """One expectation of a scenario (or the whole scenario: it runs, or it is invalid)."""

    def __init__(self, *, scenario=None, index=None, invalid=None, kind=None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.index = index
        self.invalid = invalid
        self.kind = kind  # a fail_on kind: its findings

    def runtest(self) -> None:
        if self.invalid is not None:
            raise ScenarioInvalid(self.invalid)
        result = self.parent.result(self.scenario)
        if self.kind is not None:
            found = result.outcomes[len(self.scenario.expect) :]
            outcomes = [o for o in found if o.text.startswith(f"fail_on {self.kind}:")]
        elif self.index is None:
            outcomes = result.outcomes
        else:
            outcomes = [result.outcomes[self.index]]
        failed = [o for o in outcomes if not o.passed]
        if failed:
            raise ScenarioFailed(failed)

    def repr_failure(self, excinfo, style=None):  # type: ignore[override]
        """Expected against actual, one block per failed expectation."""
        if isinstance(excinfo.value, ScenarioFailed):
            lines = [
                f"scenario {self.path.name}: {len(excinfo.value.args[0])} expectation(s) failed"
            ]
            for o in excinfo.value.args[0]:
                lines.extend(o.failure_lines())
            return "\n".join(lines)
        if isinstance(excinfo.value, ScenarioInvalid):
            return f"invalid scenario: {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"scenario: {self.path.stem}: {self.name}"
