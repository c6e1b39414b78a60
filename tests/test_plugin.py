"""The pytest plugin collects scenario files and reports expected against actual."""

import textwrap

pytest_plugins = ["pytester"]

GOOD = textwrap.dedent("""
    name: p
    duration: 100d
    drug: {concentration_mcg_per_ml: 2000}
    therapy: {dose_mcg_per_day: 400}
    expect:
      - {alarm: low_reservoir, first_at: 90d}
""")


def test_collects_and_passes(pytester):
    pytester.makefile(".yaml", good=GOOD, other="just: data\n")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)


def test_failure_shows_expected_and_actual(pytester):
    pytester.makefile(".yaml", bad=GOOD.replace("90d", "80d"))
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*expected: first at 2026-03-22 00:00 (80d)*",
            "*actual:   first at 2026-04-01 00:00 (90d)*",
        ]
    )


def test_invalid_scenario_fails_with_one_line(pytester):
    pytester.makefile(".yaml", broken=GOOD.replace("100d", "100"))
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*invalid scenario:*broken.yaml:?: duration: bare number*"])


def test_one_item_per_expectation_each_with_its_own_verdict(pytester):
    two = GOOD + "  - {alarm: empty_reservoir, first_at: 80d}\n"
    pytester.makefile(".yaml", two=two)
    result = pytester.runpytest_subprocess("-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*two.yaml::two.yaml:6 alarm low_reservoir PASSED*",
            "*two.yaml::two.yaml:7 alarm empty_reservoir FAILED*",
        ]
    )


LOG_SCENARIO = textwrap.dedent("""
    name: p
    duration: 200d
    drug: {concentration_mcg_per_ml: 2000}
    therapy: {dose_mcg_per_day: 400}
    clinic_log: patient-017.csv
""")
LOG = (
    "date,event,residual_expected_ml,residual_withdrawn_ml,volume_injected_ml\n"
    "2026-03-01,note,,,\n"
    "2026-03-02,refill,8.0,8.0,20\n"
    "2026-04-01,refill,14.0,12.5,20\n"
)


def test_a_clinic_log_scenario_without_expect_is_collected_item_per_csv_row(pytester):
    pytester.makefile(".yaml", replay=LOG_SCENARIO)
    pytester.makefile(".csv", **{"patient-017": LOG})
    result = pytester.runpytest_subprocess("-v", "--junitxml=out.xml")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*replay.yaml::patient-017.csv:3 residual_expected_ml PASSED*",
            "*replay.yaml::patient-017.csv:3 residual_withdrawn_ml PASSED*",
            "*replay.yaml::patient-017.csv:4 residual_expected_ml PASSED*",
            "*replay.yaml::patient-017.csv:4 residual_withdrawn_ml FAILED*",
        ]
    )
    junit = (pytester.path / "out.xml").read_text(encoding="utf-8")
    assert 'name="patient-017.csv:4 residual_withdrawn_ml"' in junit
    assert "]" not in junit.split("<testcase", 1)[1].split(">", 1)[0]


def test_a_scenario_without_expect_or_clinic_log_is_not_collected(pytester):
    pytester.makefile(".yaml", plain=LOG_SCENARIO.replace("clinic_log: patient-017.csv\n", ""))
    result = pytester.runpytest_subprocess()
    assert result.ret == 5  # no tests collected
