"""Intervals with the patient as the unit: the bootstrap's weights and sums, its coverage on
over-dispersed fleets, paired comparisons, and analytic checks on a one-stream fleet."""

from __future__ import annotations

import json
import math
import textwrap

import numpy as np
import pytest
from conftest import ROOT

import pumpsim
from pumpsim.studies.sweep import bootstrap
from pumpsim.studies.sweep.bootstrap import (
    BOOTSTRAP_KEY,
    CHUNK,
    RESAMPLES,
    Accumulator,
    Weights,
    weights_of_chunk,
)
from pumpsim.studies.sweep.intervals import poisson_interval, wilson_interval
from pumpsim.studies.sweep.spec import MAX_PATIENTS
from pumpsim.studies.sweep.sums import Sums, _quantiles

BASE = ROOT / "scenarios" / "steady-state-year.yaml"


def test_bootstrap_streams_never_meet_a_patient_and_weights_are_poisson_one():
    assert RESAMPLES >= 2000
    assert BOOTSTRAP_KEY > MAX_PATIENTS  # patient i uses spawn key (i, ...): i < 10^7
    w = weights_of_chunk(7, 0)
    assert w.shape == (CHUNK, RESAMPLES) and w.dtype == np.uint8
    shares = np.bincount(w.ravel(), minlength=6)[:6] / w.size
    expected = [math.exp(-1) / math.factorial(k) for k in range(6)]
    assert shares == pytest.approx(expected, abs=0.002)
    # patient by patient in the stream: a shorter block is the same first patients
    assert (weights_of_chunk(7, 0, 10) == w[:10]).all()
    assert not (weights_of_chunk(8, 0, 10) == w[:10]).all()  # another seed, other weights
    assert not (weights_of_chunk(7, 1, 10) == w[:10]).all()  # another block, other weights


def test_the_table_lookup_is_the_exact_inverse_of_the_distribution_function():
    seq = np.random.SeedSequence(3, spawn_key=(BOOTSTRAP_KEY, 2))
    raw = np.random.PCG64(seq).random_raw(RESAMPLES * 50)
    exact = np.searchsorted(bootstrap._poisson_thresholds(), raw, side="right")
    assert (weights_of_chunk(3, 2, 50).ravel() == exact).all()


def test_resampled_sums_are_exact_whole_numbers_in_any_block_order():
    rng = np.random.default_rng(1)
    patients = 2 * CHUNK + 37
    x = rng.poisson(0.4, size=(patients, 5))
    x[:, 0] = 1
    x[5, 3] = 5000  # a block with large counts goes in float64
    weights = Weights(11, patients)
    acc = Accumulator(weights, 5)
    for i in range(patients):
        acc.add(i, x[i].tolist())
    acc.finish()
    w = np.concatenate([weights_of_chunk(11, c) for c in range(3)])[:patients].astype(np.int64)
    assert (acc.resampled == w.T @ x).all()
    assert (acc.totals == x.sum(axis=0)).all()


def test_quantiles_match_numpy_with_missing_values():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(2000, 6))
    v[rng.random((2000, 6)) < 0.3] = np.nan
    v[:, 2] = np.nan
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        expected = np.nanquantile(v, [0.025, 0.975], axis=0)
    assert np.allclose(_quantiles(v), expected, equal_nan=True)


def _fleet_sums(seed: int, patients: int, years: float, mean: float, shape: float) -> Sums:
    """A synthetic over-dispersed fleet: patient rates ~ Gamma(shape, mean/shape) per year,
    flags ~ Poisson(rate x years); the true rate is ``mean``."""
    rng = np.random.default_rng(seed)
    rates = rng.gamma(shape, mean / shape, size=patients)
    flags = rng.poisson(rates * years)
    acc = Accumulator(Weights(seed, patients), 2)
    for i, f in enumerate(flags):
        acc.add(i, [1, int(f)])
    return Sums(acc.finish(), {"patients": 0, "flags": 1}, years)


def test_coverage_on_an_over_dispersed_fleet_where_poisson_intervals_fail():
    """Per-patient variance/mean about 4: the bootstrap interval holds the true rate in at
    least 34 of 40 fleets; the exact Poisson interval of the total (round 2) does not."""
    truth = 50.0  # per 100 patient-years
    held = poisson_held = 0
    for seed in range(1, 41):
        sums = _fleet_sums(seed, 300, 2.0, truth / 100, 0.3)
        _, (low, high) = sums.rate("flags")
        held += low <= truth <= high
        lo, hi = poisson_interval(sums.total("flags"))
        poisson_held += lo * 100 / 600 <= truth <= hi * 100 / 600
    assert held >= 34, held
    assert poisson_held < 34, poisson_held


def test_without_clustering_the_bootstrap_is_about_as_wide_as_poisson():
    sums = _fleet_sums(5, 2000, 1.0, 0.3, 1e6)  # every patient the same rate: Poisson flags
    _, (low, high) = sums.rate("flags")
    lo, hi = poisson_interval(sums.total("flags"))
    assert (high - low) == pytest.approx((hi - lo) * 100 / 2000, rel=0.15)


def test_few_flags_keep_the_exact_interval_as_a_floor():
    acc = Accumulator(Weights(1, 50), 2)
    for i in range(50):
        acc.add(i, [1, 1 if i == 7 else 0])
    sums = Sums(acc.finish(), {"patients": 0, "flags": 1}, 1.0)
    rate, (low, high) = sums.rate("flags")
    lo, hi = poisson_interval(1)
    assert rate == 2.0 and low <= lo * 2 and high >= hi * 2  # never narrower than Garwood
    share = wilson_interval(1, 50)
    value, (a, b) = sums.per_100_patients("flags")
    assert value == 2.0 and a <= share[0] * 100 and b >= share[1] * 100


COVERAGE_FLEET = """
name: coverage-small
base: {base}
patients: 2400
seed: {seed}
duration: 2y
vary:
  therapy.dose_mcg_per_day: {{lognormal: {{median: 400, sigma: 0.5}}, within: [100, 2000]}}
clinic:
  refill_every: {{normal: {{mean: 57d, sd: 10d}}}}
  late_by: {{exponential: {{mean: 3d}}}}
  missed_probability: 0.1
  alarm_visit_after: {{exponential: {{mean: 3d}}}}
faults: none
"""


def test_coverage_on_a_simulated_fleet_that_runs_dry_after_missed_visits(tmp_path):
    """The small version of benchmarks/bench_coverage.py (which runs 40 whole sweeps): one
    sweep's 2,400 patients cut into 40 fleets of 60, each fleet's interval from its own
    resamples, against the rate of 2,400 other patients. High-dose patients run dry again and
    again, so flags cluster."""
    path = tmp_path / "fleet.yaml"
    path.write_text(COVERAGE_FLEET.format(base=BASE, seed=999), encoding="utf-8")
    truth = pumpsim.sweep(str(path), workers=2, parquet=False).summary["grid_points"][0]
    truth_rate = truth["abrupt_discontinuation"]["per_100_patient_years"]
    path.write_text(COVERAGE_FLEET.format(base=BASE, seed=1), encoding="utf-8")
    rows = pumpsim.sweep(str(path), workers=2, parquet=False).patients
    counts = [r["n_flag_abrupt_discontinuation"] for r in rows]
    assert np.var(counts, ddof=1) / np.mean(counts) > 3  # over-dispersed
    held = 0
    for fleet in range(40):
        acc = Accumulator(Weights(fleet, 60), 2)
        for i, count in enumerate(counts[60 * fleet : 60 * (fleet + 1)]):
            acc.add(i, [1, count])
        sums = Sums(acc.finish(), {"patients": 0, "flags": 1}, 2 * 365.25 / 365.25)
        _, (low, high) = sums.rate("flags")
        held += low <= truth_rate <= high
    assert held >= 34, held


ONE_STREAM = """
name: one-stream
scenario:
  name: quiet
  duration: 2y
  pump: {{reservoir_ml: 40, accuracy: 0.0}}
  drug: {{concentration_mcg_per_ml: 2000}}
  therapy: {{dose_mcg_per_day: 100}}
patients: {patients}
seed: 4
faults:
  catheter: {{rate_per_year: 0.5, first_year_factor: 1, kinds: {{occlusion: 1}},
             repair_after: {{fixed: 1d}}}}
  motor_stall: {{rate_per_year: 0}}
  pump_fault: {{rate_per_year: 0}}
  pocket_fill: {{per_refill: 0}}
"""


def test_a_fleet_where_only_one_fault_stream_acts_matches_the_poisson_process(tmp_path):
    """Catheter occlusions at 0.5 per patient-year over 2 years, nothing else: the flag rate,
    the share of patients flagged by 1 and by 2 years and the per-patient counts are those of
    a Poisson process (40 mL at 0.05 mL/day never runs dry; repairs take a day)."""
    path = tmp_path / "one.yaml"
    path.write_text(textwrap.dedent(ONE_STREAM.format(patients=400)), encoding="utf-8")
    result = pumpsim.sweep(str(path), workers=2, parquet=False)
    point = result.summary["grid_points"][0]
    ad = point["abrupt_discontinuation"]
    rate, years = 0.5, 2.0
    assert point["alarms_per_100_patient_years"]["low_reservoir"] == 0
    assert set(ad["cause_by_first_alarm"]) == {"catheter"}
    low, high = ad["per_100_patient_years_95ci"]
    assert low <= 100 * rate <= high
    low, high = point["faults_per_100_patient_years_95ci"]["catheter_faults"]
    assert low <= 100 * rate <= high
    low, high = ad["patients_with_a_flag_per_100_95ci"]
    assert low <= 100 * (1 - math.exp(-rate * years)) <= high
    # first-fault times: exponential, so the share flagged by 1 year is 1 - e^-0.5
    first = result.first_flag_h[0]
    by_one_year = sum(1 for t in first if t <= 8766.0)
    lo, hi = wilson_interval(by_one_year, 400)
    assert lo <= 1 - math.exp(-rate) <= hi
    # per-patient counts: Poisson(1) (Pearson chi-square, 3 degrees of freedom, p > 0.001)
    counts = np.bincount([r["n_flag_abrupt_discontinuation"] for r in result.patients])
    observed = [*counts[:3], counts[3:].sum()]
    mean = rate * years
    p = [math.exp(-mean) * mean**k / math.factorial(k) for k in range(3)]
    expected = [400 * q for q in (*p, 1 - sum(p))]
    chi2 = sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True))
    assert chi2 < 16.27, (observed, expected)


PAIRED = """
name: paired
base: {base}
patients: 200
seed: 8
duration: 2y
vary:
  therapy.dose_mcg_per_day: {{lognormal: {{median: 400, sigma: 0.5}}, within: [100, 2000]}}
grid:
  clinic.missed_probability: {grid}
clinic:
  refill_every: {{normal: {{mean: 57d, sd: 10d}}}}
  alarm_visit_after: {{exponential: {{mean: 3d}}}}
faults: none
"""


def test_paired_differences_use_the_same_patients(tmp_path):
    path = tmp_path / "paired.yaml"
    path.write_text(PAIRED.format(base=BASE, grid="[0.05, 0.05]"), encoding="utf-8")
    same = pumpsim.sweep(str(path), workers=1, parquet=False).summary["grid_points"][1]
    versus = same["abrupt_discontinuation"]["versus_grid_point_0"]["per_100_patient_years"]
    # identical grid points: the same flags, so the paired difference is exactly nothing
    assert versus["difference"] == 0 and versus["difference_95ci"] == [0, 0]
    assert versus["ratio"] == 1 and versus["ratio_95ci"] == [1, 1]

    path.write_text(PAIRED.format(base=BASE, grid="[0.03, 0.10]"), encoding="utf-8")
    doc = pumpsim.sweep(str(path), workers=1, parquet=False).summary
    a, b = (p["abrupt_discontinuation"] for p in doc["grid_points"])
    versus = b["versus_grid_point_0"]["per_100_patient_years"]
    assert versus["difference"] == pytest.approx(
        b["per_100_patient_years"] - a["per_100_patient_years"], rel=1e-5
    )
    assert versus["ratio"] == pytest.approx(
        b["per_100_patient_years"] / a["per_100_patient_years"], rel=1e-5
    )
    low, high = versus["difference_95ci"]
    assert low <= versus["difference"] <= high
    # common random numbers: tighter than two independent intervals would allow
    wa = a["per_100_patient_years_95ci"][1] - a["per_100_patient_years_95ci"][0]
    wb = b["per_100_patient_years_95ci"][1] - b["per_100_patient_years_95ci"][0]
    assert high - low < 0.8 * math.hypot(wa, wb)
    assert "versus_grid_point_0" not in a


def _floats(value):
    if isinstance(value, float):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _floats(v)
    elif isinstance(value, list):
        for v in value:
            yield from _floats(v)


def test_summary_names_its_method_and_rounds_to_six_significant_digits(tmp_path):
    path = tmp_path / "paired.yaml"
    path.write_text(PAIRED.format(base=BASE, grid="[0.03, 0.10]"), encoding="utf-8")
    out = tmp_path / "out"
    pumpsim.sweep(str(path), str(out), workers=1, parquet=False)
    doc = json.loads((out / "summary.json").read_text())
    assert "bootstrap over patients" in doc["interval_method"]
    assert "2000 resamples" in doc["interval_method"]
    for point in doc["grid_points"]:
        for value in _floats({k: v for k, v in point.items() if k != "values"}):
            assert value == float(f"{value:.6g}"), value
    ad = doc["grid_points"][0]["abrupt_discontinuation"]
    years = doc["grid_points"][0]["patient_years"]
    assert ad["silent_per_100_patient_years"] == pytest.approx(100 * ad["silent"] / years, 1e-5)
    for name in ("per_100_patient_years", "silent_per_100_patient_years"):
        low, high = ad[f"{name}_95ci"]
        assert low <= ad[name] <= high
    point = doc["grid_points"][0]
    assert set(point["visits_per_100_patient_years"]) == {
        "refills",
        "missed_refills",
        "alarm_visits",
        "pump_replacements",
    }
    assert not set(point["visits_per_100_patient_years"]) & set(
        point["alarms_per_100_patient_years"]
    )
    assert set(point["alarms_per_100_patient_years_95ci"]) == set(
        point["alarms_per_100_patient_years"]
    )
