"""One closed form for the state between two events (``pumpsim.model.segment``).

The engine advances its parts with ``Segment.step``, ``Trajectory.at`` and expectations read
``Segment.at``, the notebook reads ``Segment.sample`` (numpy). These tests feed the same
segments through every path and require the same numbers.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from conftest import shipped_scenarios

import pumpsim
from pumpsim.model.segment import SAMPLE_COLUMNS, csf_ratio

RESULTS = [pumpsim.simulate(pumpsim.load_scenario(str(p))) for p in shipped_scenarios()]
IDS = [r.scenario.name for r in RESULTS]
FIELDS = ("estimated_ml", "true_ml", "csf_expected", "csf_actual", "csf_ratio")


def _instants(result, n: int = 60) -> np.ndarray:
    """Random instants, every segment start and the instant just before each."""
    rng = np.random.default_rng(11)
    starts = [s.t_h for s in result.run.trajectory.segments]
    before = [max(0.0, t - 1e-3) for t in starts]
    return np.concatenate([rng.uniform(0.0, result.duration_h, n), starts, before])


@pytest.mark.parametrize("result", RESULTS, ids=IDS)
def test_scalar_and_numpy_paths_give_the_same_numbers(result):
    times = _instants(result)
    many = result.run.trajectory.sample(times)
    for i, t in enumerate(times):
        one = result.run.trajectory.at(float(t))
        for key in FIELDS:
            want, got = getattr(one, key), many[key][i]
            if math.isinf(want):
                assert got == want, (key, t)
            else:
                assert got == pytest.approx(want, rel=1e-12, abs=1e-12), (key, t)


@pytest.mark.parametrize("result", RESULTS, ids=IDS)
def test_the_engine_moved_along_the_same_segments(result):
    """Each segment starts where the previous one's closed form arrives: the CSF levels and the
    running totals of programmed drug never jump at an event, and the engine's state at the next
    event is the previous segment evaluated there, to the last bit."""
    segments = result.run.trajectory.segments
    for before, after in itertools.pairwise(segments):
        arrived = before.at(after.t_h)
        assert arrived.csf_expected == after.csf_expected
        assert arrived.csf_actual == after.csf_actual
        assert arrived.programmed_mcg == after.programmed_mcg
    # the final state of the record is the last segment at the end
    end = result.run.at(result.duration_h)
    assert end.estimated_ml == result.run.final.reservoir_estimated_ml
    assert end.true_ml == result.run.final.reservoir_true_ml
    assert end.delivered_intrathecal_mcg == result.run.totals.delivered_intrathecal_mcg


@pytest.mark.parametrize("result", RESULTS, ids=IDS)
def test_value_expectations_read_the_record(result):
    names = {
        "reservoir_estimated_ml": "estimated_ml",
        "reservoir_true_ml": "true_ml",
        "csf_ratio": "csf_ratio",
    }
    expect = result.scenario.expect  # strict-mode findings (fail_on) follow the expectations
    for exp, outcome in zip(expect, result.outcomes[: len(expect)], strict=True):
        target = exp.target
        if target in names:
            got = getattr(result.run.at(exp.at), names[target])
            assert outcome.actual == f"{got:.6g}"


def test_every_sample_column_is_produced():
    result = RESULTS[0]
    got = result.run.trajectory.sample(np.array([0.0, 1.0]))
    assert list(got) == list(SAMPLE_COLUMNS)


def test_csf_ratio_edges():
    assert csf_ratio(0.0, 0.0) == 1.0
    assert csf_ratio(0.0, 1.0) == math.inf
    assert csf_ratio(2.0, 1.0) == 0.5
