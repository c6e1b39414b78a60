"""Edges found in review: one CSF ratio everywhere, faults: with a clinic, refill accuracy."""

import pytest
from conftest import SCENARIOS, scenario_text

import pumpsim


def test_the_csf_ratio_is_one_definition_for_expectations_and_trajectories():
    # not established: at t = 0 nothing is expected and nothing is there
    sc = pumpsim.load_scenario_text(
        scenario_text(duration="2d", extra="patient: {established: false}\n")
        + "expect:\n  - {csf_ratio: 1.0, at: 0h}\n"
    )
    result = pumpsim.simulate(sc)
    assert result.passed, result.outcomes
    assert result.trajectory.at(0.0).csf_ratio == 1.0
    assert float(result.trajectory.at([0.0])["csf_ratio"][0]) == 1.0


def test_faults_and_a_reactive_clinic_together_are_refused():
    sc = pumpsim.load_scenario(SCENARIOS / "fault-streams-one-patient.yaml")

    class Quiet:
        def start(self, desk):
            pass

        def on_alarm(self, desk, alarm):
            pass

        def on_event(self, desk, event):
            pass

    with pytest.raises(pumpsim.ScenarioError, match="faults"):
        pumpsim.simulate(sc, clinic=Quiet())


def test_an_accuracy_set_at_a_refill_is_checked_like_the_pumps():
    text = scenario_text(
        extra="events:\n  - {at: 10d, type: refill, volume_ml: 20, accuracy: 5.0}\n"
    )
    with pytest.raises(pumpsim.ScenarioError) as err:
        pumpsim.load_scenario_text(text)
    assert err.value.path == ("events", 0, "accuracy")
    noted = pumpsim.simulate(
        pumpsim.load_scenario_text(text.replace("accuracy: 5.0", "accuracy: 0.3"))
    )
    assert any("events[0].accuracy" in note for note in noted.notes)
