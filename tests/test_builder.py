"""Building scenarios from Python: Scenario.from_dict, with_values, and simulate's refusal."""

import copy
import pickle

import pytest
from conftest import SCENARIOS

import pumpsim
from pumpsim import Scenario, ScenarioError

BASE = {
    "name": "built",
    "duration": "60d",
    "pump": {"reservoir_ml": 20},
    "drug": {"concentration_mcg_per_ml": 2000},
    "therapy": {"dose_mcg_per_day": 400},
    "events": [{"at": "30d", "type": "refill", "volume_ml": 20}],
}


def built(**changes):
    data = copy.deepcopy(BASE)
    data.update(changes)
    return Scenario.from_dict(data)


def test_from_dict_matches_the_yaml_path():
    sc = built()
    assert sc.checked
    text = (
        "name: built\nduration: 60d\npump: {reservoir_ml: 20}\n"
        "drug: {concentration_mcg_per_ml: 2000}\ntherapy: {dose_mcg_per_day: 400}\n"
        "events:\n  - {at: 30d, type: refill, volume_ml: 20}\n"
    )
    assert (
        pumpsim.simulate(sc).to_json()
        == pumpsim.simulate(pumpsim.load_scenario_text(text, "built.yaml")).to_json()
    )


def test_from_dict_applies_the_device_limits():
    # 500000 mcg/day at 2000 mcg/mL = 250 mL/day: model_validate lets this through.
    with pytest.raises(ScenarioError) as info:
        built(therapy={"dose_mcg_per_day": 500_000})
    assert info.value.path == ("therapy", "dose_mcg_per_day")
    assert "250 mL/day" in str(info.value) and "programmable range" in str(info.value)
    assert str(info.value).startswith("<dict>: therapy.dose_mcg_per_day:")


def test_from_dict_names_the_source_and_refuses_non_mappings():
    with pytest.raises(ScenarioError, match=r"^mine: duration: .*bare number"):
        Scenario.from_dict({**BASE, "duration": 60}, source="mine")
    with pytest.raises(ScenarioError, match="mapping"):
        Scenario.from_dict([1, 2])  # type: ignore[arg-type]


def test_simulate_refuses_unchecked_scenarios():
    unchecked = Scenario.model_validate({**BASE, "therapy": {"dose_mcg_per_day": 500_000}})
    assert not unchecked.checked
    with pytest.raises(ScenarioError, match="checked scenario"):
        pumpsim.simulate(unchecked)
    sc = built()
    assert sc.model_copy().checked  # an identical copy keeps the mark
    assert copy.deepcopy(sc).checked and pickle.loads(pickle.dumps(sc)).checked
    sneaky = sc.model_copy(update={"seed": 3})
    assert not sneaky.checked
    with pytest.raises(ScenarioError, match="checked scenario"):
        pumpsim.simulate(sneaky)
    with pytest.raises(ScenarioError, match="checked scenario"):
        pumpsim.simulate({"name": "x"})  # type: ignore[arg-type]


def test_with_values_changes_only_what_it_names():
    sc = built()
    variant = sc.with_values({"pump.accuracy": 0.1, "therapy.dose_mcg_per_day": 500})
    assert variant.checked
    assert variant.pump.accuracy == 0.1 and variant.therapy.dose_mcg_per_day == 500
    assert sc.pump.accuracy == 0.0 and sc.therapy.dose_mcg_per_day == 400  # original untouched
    assert variant.drug is sc.drug and variant.events == sc.events  # shared, not re-built
    data = copy.deepcopy(BASE)
    data["pump"]["accuracy"] = 0.1
    data["therapy"]["dose_mcg_per_day"] = 500
    assert (
        pumpsim.simulate(variant).to_json() == pumpsim.simulate(Scenario.from_dict(data)).to_json()
    )


def test_with_values_reads_values_as_yaml_does():
    v = built().with_values(
        {"duration": "90d", "events[0].volume_ml": 15, "events.0.at": "45d", "seed": 9}
    )
    assert v.duration == 90 * 24 and v.events[0].volume_ml == 15 and v.events[0].at == 45 * 24
    assert v.seed == 9
    v2 = built().with_values({"events": [{"at": "1d", "type": "mri", "duration": "1h"}]})
    assert v2.events[0].type == "mri" and v2.checked
    assert built().with_values({}).checked


@pytest.mark.parametrize(
    ("changes", "path", "words"),
    [
        ({"pump.accuracy": 1.5}, ("pump", "accuracy"), ["plausible accuracy range"]),
        ({"pump.accuracy": -1}, ("pump", "accuracy"), ["-1"]),
        ({"therapy.dose_mcg_per_day": 500_000}, ("therapy", "dose_mcg_per_day"), ["250 mL/day"]),
        # dependants: a new concentration re-checks the programme it feeds
        ({"drug.concentration_mcg_per_ml": 10}, ("therapy", "dose_mcg_per_day"), ["40 mL/day"]),
        # ... and a shorter scenario re-checks the instants of its events
        ({"duration": "20d"}, ("events", 0, "at"), ["after the end"]),
        ({"pump.reservoir_ml": 30}, ("pump", "reservoir_ml"), ["not a synchromed-ii reservoir"]),
        ({"events[0].volume_ml": 25}, ("events", 0, "volume_ml"), ["exceeds the 20 mL"]),
        ({"pump.acuracy": 0.1}, ("pump", "acuracy"), ["did you mean 'accuracy'"]),
        ({"events[3].volume_ml": 1}, ("events", 3), ["no item 3"]),
        ({"duration": 90}, ("duration",), ["bare number"]),
        ({"therapy.mode": "flex"}, ("therapy",), ["flex therapy"]),
        ({"therapy.ptm.dose_mcg": 5}, ("therapy", "ptm"), ["give it whole"]),
        ({"seed": 2**200}, ("seed",), ["too large"]),
    ],
)
def test_with_values_errors_name_the_key_path(changes, path, words):
    with pytest.raises(ScenarioError) as info:
        built().with_values(changes)
    assert info.value.path == path, str(info.value)
    for w in words:
        assert w in str(info.value), str(info.value)


def test_with_values_needs_a_checked_scenario():
    unchecked = Scenario.model_validate(BASE)
    with pytest.raises(ScenarioError, match="checked scenario"):
        unchecked.with_values({"seed": 1})


def test_with_values_on_a_shipped_scenario():
    sc = pumpsim.load_scenario(str(SCENARIOS / "missed-refill.yaml"))
    result = pumpsim.simulate(sc.with_values({"patient.injury_level": "L1"}))
    assert {f.severity for f in result.flags if f.type == "abrupt_discontinuation"} == {"moderate"}


def test_readme_python_example_runs(monkeypatch, capsys):
    import re

    from conftest import ROOT

    block = re.search(
        r"From Python:\n\n```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S
    )
    monkeypatch.chdir(ROOT)
    exec(compile(block.group(1), "README.md", "exec"), {})
    assert "reservoir_true_ml" in capsys.readouterr().out


def test_with_values_places_calendar_instants_on_the_scenario_clock():
    base = pumpsim.load_scenario(SCENARIOS / "missed-refill.yaml")
    moved = base.with_values({"events[0].at": "2026-03-20"})
    assert moved.events[0].at == 78 * 24.0
    whole = base.with_values(
        {"events": [{"at": "2026-02-01T12:00", "type": "refill", "volume_ml": 20}]}
    )
    assert [ev.at for ev in whole.events] == [31 * 24.0 + 12.0]
    with pytest.raises(pumpsim.ScenarioError) as err:
        base.with_values({"events[0].at": "2025-03-20"})
    assert err.value.path == ("events", 0, "at")
    assert "before the start of the scenario, 2026-01-01 00:00" in str(err.value)
