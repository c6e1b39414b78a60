"""The coordinator's own promises: exact instants, ordering, no cycles, a restored collector,
and components that never reach back into the engine."""

from __future__ import annotations

import ast
import gc
import weakref
from pathlib import Path

import pytest
from conftest import ROOT, scenario_text

import pumpsim
from pumpsim.model.engine import Engine
from pumpsim.model.units import parse_duration_h
from pumpsim.scenario.resolve import setup_of


def test_scenario_events_land_exactly_on_their_instants():
    # 3min + (11min - 3min) is not 11min in floating point: the clock must not drift.
    text = scenario_text(duration="1d") + (
        "events:\n"
        "  - {at: 3min, type: bolus, dose_mcg: 10, duration: 1min}\n"
        "  - {at: 11min, type: bolus, dose_mcg: 10, duration: 1min}\n"
        "  - {at: 11min, type: bolus, dose_mcg: 20, duration: 1min}\n"
    )
    three, eleven = parse_duration_h("3min"), parse_duration_h("11min")
    assert three + (eleven - three) != eleven
    r = pumpsim.simulate(pumpsim.load_scenario_text(text))
    started = [e for e in r.run.pump_log if e.event == "clinician_bolus_started"]
    assert [e.t_h for e in started] == [three, eleven, eleven]
    assert [e.details["dose_mcg"] for e in started] == [10, 10, 20]  # file order at one instant


def test_scenario_events_come_before_probes_at_the_same_instant():
    text = scenario_text(duration="100d") + (
        "events:\n  - {at: 50d, type: refill, volume_ml: 20}\n"
        "expect:\n  - {reservoir_estimated_ml: 20, at: 50d}\n"
    )
    r = pumpsim.simulate(pumpsim.load_scenario_text(text))
    assert r.passed, r.outcomes


def test_a_finished_engine_is_freed_without_the_cycle_collector():
    sc = pumpsim.load_scenario_text(
        scenario_text(duration="60d")
        + "events:\n  - {at: 5d, type: bolus, dose_mcg: 50, duration: 1h}\n"
        "  - {at: 6d, type: mri, duration: 1h}\n"
    )
    collecting = gc.isenabled()
    gc.disable()
    try:
        engine = Engine(setup_of(sc))
        out = engine.run()
        ref = weakref.ref(engine)
        del engine
        assert ref() is None, "the engine is kept alive by a reference cycle"
        assert out.engine_events > 0
    finally:
        if collecting:
            gc.enable()


class Boom:
    def start(self, desk):
        pass

    def on_alarm(self, desk, alarm):
        pass

    def on_event(self, desk, event):
        raise RuntimeError("clinic failed")


def test_the_collector_is_restored_after_a_run_even_a_failing_one():
    sc = pumpsim.load_scenario_text(
        scenario_text(duration="10d") + "events:\n  - {at: 1d, type: mri, duration: 1h}\n"
    )
    assert gc.isenabled()
    pumpsim.simulate(sc)
    assert gc.isenabled()
    with pytest.raises(RuntimeError, match="clinic failed"):
        pumpsim.simulate(sc, clinic=Boom())
    assert gc.isenabled()
    gc.disable()
    try:
        pumpsim.simulate(sc)
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()


#: Every part of the model but the engine itself: none of them may reach up to the engine or the
#: outputs (the import-linter contract checks the layers as a whole; this names the culprit).
COMPONENTS = sorted(
    p for p in (ROOT / "pumpsim" / "model").rglob("*.py") if p.name not in ("engine.py",)
)


@pytest.mark.parametrize("path", COMPONENTS, ids=lambda p: str(Path(p).relative_to(ROOT)))
def test_components_never_import_the_engine(path):
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    assert not {"pumpsim.model.engine", "pumpsim.outputs.api", "pumpsim.outputs.result"} & imported
    assert len(Path(path).read_text(encoding="utf-8").splitlines()) <= MAX_MODULE_LINES


#: The project rule: small modules named after domain things, none over this many lines.
MAX_MODULE_LINES = 400
MODULES = sorted((ROOT / "pumpsim").rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(Path(p).relative_to(ROOT)))
def test_every_module_is_small(path):
    lines = len(Path(path).read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, (
        f"{Path(path).relative_to(ROOT)} has {lines} lines (limit {MAX_MODULE_LINES}): split it "
        "into modules named after domain things"
    )


def test_every_module_is_checked_for_size():
    assert len(MODULES) > 50 and ROOT / "pumpsim" / "model" / "engine.py" in MODULES


def test_ten_thousand_events_at_one_instant_are_not_a_stuck_engine():
    from pumpsim.scenario.checked import Scenario

    events = [{"at": "1d", "type": "catheter_repair"} for _ in range(10_050)]
    events.append({"at": "1d", "type": "bolus", "dose_mcg": 10, "duration": "1h"})
    sc = Scenario.from_dict(
        {
            "name": "crowd",
            "duration": "2d",
            "drug": {"concentration_mcg_per_ml": 2000},
            "therapy": {"dose_mcg_per_day": 400},
            "events": events,
        }
    )
    r = pumpsim.simulate(sc)
    assert sum(1 for e in r.run.physical_log if e.event == "catheter_repair") == 10_050
    assert r.run.totals.programmed_mcg == pytest.approx(800.0 + 10.0)


@pytest.mark.parametrize(
    "name", ["over-infusion-silent-empty", "refill-on-time", "catheter-kink", "pocket-fill"]
)
def test_reading_the_state_for_an_expectation_changes_nothing(name):
    sc = pumpsim.load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    looked = pumpsim.simulate(sc).to_dict()
    blind = pumpsim.simulate(sc.with_values({"expect": []})).to_dict()
    for key in ("alarms", "flags", "refills", "totals", "final", "pump_log", "physical_log",
                "series", "engine_events"):  # fmt: skip
        assert looked[key] == blind[key], key


def test_the_silent_empty_reservoir_is_logged_even_when_an_expectation_looks_then():
    r = pumpsim.simulate(
        pumpsim.load_scenario(ROOT / "scenarios" / "over-infusion-silent-empty.yaml")
    )
    (empty,) = [e for e in r.run.physical_log if e.event == "reservoir_empty"]
    assert empty.t_h == pytest.approx(128 * 24.0)
    assert r.passed


def test_the_result_surface_other_parts_build_on():
    r = pumpsim.simulate(pumpsim.load_scenario(ROOT / "scenarios" / "missed-refill.yaml"))
    assert r.scenario.name == "missed-refill" and r.passed and r.outcomes
    assert [a.type for a in r.alarms] and [f.type for f in r.flags]
    assert r.to_dict()["scenario"] == "missed-refill" and r.to_json().endswith("}\n")
    segments = r.run.trajectory.segments
    assert segments[0].t_h == 0.0 and segments[-1].t_h == r.scenario.duration
    assert r.run.trajectory.at(24.0).estimated_ml == pytest.approx(20 - 0.2)
    assert r.run.pump_log[0].event and r.run.pump_log[0].t_h >= 0.0
    assert isinstance(r.run.physical_log, list)
    assert r.run.setup.risk_factors and r.run.setup.low_reservoir_alarm_ml == 2.0


def test_a_failed_run_is_freed_too():
    sc = pumpsim.load_scenario_text(
        scenario_text(duration="10d") + "events:\n  - {at: 1d, type: mri, duration: 1h}\n"
    )
    collecting = gc.isenabled()
    gc.disable()
    try:
        engine = Engine(setup_of(sc), clinic=Boom())
        with pytest.raises(RuntimeError, match="clinic failed"):
            engine.run()
        ref = weakref.ref(engine)
        del engine
        assert ref() is None
    finally:
        if collecting:
            gc.enable()
