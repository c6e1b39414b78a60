"""pytest plugin (entry point ``pytest11``): each scenario file is a test item.

``pytest scenarios/`` collects every ``*.yaml``/``*.yml`` file that looks like a pumpsim scenario
(top-level ``therapy:`` and ``expect:`` keys), simulates it and fails with expected against
actual for each expectation that does not hold. An invalid scenario fails with the loader's
one-line message.
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
    """A scenario YAML file: one test item."""

    def collect(self):
        yield ScenarioItem.from_parent(self, name=self.path.stem)


class ScenarioItem(pytest.Item):
    """Simulate one scenario and check its expectations."""

    def runtest(self) -> None:
        import pumpsim
        from pumpsim.errors import ScenarioError

        try:
            scenario = pumpsim.load_scenario(str(self.path))
        except ScenarioError as exc:
            raise ScenarioInvalid(str(exc)) from None
        result = pumpsim.simulate(scenario)
        failed = [o for o in result.outcomes if not o.passed]
        if failed:
            raise ScenarioFailed(failed)

    def repr_failure(self, excinfo, style=None):  # type: ignore[override]
        """Expected against actual, one block per failed expectation."""
        if isinstance(excinfo.value, ScenarioFailed):
            lines = [
                f"scenario {self.path.name}: {len(excinfo.value.args[0])} expectation(s) failed"
            ]
            for o in excinfo.value.args[0]:
                lines.append(f"  {o.text}")
                lines.append(f"    expected: {o.expected}")
                lines.append(f"    actual:   {o.actual}")
            return "\n".join(lines)
        if isinstance(excinfo.value, ScenarioInvalid):
            return f"invalid scenario: {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"scenario: {self.name}"
