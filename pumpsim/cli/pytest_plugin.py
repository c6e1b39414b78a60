"""pytest plugin (entry point ``pytest11``): each expectation of a scenario file is a test item.

``pytest scenarios/`` collects every ``*.yaml``/``*.yml`` file that looks like a pumpsim scenario
(top-level ``therapy:`` and ``expect:`` keys) with one test item per expectation (as
``pumpsim check --junit`` has one test case per expectation), simulates each file once and fails
an item with expected against actual when its expectation does not hold. An invalid scenario is
one failing item with the loader's one-line message.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

_TOP_KEYS = (re.compile(r"^therapy\s*:", re.M), re.compile(r"^expect\s*:", re.M))


def _looks_like_scenario(path: Path) -> bool:
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:200_000]
    except OSError:
        return False
    return all(rx.search(head) for rx in _TOP_KEYS)


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
        if not scenario.expect:
            yield ScenarioItem.from_parent(self, name=self.path.stem, scenario=scenario)
            return
        for index, expectation in enumerate(scenario.expect):
            name = f"expect[{index}] {expectation.target}"
            yield ScenarioItem.from_parent(self, name=name, scenario=scenario, index=index)

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

    def __init__(self, *, scenario=None, index=None, invalid=None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.index = index
        self.invalid = invalid

    def runtest(self) -> None:
        if self.invalid is not None:
            raise ScenarioInvalid(self.invalid)
        result = self.parent.result(self.scenario)
        outcomes = result.outcomes if self.index is None else [result.outcomes[self.index]]
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
