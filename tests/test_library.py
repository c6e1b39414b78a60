"""The scenario library: every event type, every hazard, every scenario passing."""

import re
from pathlib import Path

import pytest
from conftest import ROOT, SCENARIOS

import pumpsim
from pumpsim.outputs.suite import hazard_catalogue
from pumpsim.scenario.schema import EVENT_TYPES

FILES = sorted(SCENARIOS.glob("*.yaml"))


def test_library_size():
    assert len(FILES) >= 20


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_scenario_is_documented_traced_and_passes(path: Path):
    sc = pumpsim.load_scenario(str(path))
    assert sc.name == path.stem
    assert len(sc.description) > 80, "describe it for an educator"
    assert sc.hazard and all(h in hazard_catalogue() for h in sc.hazard)
    assert sc.expect
    result = pumpsim.simulate(sc)
    assert result.passed, [o for o in result.outcomes if not o.passed]


def test_every_event_type_has_a_scenario():
    used = {ev.type for f in FILES for ev in pumpsim.load_scenario(str(f)).events}
    assert set(EVENT_TYPES) <= used, set(EVENT_TYPES) - used


def test_every_hazard_is_covered_and_documented():
    used = {h for f in FILES for h in pumpsim.load_scenario(str(f)).hazard}
    assert set(hazard_catalogue()) <= used
    doc = (ROOT / "docs" / "hazards.md").read_text()
    for hid in hazard_catalogue():
        assert re.search(rf"\b{hid}\b", doc), f"{hid} missing from docs/hazards.md"


def test_every_catheter_fault_kind_has_a_scenario():
    kinds = {
        ev.kind
        for f in FILES
        for ev in pumpsim.load_scenario(str(f)).events
        if ev.type == "catheter_fault"
    }
    assert kinds == {"occlusion", "kink", "disconnection", "fracture", "leak", "migration"}


def test_hazard_doc_is_up_to_date():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_hazards.py"), "--check"])
    assert proc.returncode == 0, "docs/hazards.md is stale: run python tools/gen_hazards.py"
