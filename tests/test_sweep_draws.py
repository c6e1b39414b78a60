"""Distributions, seeded streams, the catheter hazard and the summary's intervals."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from pumpsim.model.units import HOURS_PER_YEAR
from pumpsim.scenario.distributions import DistributionError, parse_distribution
from pumpsim.scenario.faults import resolve_faults
from pumpsim.scenario.profiles import load_device_profile
from pumpsim.studies.sweep.streams import PatientStreams, stream_key
from pumpsim.studies.sweep.summary import poisson_interval, wilson_interval


def draws(spec, n=20000, seed=5):
    dist = parse_distribution(spec)
    rng = np.random.default_rng(seed)
    return dist, [dist.draw(rng) for _ in range(n)]


def test_normal_lognormal_uniform_exponential_moments():
    _, x = draws({"normal": {"mean": 0.01, "sd": 0.03}})
    assert statistics.fmean(x) == pytest.approx(0.01, abs=0.001)
    assert statistics.pstdev(x) == pytest.approx(0.03, rel=0.03)
    _, x = draws({"lognormal": {"median": 400, "sigma": 0.4}})
    assert statistics.median(x) == pytest.approx(400, rel=0.02)
    assert statistics.pstdev([math.log(v) for v in x]) == pytest.approx(0.4, rel=0.03)
    _, x = draws({"uniform": {"low": 2, "high": 4}})
    assert min(x) >= 2 and max(x) <= 4 and statistics.fmean(x) == pytest.approx(3, abs=0.02)
    dist, x = draws({"exponential": {"mean": "3d"}})
    assert dist.is_duration and statistics.fmean(x) == pytest.approx(72.0, rel=0.03)


def test_choice_frequencies_and_fixed():
    dist, x = draws({"choice": {"C5": 0.2, "T4": 0.3, "T10": 0.5}})
    for value, share in (("C5", 0.2), ("T4", 0.3), ("T10", 0.5)):
        assert x.count(value) / len(x) == pytest.approx(share, abs=0.01)
    assert not dist.is_duration
    dist = parse_distribution({"fixed": "57d"})
    assert dist.is_duration and dist.draw(None) == 57 * 24.0
    assert parse_distribution({"fixed": 0.25}).draw(None) == 0.25


def test_durations_carry_units_and_intervals_are_redrawn_below_a_day():
    dist = parse_distribution({"normal": {"mean": "1d", "sd": "5d"}})
    assert dist.params == (24.0, 120.0) and dist.is_duration
    rng = np.random.default_rng(1)
    got = [dist.draw_interval(rng, 24.0) for _ in range(2000)]
    assert min(got) >= 24.0
    never = parse_distribution({"fixed": "1h"})
    with pytest.raises(DistributionError, match="below the minimum"):
        never.draw_interval(rng, 24.0)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"normal": {"mean": 1}}, "missing"),
        ({"normal": {"mean": "1d", "sd": 2}}, "unit"),
        ({"lognormal": {"median": 400, "sigma": "1d"}}, "sigma"),
        ({"lognormal": {"median": -1, "sigma": 0.3}}, "median"),
        ({"uniform": {"low": 3, "high": 1}}, "high"),
        ({"exponential": {"mean": 0}}, "mean"),
        ({"gamma": {"k": 1}}, "unknown distribution"),
        ({"choice": {"a": 0, "b": 0}}, "zero"),
        ({"normal": {"mean": 1, "sd": 1, "skew": 2}}, "unknown key"),
        (5, "a distribution is one of"),
    ],
)
def test_bad_distributions_are_named(spec, message):
    with pytest.raises(DistributionError, match=message):
        parse_distribution(spec)


def test_streams_depend_on_seed_patient_and_name_only():
    a = PatientStreams(7, 3)("catheter").random(5)
    # created in another order, alongside other streams: the same numbers
    other = PatientStreams(7, 3)
    other("vary:pump.accuracy").random(100)
    assert np.array_equal(other("catheter").random(5), a)
    assert not np.array_equal(PatientStreams(7, 4)("catheter").random(5), a)
    assert not np.array_equal(PatientStreams(8, 3)("catheter").random(5), a)
    assert not np.array_equal(PatientStreams(7, 3)("motor_stall").random(5), a)
    # spawn key (patient, stream) under the one SeedSequence(seed)
    seq = np.random.SeedSequence(7, spawn_key=(3, stream_key("catheter")))
    assert np.array_equal(np.random.Generator(np.random.PCG64(seq)).random(5), a)


class FixedExp:
    """A stand-in generator whose exponential draws are given."""

    def __init__(self, *values: float) -> None:
        self.values = list(values)

    def standard_exponential(self) -> float:
        return self.values.pop(0)


def test_catheter_hazard_is_three_times_higher_in_the_first_year():
    model = resolve_faults(
        {"catheter": {"rate_per_year": 1.0, "first_year_factor": 3}},
        load_device_profile("synchromed-ii"),
    )
    year = HOURS_PER_YEAR
    # cumulative hazard 3/year in year 1: E = 1.5 is reached after half a year
    assert model.next_catheter_fault_h(FixedExp(1.5), 0.0) == pytest.approx(0.5 * year)
    # E = 4: 3 in year 1, then 1 more at 1/year
    assert model.next_catheter_fault_h(FixedExp(4.0), 0.0) == pytest.approx(2.0 * year)
    # a catheter half a year old has 1.5 of early hazard left
    assert model.next_catheter_fault_h(FixedExp(2.5), 0.5 * year) == pytest.approx(1.5 * year)
    # after the first year: flat
    assert model.next_catheter_fault_h(FixedExp(1.0), 2 * year) == pytest.approx(year)


def test_catheter_fault_counts_follow_the_rate():
    model = resolve_faults(
        {"catheter": {"rate_per_year": 0.5, "first_year_factor": 1}},
        load_device_profile("synchromed-ii"),
    )
    rng = np.random.default_rng(2)
    waits = [model.next_catheter_fault_h(rng, 5 * HOURS_PER_YEAR) for _ in range(20000)]
    assert statistics.fmean(waits) / HOURS_PER_YEAR == pytest.approx(2.0, rel=0.03)


def test_profile_defaults_have_sources():
    profile = load_device_profile("synchromed-ii")
    for key, param in profile.fault_parameters.items():
        assert param.source or param.assumed, key
    reinforced = resolve_faults({}, profile)
    silicone = resolve_faults({"catheter": {"model": "silicone"}}, profile)
    assert silicone.catheter_rate_per_h > 3 * reinforced.catheter_rate_per_h
    # the long-run averages the sources quote: x3 in year 1, mean over 4 years
    mean4 = reinforced.catheter_rate_per_h * HOURS_PER_YEAR * (3 + 3) / 4
    assert mean4 == pytest.approx(0.02, rel=0.01)


def test_poisson_interval_matches_tables():
    assert poisson_interval(0) == pytest.approx((0.0, 3.6889), abs=1e-4)
    assert poisson_interval(1) == pytest.approx((0.0253, 5.5716), abs=1e-4)
    assert poisson_interval(10) == pytest.approx((4.7954, 18.3904), abs=1e-4)
    lo, hi = poisson_interval(1000)
    # Wilson-Hilferty gives 938.97 and 1063.95 at this size
    assert lo == pytest.approx(938.97, abs=0.02) and hi == pytest.approx(1063.95, abs=0.02)


def test_wilson_interval():
    assert wilson_interval(0, 0) is None
    lo, hi = wilson_interval(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)


def test_plain_progress_bar_shows_patients_rate_and_time_left():
    import io

    from pumpsim.studies.sweep.progress import Progress

    out = io.StringIO()
    bar = Progress(100, 20, enabled=True, stream=out, use_tqdm=False)
    bar.update(30)
    bar.close()
    text = out.getvalue()
    assert "50/100 patients" in text and "/s" in text and "left" in text
    quiet = io.StringIO()
    Progress(100, enabled=False, stream=quiet).update(10)
    assert quiet.getvalue() == ""
