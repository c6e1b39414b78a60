"""Shared helpers: build scenarios from short YAML snippets."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import pumpsim

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


def shipped_scenarios() -> list[Path]:
    """Every scenario file shipped in ``scenarios/`` (replays included; sweep files are not
    scenarios: they have no top-level ``therapy:``)."""
    import re

    return sorted(
        p
        for p in SCENARIOS.rglob("*.yaml")
        if re.search(r"^therapy\s*:", p.read_text(encoding="utf-8"), re.M)
    )


BASE = """
name: t
duration: {duration}
pump: {{reservoir_ml: {reservoir}{pump_extra}}}
drug: {{concentration_mcg_per_ml: {conc}}}
therapy: {therapy}
"""


def scenario_text(
    *,
    duration: str = "30d",
    reservoir: float = 20,
    conc: float = 2000,
    therapy: str = "{dose_mcg_per_day: 400}",
    pump_extra: str = "",
    extra: str = "",
) -> str:
    """A minimal valid scenario, with ``extra`` YAML appended (events:, patient:, expect: ...)."""
    text = BASE.format(
        duration=duration,
        reservoir=reservoir,
        conc=conc,
        therapy=therapy,
        pump_extra=(", " + pump_extra) if pump_extra else "",
    )
    return text + textwrap.dedent(extra)


def run(text: str) -> pumpsim.Result:
    """Load and simulate a scenario given as YAML text."""
    return pumpsim.simulate(pumpsim.load_scenario_text(textwrap.dedent(text)))


def alarm_starts(result: pumpsim.Result, name: str) -> list[float]:
    """Start times (h) of every occurrence of an alarm."""
    return [a.start_h for a in result.alarms if a.type == name]


def flags_of(result: pumpsim.Result, name: str) -> list:
    """Every flag of one type."""
    return [f for f in result.flags if f.type == name]


@pytest.fixture
def write_yaml(tmp_path: Path):
    """Write YAML text to a temporary file and return its path as a string."""

    def _write(text: str, name: str = "s.yaml") -> str:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return str(path)

    return _write


@pytest.fixture(scope="session")
def chromium(tmp_path_factory):
    """One headless Chromium for every browser test of the session (started on first use).

    Skips, saying why, only where no Chromium is installed (``.ci/run`` installs it)."""
    from cdp import Browser, find_chromium

    exe = find_chromium()
    if exe is None:
        pytest.skip(
            "no Chromium on PATH, or not a POSIX system (apt-get install chromium; .ci/run "
            "installs it when apt works)"
        )
    b = Browser(exe, str(tmp_path_factory.mktemp("chromium-profile")))
    yield b
    b.close()
